//! Kernels compiled twice: for the baseline x86-64 target (SSE2) and with
//! AVX2 + FMA, chosen at run time ([`avx2_dispatch`]), each with its
//! multiply-add flavour (`activation::MulAdd`: fused in the AVX2 copy). This file holds the
//! workspace's one `unsafe` (a tidy test keeps it so): the call of a
//! function compiled for CPU features that were checked to be present just
//! before.

use crate::activation::{tanh, MulAdd};

/// Defines `$name` as a call of the `#[inline(always)]` function
/// `$portable::<M: MulAdd>` that runs a copy compiled with AVX2 + FMA and
/// `M = Fused` when the CPU has them, and the baseline copy otherwise
/// (`M = Unfused` on x86-64; `Fused` on AArch64, where FMA is always there).
macro_rules! avx2_dispatch {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? => $portable:ident) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $portable::<$crate::activation::Fused>($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: AVX2 and FMA were detected on this CPU just above.
                    #[allow(unsafe_code)]
                    return unsafe { avx2($($arg),*) };
                }
            }
            // Every AArch64 CPU has FMA; elsewhere the baseline is unfused.
            #[cfg(target_arch = "aarch64")]
            use $crate::activation::Fused as Baseline;
            #[cfg(not(target_arch = "aarch64"))]
            use $crate::activation::Unfused as Baseline;
            $portable::<Baseline>($($arg),*)
        }
    };
}
pub(crate) use avx2_dispatch;

avx2_dispatch! {
    /// tanh of every element, in place.
    pub(crate) fn tanh_slice(xs: &mut [f32]) => tanh_slice_portable
}

#[inline(always)]
fn tanh_slice_portable<M: MulAdd>(xs: &mut [f32]) {
    for x in xs {
        *x = tanh::<M>(*x);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dispatched_and_portable_agree() {
        let xs: Vec<f32> = (0..1003).map(|i| (i as f32 - 500.0) * 0.013).collect();
        let mut a = xs.clone();
        super::tanh_slice(&mut a);
        let mut b = xs.clone();
        super::tanh_slice_portable::<crate::activation::Unfused>(&mut b);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // The AVX2 copy is the fused flavour, to the bit.
            let mut c = xs.clone();
            super::tanh_slice_portable::<crate::activation::Fused>(&mut c);
            assert_eq!(a, c);
        }
        for ((&x, &p), &q) in xs.iter().zip(&a).zip(&b) {
            assert!((p - q).abs() <= 4.0 * f32::EPSILON, "tanh({x}): {p} vs {q}");
            assert!((f64::from(p) - f64::from(x).tanh()).abs() < 3e-7);
        }
    }
}
