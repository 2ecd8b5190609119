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

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMut3, Axis};
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

/// The gradient of a trajectory leaf `[B, T, L]`, copied once into an
/// array of the same shape; `None` when the loss did not depend on the
/// leaf. [`steps_first`] views it step by step.
pub(crate) fn trajectory_grad(leaf: &Tensor) -> Result<Option<Array3<f32>>, ModelError> {
    let g = leaf.f_grad()?;
    if !g.defined() {
        return Ok(None);
    }
    let size = g.size();
    let data = Vec::<f32>::try_from(&g.f_to_kind(Kind::Float)?.f_contiguous()?.f_flatten(0, -1)?)?;
    let dims = (size[0] as usize, size[1] as usize, size[2] as usize);
    Array3::from_shape_vec(dims, data)
        .map(Some)
        .map_err(|e| ModelError::Shape {
            what: "trajectory gradient",
            expected: e.to_string(),
            found: size,
        })
}

/// The trials `rows` of a batch-major `[B, T, L]` array as a view `[T, b,
/// L]`: step `s` of every trial is `.index_axis(Axis(0), s)`. No copy.
pub(crate) fn steps_first(g: &Array3<f32>, rows: std::ops::Range<usize>) -> ArrayView3<'_, f32> {
    g.slice(ndarray::s![rows, .., ..]).permuted_axes([1, 0, 2])
}

/// A kernel's trajectory `[B, T, L]` as a fresh autograd leaf (f32, a
/// copy), the output half of a [`Taped`]; [`trajectory_grad`] reads its
/// gradient back.
pub(crate) fn trajectory_leaf(latents: ArrayView3<'_, f32>) -> Result<Tensor, ModelError> {
    let shape = latents
        .shape()
        .iter()
        .map(|&n| n as i64)
        .collect::<Vec<_>>();
    let latents = latents.as_standard_layout();
    Ok(tensor(latents.as_slice().expect("standard layout"), &shape)?.set_requires_grad(true))
}

/// Writes time-major states `[T·b, H]` (step `s` of trial `k` in row
/// `s·b + k`) into `dst`, `[b, T, H]`.
pub(crate) fn fill_batch_major(tm: ArrayView2<'_, f32>, mut dst: ArrayViewMut3<'_, f32>) {
    let (b, steps, _) = dst.dim();
    for st in 0..steps {
        dst.index_axis_mut(Axis(1), st)
            .assign(&tm.slice(ndarray::s![st * b..(st + 1) * b, ..]));
    }
}

/// Accumulates each gradient array `g` into its tensor `p`'s gradient — and
/// through `p` into whatever `p` was computed from — by backpropagating
/// Σ⟨p, g⟩. `g` holds `p`'s elements in row-major order (any memory layout;
/// its shape only needs the same number of elements, else an error).
pub(crate) fn inject(pairs: &[(&Tensor, ArrayViewD<'_, f32>)]) -> Result<(), ModelError> {
    let mut total: Option<Tensor> = None;
    for (p, g) in pairs {
        if !p.requires_grad() {
            continue;
        }
        let g = g.as_standard_layout();
        let g = tensor(g.as_slice().expect("standard layout"), &p.size())?;
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

/// Whether the kernels may use a second thread: when libtorch was given
/// two or more (so a grid worker with one thread stays on one core).
pub(crate) fn parallel() -> bool {
    tch::get_num_threads() >= 2
}

/// Runs `a` and `b`, on two threads (rayon's pool) when [`parallel`].
pub(crate) fn two<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if parallel() {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// The batch rows `0..n` in one part, or two halves when [`parallel`] and
/// there are at least `min` rows: trials are independent in every kernel,
/// so each part runs on its own thread and only parameter gradients meet
/// (summed in a fixed order, so results do not depend on timing).
pub(crate) fn row_parts(n: usize, min: usize) -> Vec<std::ops::Range<usize>> {
    if parallel() && n >= min.max(2) {
        vec![0..n / 2, n / 2..n]
    } else {
        std::iter::once(0..n).collect()
    }
}

/// `f` on each part, the parts on two threads when there are two.
pub(crate) fn each_part<T: Send>(
    parts: &[std::ops::Range<usize>],
    f: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    match parts {
        [a, b] => {
            let (x, y) = two(|| f(a.clone()), || f(b.clone()));
            vec![x, y]
        }
        _ => parts.iter().cloned().map(&f).collect(),
    }
}

/// Recycled f32 buffers for the kernels' tapes. A training step allocates
/// the same large arrays every time (tens of MB); taking them from here
/// instead of the allocator avoids a page fault per 4 KiB each step.
pub(crate) mod pool {
    use std::sync::Mutex;

    use ndarray::Array2;

    /// At most this many bytes wait for reuse (about one training step's
    /// tapes); beyond it the oldest buffers are freed, so buffers of a size
    /// nobody asks for again cannot pile up.
    const KEEP_BYTES: usize = 512 << 20;

    static FREE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

    /// An `[rows, cols]` array whose contents are unspecified (recycled
    /// values or zeros): every element must be written before it is read.
    pub(crate) fn array(rows: usize, cols: usize) -> Array2<f32> {
        let len = rows * cols;
        let recycled = {
            let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
            free.iter()
                .position(|v| v.capacity() >= len && v.capacity() <= 2 * len.max(1))
                .map(|i| free.swap_remove(i))
        };
        let mut v = recycled.unwrap_or_default();
        v.resize(len, 0.0);
        v.truncate(len);
        Array2::from_shape_vec((rows, cols), v).expect("length matches the shape")
    }

    /// Bytes waiting for reuse.
    #[cfg(test)]
    pub(crate) fn held_bytes() -> usize {
        let free = FREE.lock().unwrap_or_else(|e| e.into_inner());
        free.iter().map(|b| b.capacity() * 4).sum()
    }

    /// Returns an array's buffer for reuse (only arrays made by [`array()`]
    /// should come back, or the pool fills with sizes nobody asks for).
    pub(crate) fn give(a: Array2<f32>) {
        let (v, _) = a.into_raw_vec_and_offset();
        if v.capacity() == 0 {
            return;
        }
        let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
        free.push(v);
        let mut held: usize = free.iter().map(|b| b.capacity() * 4).sum();
        while held > KEEP_BYTES && !free.is_empty() {
            held -= free.remove(0).capacity() * 4;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pool;

    #[test]
    fn the_pool_reuses_buffers_and_stays_bounded() {
        let a = pool::array(1000, 100);
        let ptr = a.as_ptr();
        pool::give(a);
        let b = pool::array(1000, 100);
        assert_eq!(b.as_ptr(), ptr, "the buffer was reused");
        assert_eq!(b.dim(), (1000, 100));
        pool::give(b);
        // Far more than the cap of odd sizes: the pool keeps a bounded amount.
        for k in 0..200 {
            pool::give(ndarray::Array2::zeros((1 << 20, 1 + k % 3)));
        }
        let held = pool::held_bytes();
        assert!(held <= 512 << 20, "{held} bytes held");
    }
}
