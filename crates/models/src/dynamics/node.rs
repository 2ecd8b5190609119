//! The study's `node` dynamics: an MLP vector field integrated by the
//! `latentdyn-ode` solvers, on the `Tensor` backend (gradients by
//! backpropagation through every solver operation) or, in training on the
//! CPU, by the [`NodeSolve`] kernel (the same solve, backpropagated through
//! its accepted steps by the ode crate's adjoint).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use latentdyn_kernels::{Integration, NodeSolve};
use latentdyn_ode::{solve_adaptive, solve_fixed, AdaptiveOptions, Solution};
use tch::{nn, Tensor};

use super::{check_steps, Dynamics};
use crate::config::{NodeConfig, NodeSolver};
use crate::layers::Mlp;
use crate::tape::{kernel_applies, Taped};
use crate::{check_shape, ModelError};

/// Budget of attempted steps per adaptive solve. The study's solves take 69;
/// a vector field that needs more than this is treated as a failure
/// ([`latentdyn_ode::OdeError::MaxStepsExceeded`]) rather than left to run.
pub const MAX_SOLVER_STEPS: usize = 100_000;

/// dz/dt = f(z), f = MLP L → hidden → L with tanh (autonomous), counting its
/// evaluations.
#[derive(Debug)]
pub struct VectorField {
    /// The MLP (parameters under `vector_field/0` and `vector_field/2`).
    pub mlp: Mlp,
    /// Shared with the kernel, which counts its own evaluations.
    nfe: Arc<AtomicUsize>,
}

impl VectorField {
    /// f(z) for `z` `[batch, L]`; counts one evaluation.
    pub fn forward(&self, z: &Tensor) -> Tensor {
        self.nfe.fetch_add(1, Ordering::Relaxed);
        self.mlp.forward(z)
    }

    /// Evaluations since the last reset.
    pub fn nfe(&self) -> usize {
        self.nfe.load(Ordering::Relaxed)
    }

    /// Zeroes the evaluation counter.
    pub fn reset_nfe(&self) {
        self.nfe.store(0, Ordering::Relaxed);
    }
}

/// The neural-ODE dynamics. One bin lasts `1 / (bins − 1)` (the study maps
/// 70 bins onto `linspace(0, 1, 70)`).
#[derive(Debug)]
pub struct NodeDynamics {
    /// The vector field.
    pub field: VectorField,
    solver: NodeSolver,
    bins: usize,
    latent: i64,
}

impl NodeDynamics {
    /// Registers the vector field's parameters under `vs / "vector_field"`.
    pub fn new(vs: &nn::Path, latent: i64, cfg: &NodeConfig) -> Result<Self, ModelError> {
        cfg.validate()?;
        let mlp = Mlp::new(&(vs / "vector_field"), latent, cfg.hidden as i64, latent)?;
        Ok(NodeDynamics {
            field: VectorField {
                mlp,
                nfe: Arc::new(AtomicUsize::new(0)),
            },
            solver: cfg.solver.clone(),
            bins: cfg.bins,
            latent,
        })
    }

    /// The time of output `i`: `i / (bins − 1)`.
    fn time(&self, i: usize) -> f64 {
        i as f64 / (self.bins - 1) as f64
    }

    /// Solves from `z0` with outputs at `t_eval` under the configured solver.
    pub fn solve(&self, z0: &Tensor, t_eval: &[f64]) -> Result<Solution<Tensor>, ModelError> {
        let f = |_t: f64, z: &Tensor| self.field.forward(z);
        Ok(match &self.solver {
            NodeSolver::Adaptive { method, .. } => {
                solve_adaptive(&f, z0, t_eval, &method.tableau(), &self.adaptive_options())?
            }
            NodeSolver::Fixed {
                method,
                steps_per_bin,
            } => solve_fixed(&f, z0, t_eval, &method.tableau(), *steps_per_bin)?,
        })
    }

    /// The adaptive solver's options (tolerances and output mode from the
    /// config, the step budget [`MAX_SOLVER_STEPS`]).
    fn adaptive_options(&self) -> AdaptiveOptions {
        match &self.solver {
            NodeSolver::Adaptive {
                rtol, atol, output, ..
            } => AdaptiveOptions {
                rtol: *rtol,
                atol: *atol,
                max_steps: MAX_SOLVER_STEPS,
                output: *output,
                ..AdaptiveOptions::default()
            },
            NodeSolver::Fixed { .. } => AdaptiveOptions::default(),
        }
    }
}

impl Dynamics for NodeDynamics {
    fn latent_size(&self) -> i64 {
        self.latent
    }

    /// Integrates over one bin, from t = 0 to t = 1/(bins − 1).
    fn step(&self, z: &Tensor) -> Result<Tensor, ModelError> {
        check_shape("neural-ODE state", z, &[None, Some(self.latent)])?;
        let mut sol = self.solve(z, &[0.0, self.time(1)])?;
        sol.y
            .pop()
            .ok_or_else(|| ModelError::config("steps", "the solver returned no output"))
    }

    fn vector_field(&self, z: &Tensor) -> Result<Option<Tensor>, ModelError> {
        check_shape("neural-ODE state", z, &[None, Some(self.latent)])?;
        Ok(Some(self.field.forward(z)))
    }

    /// One solve with outputs at `i / (bins − 1)`, i = 0..steps (for
    /// `steps = bins`, the study's `linspace(0, 1, 70)`); the first latent is `z0`.
    fn unroll(&self, z0: &Tensor, steps: usize) -> Result<Tensor, ModelError> {
        check_shape("initial condition", z0, &[None, Some(self.latent)])?;
        check_steps(steps)?;
        let t_eval: Vec<f64> = (0..steps).map(|i| self.time(i)).collect();
        let sol = self.solve(z0, &t_eval)?;
        Ok(Tensor::f_stack(&sol.y, 1)?)
    }

    /// By the [`NodeSolve`] kernel when the solve can be backpropagated
    /// step by step (fixed steps, or adaptive steps landing on the
    /// outputs), f32 on the CPU.
    fn unroll_taped(&self, z0: &Tensor, steps: usize) -> Result<Option<Taped>, ModelError> {
        check_shape("initial condition", z0, &[None, Some(self.latent)])?;
        check_steps(steps)?;
        let mlp = &self.field.mlp;
        let (method, integration) = match &self.solver {
            NodeSolver::Adaptive { method, output, .. } => {
                if *output != latentdyn_ode::OutputMode::StepToOutputs {
                    return Ok(None);
                }
                (method, Integration::Adaptive(self.adaptive_options()))
            }
            NodeSolver::Fixed {
                method,
                steps_per_bin,
            } => (
                method,
                Integration::Fixed {
                    substeps: *steps_per_bin,
                },
            ),
        };
        if !kernel_applies(&[z0, &mlp.l1.weight]) {
            return Ok(None);
        }
        let params = [&mlp.l1.weight, &mlp.l1.bias, &mlp.l2.weight, &mlp.l2.bias];
        let t_eval: Vec<f64> = (0..steps).map(|i| self.time(i)).collect();
        let nfe = Arc::clone(&self.field.nfe);
        Taped::run(z0, &params, |p| {
            NodeSolve::new(p, t_eval, method.tableau(), integration, Some(nfe))
        })
        .map(Some)
    }

    fn evaluations(&self) -> Option<usize> {
        Some(self.field.nfe())
    }

    fn reset_evaluations(&self) {
        self.field.reset_nfe();
    }
}
