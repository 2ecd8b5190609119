//! The thread split: a kernel uses at most two threads (rayon's pool), and
//! only when its caller allows it.
//!
//! A grid worker given one thread must stay on one core, so the caller
//! decides ([`Threads`]: libtorch's thread count, in `latentdyn-models`).
//! Work is split into at most two parts in a fixed way, and parameter
//! gradients of the parts are summed in part order, so results depend on
//! the thread count but never on timing.

use std::ops::Range;

/// How many threads a kernel may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// The calling thread only.
    One,
    /// The calling thread and one more from rayon's pool.
    Two,
}

impl Threads {
    /// `Two` for a budget of two or more threads, else `One`.
    pub fn from_count(n: usize) -> Self {
        if n >= 2 {
            Threads::Two
        } else {
            Threads::One
        }
    }
}

/// Runs `a` and `b`, on two threads when `threads` allows it.
pub fn two<A: Send, B: Send>(
    threads: Threads,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    match threads {
        Threads::Two => rayon::join(a, b),
        Threads::One => (a(), b()),
    }
}

/// The rows `0..n` in one part, or in two halves when `threads` allows it
/// and there are at least `min` rows.
pub fn row_parts(n: usize, min: usize, threads: Threads) -> Vec<Range<usize>> {
    if threads == Threads::Two && n >= min.max(2) {
        vec![0..n / 2, n / 2..n]
    } else {
        std::iter::once(0..n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thread_never_splits() {
        assert_eq!(row_parts(1000, 64, Threads::One), vec![0..1000]);
        assert_eq!(row_parts(1000, 64, Threads::Two), vec![0..500, 500..1000]);
        assert_eq!(row_parts(63, 64, Threads::Two), vec![0..63]);
        assert_eq!(row_parts(1, 0, Threads::Two), vec![0..1]);
        assert_eq!(Threads::from_count(1), Threads::One);
        assert_eq!(Threads::from_count(0), Threads::One);
        assert_eq!(Threads::from_count(16), Threads::Two);
        assert_eq!(two(Threads::Two, || 1, || 2), (1, 2));
    }
}
