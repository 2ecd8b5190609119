//! Problems with known solutions, in the manner of diffsol's `test_models`:
//! each is a right-hand side (an [`OdeFn`] on `Array1<f64>`)
//! plus its exact solution, so every solver can be checked against the truth.

use ndarray::{array, Array1};

use crate::OdeFn;

/// `y' = A y` with `A = [[-a, -ω], [ω, -a]]` (rotation plus decay);
/// `y(t) = e^{-a t} R(ω t) y(0)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotatingDecay {
    /// Decay rate `a`.
    pub decay: f64,
    /// Angular frequency `ω`.
    pub omega: f64,
}

impl Default for RotatingDecay {
    /// `a = 0.5`, `ω = 2`.
    fn default() -> Self {
        RotatingDecay {
            decay: 0.5,
            omega: 2.0,
        }
    }
}

impl RotatingDecay {
    /// Exact solution at `t` from `y0` at time 0 (the matrix exponential).
    pub fn exact(&self, t: f64, y0: &Array1<f64>) -> Array1<f64> {
        let (s, c) = (self.omega * t).sin_cos();
        let e = (-self.decay * t).exp();
        array![e * (c * y0[0] - s * y0[1]), e * (s * y0[0] + c * y0[1])]
    }
}

impl OdeFn<Array1<f64>> for RotatingDecay {
    fn rhs(&self, _t: f64, y: &Array1<f64>) -> Array1<f64> {
        array![
            -self.decay * y[0] - self.omega * y[1],
            self.omega * y[0] - self.decay * y[1]
        ]
    }
}

/// A 3-D linear decay, `‖A‖ ≈ 1`: [`RotatingDecay`] (a = 0.3, ω = 0.8) on
/// the first two components and `y2' = -0.5 y2`. Smooth and non-stiff: the
/// setting of the torchdyn evaluation-count check.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinearDecay3;

impl LinearDecay3 {
    const ROT: RotatingDecay = RotatingDecay {
        decay: 0.3,
        omega: 0.8,
    };

    /// Exact solution at `t` from `y0` at time 0.
    pub fn exact(&self, t: f64, y0: &Array1<f64>) -> Array1<f64> {
        let r = Self::ROT.exact(t, &array![y0[0], y0[1]]);
        array![r[0], r[1], y0[2] * (-0.5 * t).exp()]
    }
}

impl OdeFn<Array1<f64>> for LinearDecay3 {
    fn rhs(&self, t: f64, y: &Array1<f64>) -> Array1<f64> {
        let r = Self::ROT.rhs(t, &array![y[0], y[1]]);
        array![r[0], r[1], -0.5 * y[2]]
    }
}

/// The non-autonomous scalar problem `y' = -2 t y`, `y(t) = y(0) e^{-t²}`
/// (exercises the nodes `c` of a tableau).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GaussianDecay;

impl GaussianDecay {
    /// Exact solution at `t` from `y0` at time 0.
    pub fn exact(&self, t: f64, y0: &Array1<f64>) -> Array1<f64> {
        y0 * (-t * t).exp()
    }
}

impl OdeFn<Array1<f64>> for GaussianDecay {
    fn rhs(&self, t: f64, y: &Array1<f64>) -> Array1<f64> {
        y * (-2.0 * t)
    }
}

/// The logistic equation `y' = r y (1 - y)` (nonlinear), componentwise;
/// `y(t) = 1 / (1 + (1/y0 - 1) e^{-r t})`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Logistic {
    /// Growth rate `r`.
    pub rate: f64,
}

impl Default for Logistic {
    /// `r = 2`.
    fn default() -> Self {
        Logistic { rate: 2.0 }
    }
}

impl Logistic {
    /// Exact solution at `t` from `y0` at time 0 (components of `y0` must be non-zero).
    pub fn exact(&self, t: f64, y0: &Array1<f64>) -> Array1<f64> {
        y0.mapv(|v| 1.0 / (1.0 + (1.0 / v - 1.0) * (-self.rate * t).exp()))
    }
}

impl OdeFn<Array1<f64>> for Logistic {
    fn rhs(&self, _t: f64, y: &Array1<f64>) -> Array1<f64> {
        y.mapv(|v| self.rate * v * (1.0 - v))
    }
}

/// The Lorenz system `x' = σ(y - x)`, `y' = x(ρ - z) - y`, `z' = x y - β z`
/// (no closed-form solution; used against reference trajectories).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lorenz {
    /// σ.
    pub sigma: f64,
    /// ρ.
    pub rho: f64,
    /// β.
    pub beta: f64,
}

