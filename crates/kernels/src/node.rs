//! The neural ODE's training path: the same adaptive solve as the tensor
//! path (the ode crate's solver, on an ndarray batch state), the MLP vector
//! field of [`crate::mlp`], and backpropagation through the accepted
//! Runge–Kutta steps by the ode crate's adjoint
//! ([`latentdyn_ode::Recording::backward`]). Step sizes carry no gradient,
//! exactly as in the tensor path, whose error norms are computed on detached
//! values.
//!
//! Supported: adaptive methods stepping onto each output (the study's
//! setting) and fixed-step methods; [`NodeSolve::new`] refuses the rest
//! (outputs interpolated inside a step).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use latentdyn_ode::{
    solve_adaptive_recorded, solve_fixed_recorded, AdaptiveOptions, OutputMode, Recording, State,
    Tableau,
};
use ndarray::{Array2, ArrayD, ArrayView2, ArrayView3, ArrayViewMut3, Axis, Ix2, Ix3};

use crate::mlp::MlpParams;
use crate::{pool, Grads, Kernel, KernelError, Threads};

const NAME: &str = "neural-ODE";

/// A batch of states `[B, L]` as an ode-crate state. Norms reduce over all
/// elements in f64, as the tensor state's do, so a batch shares one step size.
#[derive(Debug, Clone)]
pub(crate) struct Batch(pub(crate) Array2<f32>);

impl State for Batch {
    fn clone_state(&self) -> Self {
        self.clone()
    }
    fn axpy(&mut self, a: f64, x: &Self) {
        self.0.scaled_add(a as f32, &x.0);
    }
    fn scale(&mut self, a: f64) {
        let a = a as f32;
        self.0.mapv_inplace(|v| v * a);
    }
    fn zeros_like(&self) -> Self {
        Batch(Array2::zeros(self.0.raw_dim()))
    }
    fn is_zero(&self) -> bool {
        self.0.iter().all(|&v| v == 0.0)
    }
    fn all_finite(&self) -> bool {
        self.0.iter().all(|v| v.is_finite())
    }
    fn rms_norm(&self) -> f64 {
        let n = self.0.len();
        if n == 0 {
            return 0.0;
        }
        (self.0.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / n as f64).sqrt()
    }
    fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64 {
        let n = err.0.len();
        if n == 0 {
            return 0.0;
        }
        let mut acc = 0.0f64;
        for ((&e, &a), &b) in err.0.iter().zip(y0.0.iter()).zip(y1.0.iter()) {
            let sk = f64::from(a).abs().max(f64::from(b).abs()) * rtol + atol;
            let r = f64::from(e) / sk;
            acc += r * r;
        }
        (acc / n as f64).sqrt()
    }
    fn copy_from(&mut self, other: &Self) {
        if self.0.raw_dim() == other.0.raw_dim() {
            self.0.assign(&other.0);
        } else {
            *self = other.clone();
        }
    }
    fn check_compatible(&self, other: &Self) -> Result<(), String> {
        if self.0.raw_dim() == other.0.raw_dim() {
            Ok(())
        } else {
            Err(format!(
                "state has shape {:?}, right-hand side returned {:?}",
                self.0.shape(),
                other.0.shape()
            ))
        }
    }
}

/// How the neural ODE integrates its vector field.
#[derive(Debug, Clone)]
pub enum Integration {
    /// Adaptive steps, each landing on the next output (`opts.output` must
    /// be [`OutputMode::StepToOutputs`]).
    Adaptive(AdaptiveOptions),
    /// `substeps` equal steps per output interval.
    Fixed {
        /// Steps per output interval (≥ 1).
        substeps: usize,
    },
}

/// The neural ODE's unroll: dz/dt = MLP(z) solved from z₀ `[B, L]` with
/// outputs at `t_eval`, `[B, T, L]` out (the first output is z₀ itself).
/// Parameters: `[W1 [H, L], b1 [H], W2 [L, H], b2 [L]]`. Gradients reach z₀.
#[derive(Debug)]
pub struct NodeSolve {
    field: MlpParams,
    t_eval: Vec<f64>,
    tableau: Tableau,
    integration: Integration,
    evaluations: Option<Arc<AtomicUsize>>,
}

