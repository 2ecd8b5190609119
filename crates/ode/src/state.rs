//! The state trait the solvers are generic over, and its backends.

use ndarray::Array1;

/// A state a solver can advance: a flat vector space with the few operations
/// an explicit Runge–Kutta method needs.
///
/// There is deliberately no `Clone` supertrait: `tch::Tensor` does not
/// implement `Clone` (and the orphan rule forbids adding it), so duplication
/// goes through [`State::clone_state`]. Implementations for graph-carrying
/// types (tensors) must implement every operation out of place, so that a
/// state handed to the solver is never mutated behind the autograd graph.
pub trait State: Sized {
    /// A copy of `self` (for tensors: a new handle; the data are never mutated in place).
    fn clone_state(&self) -> Self;
    /// `self += a * x`.
    fn axpy(&mut self, a: f64, x: &Self);
    /// `self *= a`.
    fn scale(&mut self, a: f64);
    /// A state of the same shape filled with zeros.
    fn zeros_like(&self) -> Self;
    /// `true` when no element is NaN or infinite.
    fn all_finite(&self) -> bool;
    /// `sqrt(mean(x_i^2))` over all elements (0 for an empty state).
    fn rms_norm(&self) -> f64;
    /// Hairer's weighted RMS error norm,
    /// `sqrt(mean((err_i / (atol + rtol * max(|y0_i|, |y1_i|)))^2))` over all elements.
    fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64;
    /// `true` when every element is exactly zero (the adjoint skips such stages).
    fn is_zero(&self) -> bool {
        self.rms_norm() == 0.0
    }
    /// Overwrite `self` with `other`, reusing `self`'s storage where the backend allows it.
    fn copy_from(&mut self, other: &Self) {
        *self = other.clone_state();
    }
    /// `Err(description)` when `other` cannot be combined with `self` (different shape).
    fn check_compatible(&self, other: &Self) -> Result<(), String> {
        let _ = other;
        Ok(())
    }
}

fn weighted_rms<'a>(
    err: impl Iterator<Item = (&'a f64, (&'a f64, &'a f64))>,
    n: usize,
    rtol: f64,
    atol: f64,
) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let mut acc = 0.0;
    for (e, (a, b)) in err {
        let sk = atol + rtol * a.abs().max(b.abs());
        let r = e / sk;
        acc += r * r;
    }
    (acc / n as f64).sqrt()
}

impl State for Array1<f64> {
    fn clone_state(&self) -> Self {
        self.clone()
    }
    fn axpy(&mut self, a: f64, x: &Self) {
        self.scaled_add(a, x);
    }
    fn scale(&mut self, a: f64) {
        self.mapv_inplace(|v| v * a);
    }
    fn zeros_like(&self) -> Self {
        Array1::zeros(self.len())
    }
    fn all_finite(&self) -> bool {
        self.iter().all(|v| v.is_finite())
    }
    fn rms_norm(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        (self.iter().map(|v| v * v).sum::<f64>() / self.len() as f64).sqrt()
    }
    fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64 {
        weighted_rms(
            err.iter().zip(y0.iter().zip(y1.iter())),
            err.len(),
            rtol,
            atol,
        )
    }
    fn copy_from(&mut self, other: &Self) {
        if self.len() == other.len() {
            self.assign(other);
        } else {
            *self = other.clone();
        }
    }
    fn check_compatible(&self, other: &Self) -> Result<(), String> {
        if self.len() == other.len() {
            Ok(())
        } else {
            Err(format!(
                "state has length {}, right-hand side returned length {}",
                self.len(),
                other.len()
            ))
        }
    }
}

impl State for Vec<f64> {
    fn clone_state(&self) -> Self {
        self.clone()
    }
    fn axpy(&mut self, a: f64, x: &Self) {
        for (s, v) in self.iter_mut().zip(x) {
            *s += a * v;
        }
    }
    fn scale(&mut self, a: f64) {
        for s in self.iter_mut() {
            *s *= a;
        }
    }
    fn zeros_like(&self) -> Self {
        vec![0.0; self.len()]
    }
    fn all_finite(&self) -> bool {
        self.iter().all(|v| v.is_finite())
    }
    fn rms_norm(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        (self.iter().map(|v| v * v).sum::<f64>() / self.len() as f64).sqrt()
    }
    fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64 {
        weighted_rms(
            err.iter().zip(y0.iter().zip(y1.iter())),
            err.len(),
            rtol,
            atol,
        )
    }
    fn copy_from(&mut self, other: &Self) {
        self.clone_from(other);
    }
    fn check_compatible(&self, other: &Self) -> Result<(), String> {
        if self.len() == other.len() {
            Ok(())
        } else {
            Err(format!(
                "state has length {}, right-hand side returned length {}",
                self.len(),
                other.len()
            ))
        }
    }
}

#[cfg(feature = "tch")]
mod tensor {
    use super::State;
    use tch::{Kind, TchError, Tensor};

    /// A scalar NaN tensor: the result of an operation libtorch refused. The
    /// solver's finiteness checks turn it into [`crate::OdeError::NonFinite`]
    /// instead of a panic.
    fn poisoned() -> Tensor {
        Tensor::from(f64::NAN)
    }

    fn scalar(t: Result<Tensor, TchError>) -> f64 {
        t.and_then(|t| t.f_to_kind(Kind::Double))
            .and_then(|t| t.f_double_value(&[]))
            .unwrap_or(f64::NAN)
    }

    /// `tch::Tensor` as a solver state. Every operation is out of place and
    /// keeps the autograd graph; the norms (used only for step-size control)
    /// are computed on detached values and reduce over *all* elements, so a
    /// batch shares one step size, as in torchdyn.
    impl State for Tensor {
        fn clone_state(&self) -> Self {
            self.shallow_clone()
        }
        fn axpy(&mut self, a: f64, x: &Self) {
            *self = x
                .f_mul_scalar(a)
                .and_then(|ax| self.f_add(&ax))
                .unwrap_or_else(|_| poisoned());
        }
        fn scale(&mut self, a: f64) {
            *self = self.f_mul_scalar(a).unwrap_or_else(|_| poisoned());
        }
        fn zeros_like(&self) -> Self {
            self.f_zeros_like().unwrap_or_else(|_| poisoned())
        }
        fn all_finite(&self) -> bool {
            let v = scalar(self.detach().f_isfinite().and_then(|t| t.f_all()));
            v == 1.0
        }
        fn rms_norm(&self) -> f64 {
            if self.numel() == 0 {
                return 0.0;
            }
            scalar(
                self.detach()
                    .f_to_kind(Kind::Double)
                    .and_then(|t| t.f_square())
                    .and_then(|t| t.f_mean(None))
                    .and_then(|t| t.f_sqrt()),
            )
        }
        fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64 {
            if err.numel() == 0 {
                return 0.0;
            }
            let r = (|| -> Result<Tensor, TchError> {
                let e = err.detach().f_to_kind(Kind::Double)?;
                let a = y0.detach().f_to_kind(Kind::Double)?.f_abs()?;
                let b = y1.detach().f_to_kind(Kind::Double)?.f_abs()?;
                let sk = a.f_maximum(&b)?.f_mul_scalar(rtol)?.f_add_scalar(atol)?;
                e.f_div(&sk)?.f_square()?.f_mean(None)?.f_sqrt()
            })();
            scalar(r)
        }
        fn check_compatible(&self, other: &Self) -> Result<(), String> {
            if self.size() == other.size() {
                Ok(())
            } else {
                Err(format!(
                    "state has shape {:?}, right-hand side returned shape {:?}",
                    self.size(),
                    other.size()
                ))
            }
        }
    }
}