impl Lorenz {
    /// The study's (dysts) parameters: σ = 10, ρ = 28, β = 2.667.
    pub fn study() -> Self {
        Lorenz {
            sigma: 10.0,
            rho: 28.0,
            beta: 2.667,
        }
    }

    /// dysts' default initial condition.
    pub fn initial_condition() -> Array1<f64> {
        array![-9.7869288, -15.03852, 20.533978]
    }
}

impl OdeFn<Array1<f64>> for Lorenz {
    fn rhs(&self, _t: f64, y: &Array1<f64>) -> Array1<f64> {
        array![
            self.sigma * (y[1] - y[0]),
            y[0] * (self.rho - y[2]) - y[1],
            y[0] * y[1] - self.beta * y[2]
        ]
    }
}

/// The delay equation `x'(t) = -x(t - 1)` with history `x = 1` on `[-1, 0]`.
///
/// On `[n-1, n]` (n ≥ 1) the solution is the polynomial
/// `x(t) = Σ_{k=0}^{n} (-1)^k (t - k + 1)^k / k!`: `1 - t` on `[0, 1]`,
/// `1 - t + (t-1)²/2` on `[1, 2]`, `… - (t-2)³/6` on `[2, 3]`. Its
/// derivatives jump at the integers (the breaking points).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UnitDelayDecay;

impl UnitDelayDecay {
    /// The delay, 1.
    pub const DELAY: f64 = 1.0;

    /// Right-hand side `f(t, x, [x(t-1)]) = -x(t-1)`.
    pub fn rhs(&self, _t: f64, _x: &Array1<f64>, delayed: &[Array1<f64>]) -> Array1<f64> {
        -&delayed[0]
    }

    /// History: 1 for `t ≤ 0`.
    pub fn history(&self, _t: f64) -> Array1<f64> {
        array![1.0]
    }

    /// Exact solution for any `t` (1 for `t ≤ 0`).
    pub fn exact(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 1.0;
        }
        let n = t.ceil().max(1.0) as i32;
        let mut sum = 0.0;
        let mut fact = 1.0;
        for k in 0..=n {
            if k > 0 {
                fact *= k as f64;
            }
            let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
            sum += sign * (t - k as f64 + 1.0).powi(k) / fact;
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_delay_exact_pieces() {
        let m = UnitDelayDecay;
        for &t in &[0.0, 0.3, 1.0] {
            assert!((m.exact(t) - (1.0 - t)).abs() < 1e-15);
        }
        for &t in &[1.0, 1.5, 2.0] {
            let v = 1.0 - t + (t - 1.0) * (t - 1.0) / 2.0;
            assert!((m.exact(t) - v).abs() < 1e-15, "{t}");
        }
        for &t in &[2.0f64, 2.5, 3.0] {
            let v = 1.0 - t + (t - 1.0).powi(2) / 2.0 - (t - 2.0).powi(3) / 6.0;
            assert!((m.exact(t) - v).abs() < 1e-14, "{t}");
        }
        // Derivative check: x'(t) = -x(t-1) by central differences.
        for &t in &[0.5, 1.5, 2.5, 3.5, 4.5] {
            let d = (m.exact(t + 1e-6) - m.exact(t - 1e-6)) / 2e-6;
            assert!((d + m.exact(t - 1.0)).abs() < 1e-8, "{t}: {d}");
        }
    }

    #[test]
    fn exact_solutions_satisfy_their_odes() {
        let y0 = array![0.7, -0.4];
        let rd = RotatingDecay::default();
        let y03 = array![0.7, -0.4, 1.1];
        for &t in &[0.1, 0.9, 2.3] {
            let e = 1e-6;
            let d = (rd.exact(t + e, &y0) - rd.exact(t - e, &y0)) / (2.0 * e);
            assert!((&d - &rd.rhs(t, &rd.exact(t, &y0)))
                .iter()
                .all(|v| v.abs() < 1e-8));
            let d = (GaussianDecay.exact(t + e, &y0) - GaussianDecay.exact(t - e, &y0)) / (2.0 * e);
            assert!((&d - &GaussianDecay.rhs(t, &GaussianDecay.exact(t, &y0)))
                .iter()
                .all(|v| v.abs() < 1e-8));
            let d = (LinearDecay3.exact(t + e, &y03) - LinearDecay3.exact(t - e, &y03)) / (2.0 * e);
            assert!((&d - &LinearDecay3.rhs(t, &LinearDecay3.exact(t, &y03)))
                .iter()
                .all(|v| v.abs() < 1e-8));
        }
    }
}
