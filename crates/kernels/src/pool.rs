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

/// A buffer of `len` elements whose contents are unspecified (recycled
/// values or zeros): every element must be written before it is read.
fn buffer(len: usize) -> Vec<f32> {
    let recycled = {
        let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
        free.iter()
            .position(|v| v.capacity() >= len && v.capacity() <= 2 * len.max(1))
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
        // Far more than the cap of odd sizes: the pool keeps a bounded amount.
        for k in 0..200 {
            give(ndarray::Array2::<f32>::zeros((1 << 20, 1 + k % 3)));
        }
        let held = held_bytes();
        assert!(held <= 512 << 20, "{held} bytes held");
    }
}
