//! The activations the kernels share, in f32 and branch-free so that loops
//! over slices vectorise: e^x, the logistic function and tanh.

/// e^x for f32, branch-free so that loops over slices vectorise: Cody–Waite
/// range reduction x = k·ln 2 + r, |r| ≤ ln 2 / 2, a degree-6 polynomial
/// for e^r (Cephes `expf`), and 2^k built in the exponent bits. Relative
/// error below 2e-7 on [-87, 88]; inputs are clamped there, so e^x never
/// overflows to ∞ or underflows to a subnormal.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
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
    let r = x - k * 0.693_359_4 + k * 2.121_944_4e-4;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((k_int + 127) as u32) << 23)
}

/// The logistic function 1 / (1 + e^(−x)).
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh x = 1 − 2 / (e^(2x) + 1): absolute error below 3e-7.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activations_match_the_standard_library() {
        let (mut e_exp, mut e_sig, mut e_tanh) = (0.0f64, 0.0f64, 0.0f64);
        let mut x = -87.0f32;
        while x <= 88.0 {
            let want = f64::from(x).exp();
            e_exp = e_exp.max(((f64::from(exp(x)) - want) / want).abs());
            let s = 1.0 / (1.0 + (-f64::from(x)).exp());
            e_sig = e_sig.max((f64::from(sigmoid(x)) - s).abs());
            e_tanh = e_tanh.max((f64::from(tanh(x)) - f64::from(x).tanh()).abs());
            x += 0.001_37;
        }
        assert!(e_exp < 3e-7, "exp: relative error {e_exp:e}");
        assert!(e_sig < 2e-7, "sigmoid: absolute error {e_sig:e}");
        assert!(e_tanh < 3e-7, "tanh: absolute error {e_tanh:e}");
        // Saturation without ∞ or NaN far outside the range.
        for x in [-1e30f32, -200.0, 200.0, 1e30] {
            assert!(exp(x).is_finite() && sigmoid(x).is_finite() && tanh(x).is_finite());
        }
        assert_eq!(tanh(-1e30), -1.0);
        assert_eq!(sigmoid(1e30), 1.0);
    }
}
