//! Recycled f32 buffers for the kernels' saved states and outputs. A
//! training step allocates the same large arrays every time (tens of MB);
//! taking them from here instead of the allocator avoids a page fault per
//! 4 KiB each step.

use std::sync::Mutex;

use ndarray::{Array, Array2, Dimension};

/// At most this many bytes wait for reuse (about one training step's
/// saved states); beyond it the oldest buffers are freed, so buffers of a
/// size nobody asks for again cannot pile up.
const KEEP_BYTES: usize = 512 << 20;

static FREE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// A recycled buffer serves requests from a quarter of its size up: the
/// validation pass (320 trials) then reuses the training step's buffers
/// (650) instead of keeping a second set beside them (NODE L = 3, peak RSS
/// 577 → 451 MB, against a half), while a small request still cannot take
/// a buffer many times its size.
const REUSE_RATIO: usize = 4;

/// A buffer of `len` elements whose contents are unspecified (recycled
/// values or zeros): every element must be written before it is read.
fn buffer(len: usize) -> Vec<f32> {
    let recycled = {
        let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
        free.iter()
            .position(|v| v.capacity() >= len && v.capacity() <= REUSE_RATIO * len.max(1))
            .map(|i| free.swap_remove(i))
    };
    let mut v = recycled.unwrap_or_default();
    v.resize(len, 0.0);
    v.truncate(len);
    v
}

/// An `[rows, cols]` array with unspecified contents (see [`buffer`]).
pub(crate) fn array(rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_vec((rows, cols), buffer(rows * cols)).expect("length matches the shape")
}

/// An array of shape `dim` with unspecified contents (see [`buffer`]).
pub(crate) fn array_of<D: Dimension>(dim: D) -> Array<f32, D> {
    let len = dim.size();
    Array::from_shape_vec(dim, buffer(len)).expect("length matches the shape")
}

/// Bytes waiting for reuse.
#[cfg(test)]
pub(crate) fn held_bytes() -> usize {
    let free = FREE.lock().unwrap_or_else(|e| e.into_inner());
    free.iter().map(|b| b.capacity() * 4).sum()
}

/// Returns an array's buffer for reuse (only arrays made by [`array()`] or
/// [`array_of`] should come back, or the pool fills with sizes nobody asks
/// for).
pub(crate) fn give<D: Dimension>(a: Array<f32, D>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_reuses_buffers_and_stays_bounded() {
        // An odd size no other test of the crate asks for at the same time.
        let a = array(3001, 1009);
        let ptr = a.as_ptr();
        give(a);
        let b = array(3001, 1009);
        assert_eq!(b.as_ptr(), ptr, "the buffer was reused");
        assert_eq!(b.dim(), (3001, 1009));
        give(b);
        let c = array_of(ndarray::Ix3(3001, 1009, 1));
        assert_eq!(c.as_ptr(), ptr, "reused across dimensionalities");
        give(c);
        // A validation-sized request (under half, over a quarter) reuses
        // it; one under a quarter does not.
        let d = array(1300, 1009);
        assert_eq!(d.as_ptr(), ptr, "a smaller request reuses the buffer");
        give(d);
        let e = array(700, 1009);
        assert_ne!(e.as_ptr(), ptr, "a request under a quarter gets its own");
        drop(e);
        // Far more than the cap of odd sizes: the pool keeps a bounded amount.
        for k in 0..200 {
            give(ndarray::Array2::<f32>::zeros((1 << 20, 1 + k % 3)));
        }
        let held = held_bytes();
        assert!(held <= 512 << 20, "{held} bytes held");
    }
}
