//! Seeded, platform-independent randomness.
//!
//! Every random draw goes through [`ChaCha8Rng`] seeded with the dataset seed
//! (its eight little-endian bytes, then zeros) on a separate ChaCha *stream* per
//! purpose, so changing how many numbers one purpose consumes never shifts
//! another's. The conversions to floats, the shuffle and the Poisson sampler are
//! written out here rather than borrowed from `rand`/`rand_distr`, whose
//! algorithms may change between versions: a dataset file depends only on
//! the ChaCha8 keystream and IEEE arithmetic (`exp` is the one libm call).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a random stream is used for; the discriminant is the ChaCha stream number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// The readout matrix's U(−0.5, 0.5) entries (stream 1).
    Readout = 1,
    /// The Poisson spike counts (stream 2).
    Spikes = 2,
    /// The train/valid/test shuffle (stream 3).
    Split = 3,
    /// The MackeyGlass history (stream 4).
    History = 4,
    /// A recording's randomly held-out units (stream 5).
    Heldout = 5,
}

/// The generator for `purpose` under `seed`.
pub fn stream(seed: u64, purpose: Purpose) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(purpose as u64);
    rng
}

/// A uniform draw in [0, 1) with 53 random bits.
#[inline]
pub fn uniform<R: Rng>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer in `0..n` (rejection sampling; `n > 0`).
pub fn below<R: Rng>(rng: &mut R, n: u64) -> u64 {
    assert!(n > 0, "below(0)");
    let zone = u64::MAX - (u64::MAX % n + 1) % n;
    loop {
        let x = rng.next_u64();
        if x <= zone {
            return x % n;
        }
    }
}

/// Fisher–Yates shuffle.
pub fn shuffle<R: Rng, T>(rng: &mut R, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

/// One Poisson(λ) count.
///
/// Knuth's product-of-uniforms method, exact, applied to chunks of at most 32 of
/// λ (a sum of independent Poissons is Poisson), so its cost is O(λ). Rates
/// beyond 10⁶ use the rounded normal approximation.
pub fn poisson<R: Rng>(rng: &mut R, lambda: f64) -> u32 {
    const CHUNK: f64 = 32.0;
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    if lambda > 1e6 {
        // Box–Muller.
        let u1 = 1.0 - uniform(rng);
        let u2 = uniform(rng);
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        return (lambda + lambda.sqrt() * z)
            .round()
            .clamp(0.0, u32::MAX as f64) as u32;
    }
    let mut total: u32 = 0;
    let mut left = lambda;
    while left > 0.0 {
        let part = left.min(CHUNK);
        left -= part;
        let limit = (-part).exp();
        let mut p = uniform(rng);
        while p > limit {
            total += 1;
            p *= uniform(rng);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = stream(7, Purpose::Readout);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = stream(7, Purpose::Readout);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = stream(7, Purpose::Spikes);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = stream(1, Purpose::Split);
        let mut v: Vec<usize> = (0..100).collect();
        shuffle(&mut rng, &mut v);
        assert_ne!(v, (0..100).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..100).collect::<Vec<_>>());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        /// Sample mean and variance of Poisson(λ) both estimate λ.
        #[test]
        fn poisson_moments(lambda in 0.05f64..80.0, seed in 0u64..1000) {
            let mut rng = stream(seed, Purpose::Spikes);
            let n = 20_000;
            let xs: Vec<f64> = (0..n).map(|_| poisson(&mut rng, lambda) as f64).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            // 6 standard errors
            let se_mean = (lambda / n as f64).sqrt();
            prop_assert!((mean - lambda).abs() < 6.0 * se_mean, "mean {mean} vs {lambda}");
            let se_var = ((lambda + 2.0 * lambda * lambda) / n as f64).sqrt();
            prop_assert!((var - lambda).abs() < 6.0 * se_var, "var {var} vs {lambda}");
        }
    }
}
