//! The study's `node` dynamics: an MLP vector field integrated by the
//! `latentdyn-ode` solvers on the `Tensor` backend, gradients flowing by
//! backpropagation through every solver operation.

use std::cell::Cell;

use latentdyn_ode::{solve_adaptive, solve_fixed, AdaptiveOptions, OutputMode, Solution, Tableau};
use tch::{nn, Tensor};

use super::{check_steps, Dynamics};
use crate::config::{NodeConfig, NodeOutput, NodeSolver, SolverMethod};
use crate::layers::Mlp;
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
    nfe: Cell<usize>,
}

impl VectorField {
    /// f(z) for `z` `[batch, L]`; counts one evaluation.
    pub fn forward(&self, z: &Tensor) -> Tensor {
        self.nfe.set(self.nfe.get() + 1);
        self.mlp.forward(z)
    }

    /// Evaluations since the last reset.
    pub fn nfe(&self) -> usize {
        self.nfe.get()
    }

    /// Zeroes the evaluation counter.
    pub fn reset_nfe(&self) {
        self.nfe.set(0);
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
                nfe: Cell::new(0),
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
            NodeSolver::Adaptive {
                method,
                rtol,
                atol,
                output,
            } => {
                let opts = AdaptiveOptions {
                    rtol: *rtol,
                    atol: *atol,
                    max_steps: MAX_SOLVER_STEPS,
                    output: match output {
                        NodeOutput::StepToOutputs => OutputMode::StepToOutputs,
                        NodeOutput::Interpolate => OutputMode::Interpolate,
                    },
                    ..AdaptiveOptions::default()
                };
                solve_adaptive(&f, z0, t_eval, &tableau(*method), &opts)?
            }
            NodeSolver::Fixed {
                method,
                steps_per_bin,
            } => solve_fixed(&f, z0, t_eval, &tableau(*method), *steps_per_bin)?,
        })
    }
}

fn tableau(m: SolverMethod) -> Tableau {
    match m {
        SolverMethod::Euler => Tableau::euler(),
        SolverMethod::Midpoint => Tableau::midpoint(),
        SolverMethod::Rk4 => Tableau::rk4(),
        SolverMethod::Dopri5 => Tableau::dopri5(),
        SolverMethod::Tsit5 => Tableau::tsit5(),
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

    fn unroll_taped(
        &self,
        z0: &Tensor,
        steps: usize,
    ) -> Result<Option<crate::tape::Taped>, ModelError> {
        check_shape("initial condition", z0, &[None, Some(self.latent)])?;
        check_steps(steps)?;
        let mlp = &self.field.mlp;
        let cpu_f32 = |t: &Tensor| t.device() == tch::Device::Cpu && t.kind() == tch::Kind::Float;
        let NodeSolver::Adaptive {
            method,
            rtol,
            atol,
            output: NodeOutput::StepToOutputs,
        } = &self.solver
        else {
            return Ok(None);
        };
        if !cpu_f32(z0) || !cpu_f32(&mlp.l1.weight) {
            return Ok(None);
        }
        let opts = AdaptiveOptions {
            rtol: *rtol,
            atol: *atol,
            max_steps: MAX_SOLVER_STEPS,
            output: OutputMode::StepToOutputs,
            ..AdaptiveOptions::default()
        };
        let params = super::node_kernel::MlpParams::from_tensors(
            &mlp.l1.weight,
            &mlp.l1.bias,
            &mlp.l2.weight,
            &mlp.l2.bias,
        )?;
        let tensors =
            [&mlp.l1.weight, &mlp.l1.bias, &mlp.l2.weight, &mlp.l2.bias].map(Tensor::shallow_clone);
        let t_eval: Vec<f64> = (0..steps).map(|i| self.time(i)).collect();
        let count = || self.field.nfe.set(self.field.nfe.get() + 1);
        let taped = super::node_kernel::solve_taped(
            params,
            tensors,
            z0,
            &t_eval,
            &tableau(*method),
            &opts,
            &count,
        )?;
        Ok(taped.map(|(leaf, tape)| (leaf, Box::new(tape) as Box<dyn crate::tape::Tape>)))
    }

    fn evaluations(&self) -> Option<usize> {
        Some(self.field.nfe())
    }

    fn reset_evaluations(&self) {
        self.field.reset_nfe();
    }
}
