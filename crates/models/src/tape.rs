//! Hand-written backward passes that plug into libtorch's autograd.
//!
//! A layer that runs outside autograd (the GRU kernels of
//! [`crate::fused_gru`]) returns its output as a fresh leaf tensor that
//! requires grad, plus a [`Tape`]. After `loss.backward()` has filled the
//! leaf's `.grad`, [`Tape::backward`] computes the layer's gradients and hands
//! them back to autograd through the surrogate Σ⟨p, g⟩ (whose gradient in p
//! is exactly g), over the layer's parameters and over its input tensor, so
//! gradients keep flowing to whatever produced that input. Tapes run in
//! reverse order of their forward passes ([`crate::SaeOutput::backward`]).

use std::fmt;

use ndarray::{Array2, Array3, ArrayView2, Axis};
use tch::{Kind, Tensor};

use crate::ModelError;

/// The rest of a backward pass that ran outside autograd.
pub trait Tape: fmt::Debug {
    /// Reads the output leaf's gradient and accumulates the gradients of
    /// the layer's parameters and input (adds nothing when the loss did not
    /// depend on the output).
    fn backward(&self) -> Result<(), ModelError>;
}

/// What a hand-written training path returns: its output as a fresh
/// autograd leaf, and the tape that finishes its backward pass.
pub type Taped = (Tensor, Box<dyn Tape>);

/// A 2-D f32 tensor (any layout) as an ndarray.
pub(crate) fn to_array2(t: &Tensor) -> Result<Array2<f32>, ModelError> {
    let size = t.size();
    if size.len() != 2 {
        return Err(ModelError::Shape {
            what: "tensor to copy",
            expected: "2-D".into(),
            found: size,
        });
    }
    let data = Vec::<f32>::try_from(
        &t.f_detach()?
            .f_to_kind(Kind::Float)?
            .f_contiguous()?
            .f_flatten(0, -1)?,
    )?;
    Array2::from_shape_vec((size[0] as usize, size[1] as usize), data).map_err(|e| {
        ModelError::Shape {
            what: "tensor to copy",
            expected: e.to_string(),
            found: size,
        }
    })
}

/// A 1-D f32 tensor as a vector.
pub(crate) fn to_vec(t: &Tensor) -> Result<Vec<f32>, ModelError> {
    Ok(Vec::<f32>::try_from(
        &t.f_detach()?
            .f_to_kind(Kind::Float)?
            .f_contiguous()?
            .f_flatten(0, -1)?,
    )?)
}

/// An f32 tensor of `shape` holding `data` (row-major).
pub(crate) fn tensor(data: &[f32], shape: &[i64]) -> Result<Tensor, ModelError> {
    Ok(Tensor::f_from_slice(data)?.f_reshape(shape)?)
}

/// `[T·B, H]` time-major as `[B, T, H]`.
pub(crate) fn batch_major(tm: ArrayView2<'_, f32>, steps: usize) -> Array3<f32> {
    let (rows, h) = tm.dim();
    let b = rows / steps.max(1);
    let mut out = Array3::<f32>::zeros((b, steps, h));
    for st in 0..steps {
        out.index_axis_mut(Axis(1), st)
            .assign(&tm.slice(ndarray::s![st * b..(st + 1) * b, ..]));
    }
    out
}

/// Accumulates `g` into each tensor `p`'s gradient — and through `p` into
/// whatever `p` was computed from — by backpropagating Σ⟨p, g⟩.
pub(crate) fn inject(pairs: &[(&Tensor, Tensor)]) -> Result<(), ModelError> {
    let mut total: Option<Tensor> = None;
    for (p, g) in pairs {
        if !p.requires_grad() {
            continue;
        }
        let term = p.f_flatten(0, -1)?.f_dot(&g.f_flatten(0, -1)?)?;
        total = Some(match total {
            Some(acc) => acc.f_add(&term)?,
            None => term,
        });
    }
    if let Some(t) = total {
        t.f_backward()?;
    }
    Ok(())
}

/// Runs `a` and `b`, on two threads when libtorch may use two or more.
pub(crate) fn two<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if tch::get_num_threads() >= 2 {
        std::thread::scope(|s| {
            let hb = s.spawn(b);
            let ra = a();
            (ra, hb.join().expect("kernel thread panicked"))
        })
    } else {
        (a(), b())
    }
}
