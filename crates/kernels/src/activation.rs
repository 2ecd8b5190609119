//! The activations the kernels share, in f32 and branch-free so that loops
//! over slices vectorise: e^x, the logistic function and tanh; and
//! [`MulAdd`], how a kernel's copy computes a·b + c.

/// How a kernel's copy computes a·b + c: [`Fused`] in the copy compiled
/// with AVX2 + FMA (one instruction, one rounding) and on AArch64,
/// [`Unfused`] in the x86-64 baseline copy, where a fused multiply-add would
/// be a libm call. The
/// dispatch (`simd::avx2_dispatch`) picks the flavour with the copy, so
/// the polynomial in [`exp`] and the kernels' multiply-add loops run as
/// FMAs wherever the CPU has them.
pub(crate) trait MulAdd {
    /// a·b + c.
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// a·b + c in one rounding (`f32::mul_add`), for copies compiled with FMA.
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code)
)]
pub(crate) enum Fused {}

/// a·b + c as a product and a sum, for the x86-64 baseline copy.
#[cfg_attr(target_arch = "aarch64", allow(dead_code))]
pub(crate) enum Unfused {}

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Unfused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// e^x for f32, branch-free so that loops over slices vectorise: Cody–Waite
/// range reduction x = k·ln 2 + r, |r| ≤ ln 2 / 2, a degree-6 polynomial
/// for e^r (Cephes `expf`), and 2^k built in the exponent bits. Relative
/// error below 2e-7 on [-87, 88]; inputs are clamped there, so e^x never
/// overflows to ∞ or underflows to a subnormal.
#[inline(always)]
pub(crate) fn exp<M: MulAdd>(x: f32) -> f32 {
    // Adding and subtracting 1.5·2²³ rounds to the nearest integer with
    // plain float arithmetic (`f32::round` is a libm call on baseline x86-64
    // and would stop the loop from vectorising).
    //
    // The rounded sum also holds k as an integer in its low mantissa bits
    // (|k| < 2²²): subtracting the bit patterns reads it without a
    // float-to-int conversion, whose saturating semantics (`as i32`) LLVM
    // can only emit as scalar code.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let k_int = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let r = M::mul_add(k, 2.121_944_4e-4, M::mul_add(k, -0.693_359_4, x));
    let p = 1.987_569_1e-4_f32;
    let p = M::mul_add(p, r, 1.398_199_9e-3);
    let p = M::mul_add(p, r, 8.333_452e-3);
    let p = M::mul_add(p, r, 4.166_579_6e-2);
    let p = M::mul_add(p, r, 1.666_666_5e-1);
    let p = M::mul_add(p, r, 0.5);
    let e = M::mul_add(p * r, r, r) + 1.0;
    e * f32::from_bits(((k_int + 127) as u32) << 23)
}

/// The logistic function 1 / (1 + e^(−x)).
#[inline(always)]
pub(crate) fn sigmoid<M: MulAdd>(x: f32) -> f32 {
    1.0 / (1.0 + exp::<M>(-x))
}

/// tanh x = 1 − 2 / (e^(2x) + 1): absolute error below 3e-7.
#[inline(always)]
pub(crate) fn tanh<M: MulAdd>(x: f32) -> f32 {
    1.0 - 2.0 / (exp::<M>(2.0 * x) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both flavours, each against f64's own functions.
    fn activations_match_the_standard_library<M: MulAdd>() {
        let (mut e_exp, mut e_sig, mut e_tanh) = (0.0f64, 0.0f64, 0.0f64);
        let mut x = -87.0f32;
        while x <= 88.0 {
            let want = f64::from(x).exp();
            e_exp = e_exp.max(((f64::from(exp::<M>(x)) - want) / want).abs());
            let s = 1.0 / (1.0 + (-f64::from(x)).exp());
            e_sig = e_sig.max((f64::from(sigmoid::<M>(x)) - s).abs());
            e_tanh = e_tanh.max((f64::from(tanh::<M>(x)) - f64::from(x).tanh()).abs());
            x += 0.001_37;
        }
        assert!(e_exp < 3e-7, "exp: relative error {e_exp:e}");
        assert!(e_sig < 2e-7, "sigmoid: absolute error {e_sig:e}");
        assert!(e_tanh < 3e-7, "tanh: absolute error {e_tanh:e}");
        // Saturation without ∞ or NaN far outside the range.
        for x in [-1e30f32, -200.0, 200.0, 1e30] {
            assert!(exp::<M>(x).is_finite() && sigmoid::<M>(x).is_finite());
            assert!(tanh::<M>(x).is_finite());
        }
        assert_eq!(tanh::<M>(-1e30), -1.0);
        assert_eq!(sigmoid::<M>(1e30), 1.0);
    }

    #[test]
    fn fused_activations_match_the_standard_library() {
        activations_match_the_standard_library::<Fused>();
    }

    #[test]
    fn unfused_activations_match_the_standard_library() {
        activations_match_the_standard_library::<Unfused>();
    }

    #[test]
    fn the_flavours_agree_to_rounding() {
        let mut x = -20.0f32;
        while x <= 20.0 {
            let (f, u) = (exp::<Fused>(x), exp::<Unfused>(x));
            assert!(
                (f - u).abs() <= 4.0 * f32::EPSILON * u,
                "exp({x}): {f} vs {u}"
            );
            x += 0.0173;
        }
        assert_eq!(Fused::mul_add(3.0, 4.0, 5.0), 17.0);
        assert_eq!(Unfused::mul_add(3.0, 4.0, 5.0), 17.0);
    }
}
