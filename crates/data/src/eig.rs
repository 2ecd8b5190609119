//! Eigenvalues of 3×3 real matrices through the characteristic cubic.

use serde::{Deserialize, Serialize};

/// A complex number, just enough to report eigenvalues.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Complex {
    /// Real part.
    pub re: f64,
    /// Imaginary part.
    pub im: f64,
}

impl Complex {
    /// `re + i·im`.
    pub fn new(re: f64, im: f64) -> Self {
        Complex { re, im }
    }

    /// The modulus |z|.
    pub fn abs(&self) -> f64 {
        self.re.hypot(self.im)
    }
}

/// The three eigenvalues of `m`, sorted by decreasing modulus (a conjugate pair
/// with the positive imaginary part first).
///
/// The characteristic polynomial λ³ − tr λ² + c₁ λ − det is solved by bracketing
/// and Newton-polishing its real root, then deflating to a quadratic.
pub fn eigenvalues3(m: &[[f64; 3]; 3]) -> [Complex; 3] {
    let tr = m[0][0] + m[1][1] + m[2][2];
    let minors = m[0][0] * m[1][1] - m[0][1] * m[1][0] + m[0][0] * m[2][2] - m[0][2] * m[2][0]
        + m[1][1] * m[2][2]
        - m[1][2] * m[2][1];
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let mut roots = cubic_roots(-tr, minors, -det);
    roots.sort_by(|a, b| {
        b.abs()
            .total_cmp(&a.abs())
            .then(b.re.total_cmp(&a.re))
            .then(b.im.total_cmp(&a.im))
    });
    roots
}

/// Roots of λ³ + a λ² + b λ + c.
fn cubic_roots(a: f64, b: f64, c: f64) -> [Complex; 3] {
    let f = |x: f64| ((x + a) * x + b) * x + c;
    let df = |x: f64| (3.0 * x + 2.0 * a) * x + b;
    // Cauchy bound: every root lies in [-bound, bound].
    let bound = 1.0 + a.abs().max(b.abs()).max(c.abs());
    let (mut lo, mut hi) = (-bound, bound);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= f64::EPSILON * bound {
            break;
        }
    }
    let mut r = 0.5 * (lo + hi);
    for _ in 0..4 {
        let d = df(r);
        if d == 0.0 {
            break;
        }
        let step = f(r) / d;
        if !step.is_finite() {
            break;
        }
        r -= step;
    }
    // Deflate: λ³ + aλ² + bλ + c = (λ − r)(λ² + p λ + q).
    let p = a + r;
    let q = b + r * p;
    let disc = p * p / 4.0 - q;
    let (z1, z2) = if disc >= 0.0 {
        let s = disc.sqrt();
        // Numerically stable pair.
        let big = -p / 2.0 - s.copysign(p);
        let small = if big != 0.0 { q / big } else { 0.0 };
        (Complex::new(big, 0.0), Complex::new(small, 0.0))
    } else {
        let s = (-disc).sqrt();
        (Complex::new(-p / 2.0, s), Complex::new(-p / 2.0, -s))
    };
    [Complex::new(r, 0.0), z1, z2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_and_rotation() {
        let e = eigenvalues3(&[[3.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 2.0]]);
        let re: Vec<f64> = e.iter().map(|z| z.re).collect();
        assert!(
            (re[0] - 3.0).abs() < 1e-14
                && (re[1] - 2.0).abs() < 1e-14
                && (re[2] + 1.0).abs() < 1e-14
        );
        // rotation by 90° in the xy-plane, scaled z
        let e = eigenvalues3(&[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.5]]);
        assert!((e[0].re).abs() < 1e-14 && (e[0].im - 1.0).abs() < 1e-14);
        assert!((e[1].im + 1.0).abs() < 1e-14);
        assert!((e[2].re - 0.5).abs() < 1e-14);
    }

    #[test]
    fn companion_matrix_roots() {
        // (λ-1)(λ-2)(λ+4) = λ³ + λ² − 10λ + 8
        let e = eigenvalues3(&[[-1.0, 10.0, -8.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
        let mut re: Vec<f64> = e.iter().map(|z| z.re).collect();
        re.sort_by(f64::total_cmp);
        for (got, want) in re.iter().zip([-4.0, 1.0, 2.0]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }
}