impl NodeSolve {
    /// The kernel for `params`, or an error when the integration cannot be
    /// backpropagated step by step (interpolated outputs, a method without
    /// an error estimate used adaptively). Every evaluation of the vector
    /// field adds one to `evaluations`, when given.
    pub fn new(
        params: &[ArrayD<f32>],
        t_eval: Vec<f64>,
        tableau: Tableau,
        integration: Integration,
        evaluations: Option<Arc<AtomicUsize>>,
    ) -> Result<Self, KernelError> {
        if let Integration::Adaptive(opts) = &integration {
            if opts.output != OutputMode::StepToOutputs || !tableau.is_adaptive() {
                return Err(KernelError::Parameters {
                    kernel: NAME,
                    reason: format!(
                        "an adaptive {} solve with {:?} outputs cannot be backpropagated \
                         step by step (needs an embedded method stepping to the outputs)",
                        tableau.name(),
                        opts.output
                    ),
                });
            }
        }
        if t_eval.is_empty() {
            return Err(KernelError::Parameters {
                kernel: NAME,
                reason: "no output times".into(),
            });
        }
        Ok(NodeSolve {
            field: MlpParams::from_params(NAME, params)?,
            t_eval,
            tableau,
            integration,
            evaluations,
        })
    }
}

/// One right-hand-side evaluation as the solver made it.
#[derive(Debug)]
pub struct Eval {
    input: Array2<f32>,
    act: Array2<f32>,
}

impl Drop for Eval {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.act));
    }
}

impl Kernel for NodeSolve {
    type In = Ix2;
    type Out = Ix3;
    type Saved = Recording<Eval>;

    fn name(&self) -> &'static str {
        NAME
    }

    fn output_dim(&self, input: &Ix2) -> Result<Ix3, KernelError> {
        crate::trajectory_dim(NAME, input, self.field.inputs(), self.t_eval.len())
    }

    fn forward(
        &self,
        x: ArrayView2<'_, f32>,
        mut out: ArrayViewMut3<'_, f32>,
        threads: Threads,
    ) -> Result<Recording<Eval>, KernelError> {
        let y0 = Batch(x.to_owned());
        let f = |_t: f64, y: &Batch| {
            if let Some(n) = &self.evaluations {
                n.fetch_add(1, Ordering::Relaxed);
            }
            let (dy, act) = self.field.forward(y.0.view(), threads);
            (
                Batch(dy),
                Eval {
                    input: y.0.clone(),
                    act,
                },
            )
        };
        let solved = match &self.integration {
            Integration::Adaptive(opts) => {
                solve_adaptive_recorded(&f, &y0, &self.t_eval, &self.tableau, opts)
            }
            Integration::Fixed { substeps } => {
                solve_fixed_recorded(&f, &y0, &self.t_eval, &self.tableau, *substeps)
            }
        };
        let (solution, recording) = solved.map_err(|source| KernelError::Ode {
            kernel: NAME,
            source,
        })?;
        for (k, y) in solution.y.iter().enumerate() {
            out.index_axis_mut(Axis(1), k).assign(&y.0);
        }
        Ok(recording)
    }

    fn backward(
        &self,
        saved: &Recording<Eval>,
        d_out: ArrayView3<'_, f32>,
        threads: Threads,
    ) -> Result<Grads<Ix2>, KernelError> {
        let (b, _, l) = d_out.dim();
        let mut grads = self.field.zeros_like();
        let dz0 = saved.backward(
            Batch(Array2::zeros((b, l))),
            |k, ybar| ybar.0 += &d_out.index_axis(Axis(1), k),
            |e: &Eval, v: &Batch| {
                Batch(
                    self.field
                        .vjp(e.input.view(), &e.act, v.0.view(), &mut grads, threads),
                )
            },
        );
        let (w1, b1, w2, b2) = grads.into_grads();
        Ok(Grads {
            params: vec![w1.into_dyn(), b1.into_dyn(), w2.into_dyn(), b2.into_dyn()],
            input: Some(dz0.0),
        })
    }
}
