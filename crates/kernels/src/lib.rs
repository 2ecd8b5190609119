//! latentdyn's hand-written CPU training kernels, on plain `ndarray`
//! arrays and without libtorch.
//!
//! A training step of the study's models spends its time in a GRU run over
//! 70 bins (the encoder; the GRU dynamics) or in an MLP evaluated at every
//! stage of an adaptive solve (the neural ODE; the discrete cell). libtorch
//! runs each as dozens of small operators per step and records every one
//! for autograd. A kernel here instead runs the whole layer in f32 with
//! fused loops and dense matrix products, keeps exactly what its backward
//! pass needs, and computes that backward pass itself.
//!
//! Every kernel is a [`Kernel`]: a forward pass that writes the output and
//! returns a saved state, and a backward pass from the saved state and the
//! output's gradient to the parameters' and the input's gradients. The
//! tape adapter in `latentdyn-models` turns any kernel into a piece of the
//! autograd graph; [`run`] splits a batch across two threads for the
//! kernels whose trials are independent.
//!
//! Files, one job each:
//! - the layer kernels: [`BiGruFinal`] (the encoder), [`GruUnroll`] (the GRU
//!   dynamics), [`MlpUnroll`] (the discrete cell), [`NodeSolve`] (the neural
//!   ODE: its adjoint is `latentdyn_ode::Recording::backward`);
//! - their building blocks: [`gru`] (one GRU direction, forward and
//!   backward), [`mlp`] (the two-layer tanh MLP and its vector–Jacobian
//!   product);
//! - shared machinery: `activation` (branch-free exp, sigmoid, tanh, and
//!   `MulAdd`, how a copy computes a·b + c), `simd` (the AVX2 dispatch,
//!   fused multiply-adds in its AVX2 copies, the crate's only `unsafe`), `pool`
//!   (recycled buffers), [`split`] (the thread split).
//!
//! Invariant: every kernel computes the same function and gradients as the
//! libtorch layers it replaces, to f32 rounding (tested against libtorch's
//! autograd in `latentdyn-models`' `tests/kernels.rs`, and against finite
//! differences here).

mod activation;
mod bigru;
mod error;
pub mod gru;
mod gru_unroll;
pub mod mlp;
mod mlp_unroll;
mod node;
mod pool;
mod run;
mod simd;
pub mod split;

pub use bigru::BiGruFinal;
pub use error::KernelError;
pub use gru_unroll::GruUnroll;
pub use mlp_unroll::MlpUnroll;
pub use node::{Integration, NodeSolve};
pub use run::{run, Run};
pub use split::Threads;

use ndarray::{Array, ArrayD, ArrayView, ArrayViewMut, Dimension, Ix2, Ix3, RemoveAxis};

/// A layer's training computation written by hand: forward and backward on
/// plain f32 arrays, batch first.
///
/// A kernel holds its parameters (as arrays, in the order the caller lists
/// the parameter tensors) and its configuration. The forward pass writes
/// every element of `out` (whose contents on entry are unspecified) and
/// returns what the backward pass needs; the backward pass may run once per
/// forward pass, after it.
pub trait Kernel: Send + Sync {
    /// The input's dimensionality (`Ix2` for an initial state `[B, L]`).
    type In: Dimension + RemoveAxis;
    /// The output's dimensionality (`Ix3` for a trajectory `[B, T, L]`).
    type Out: Dimension;
    /// What the forward pass keeps for the backward pass.
    type Saved: Send + Sync;

    /// A short name, for errors and debug output.
    fn name(&self) -> &'static str;

    /// The output's shape for an input of shape `input`, or an error naming
    /// what is wrong with the input's shape.
    fn output_dim(&self, input: &Self::In) -> Result<Self::Out, KernelError>;

    /// The fewest batch rows worth splitting across two threads, for
    /// kernels whose trials are independent; `None` (the default) for
    /// kernels that must see the whole batch (the neural ODE, whose trials
    /// share one step size) or that split their work another way.
    fn split_rows(&self) -> Option<usize> {
        None
    }

    /// Runs the layer on `x`, writing `out`; `threads` says whether the
    /// kernel may use a second thread inside.
    fn forward(
        &self,
        x: ArrayView<'_, f32, Self::In>,
        out: ArrayViewMut<'_, f32, Self::Out>,
        threads: Threads,
    ) -> Result<Self::Saved, KernelError>;

    /// Given ∂loss/∂out, the gradients of the loss with respect to the
    /// parameters (in the kernel's parameter order, each shaped as the
    /// parameter) and, for kernels that propagate into their input, to `x`.
    fn backward(
        &self,
        saved: &Self::Saved,
        d_out: ArrayView<'_, f32, Self::Out>,
        threads: Threads,
    ) -> Result<Grads<Self::In>, KernelError>;
}

/// A kernel's backward-pass result.
#[derive(Debug, Clone)]
pub struct Grads<D: Dimension> {
    /// ∂loss/∂θ per parameter, in the kernel's parameter order.
    pub params: Vec<ArrayD<f32>>,
    /// ∂loss/∂x, or `None` for a kernel whose input needs no gradient (the
    /// encoder's spike counts).
    pub input: Option<Array<f32, D>>,
}

/// Parameter `i` of `params` as an array of dimensionality `D`, or an
/// error naming the kernel, the parameter and the shape found.
pub(crate) fn param<D: Dimension>(
    kernel: &'static str,
    params: &[ArrayD<f32>],
    i: usize,
    what: &'static str,
) -> Result<Array<f32, D>, KernelError> {
    let p = params.get(i).ok_or_else(|| KernelError::Parameters {
        kernel,
        reason: format!("parameter {i} ({what}) is missing: {} given", params.len()),
    })?;
    p.clone()
        .into_dimensionality::<D>()
        .map(|a| a.as_standard_layout().into_owned())
        .map_err(|_| KernelError::Parameters {
            kernel,
            reason: format!("{what} has shape {:?}", p.shape()),
        })
}

/// The output shape `[B, steps, latent]` of a kernel that unrolls a state
/// `[B, latent]` (the dynamics' kernels), or the error naming the input.
pub(crate) fn trajectory_dim(
    kernel: &'static str,
    input: &Ix2,
    latent: usize,
    steps: usize,
) -> Result<Ix3, KernelError> {
    let (b, l) = (input[0], input[1]);
    if l != latent {
        return Err(KernelError::Shape {
            kernel,
            what: "initial state",
            expected: format!("[batch, {latent}]"),
            found: vec![b, l],
        });
    }
    Ok(Ix3(b, steps, l))
}
