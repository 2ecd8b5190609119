//! The study's metrics (`shared/docs/study.md`, "Metrics").
//!
//! All arrays are `[sample, time, dim]` in `f64`. R² follows scikit-learn's
//! `r2_score` per output column: 1 − SS_res/SS_tot over all (sample, time)
//! points, 1 when a constant column is predicted exactly and 0 when it is
//! not, then the mean over columns. NaN is never clamped away.

use std::ops::Range;

use nalgebra::DMatrix;
use ndarray::{Array1, Array2, ArrayView2, ArrayView3, Axis, Slice};
use serde::{Deserialize, Serialize};

use crate::AnalysisError;

/// Lower clamp of the state and latent R² (study: "clamped below at −10").
pub const R2_FLOOR: f64 = -10.0;

/// Rate R²: per channel, 1 − SS_res/SS_tot of `pred_rates` against
/// `true_rates` over all (sample, time) points; the mean over channels.
pub fn rate_r2(
    pred_rates: ArrayView3<'_, f64>,
    true_rates: ArrayView3<'_, f64>,
) -> Result<f64, AnalysisError> {
    same_shape("predicted rates", pred_rates.shape(), true_rates.shape())?;
    let pred = flatten(pred_rates, "predicted rates")?;
    let truth = flatten(true_rates, "true rates")?;
    Ok(mean(&r2_columns(pred.view(), truth.view())))
}

/// State R² (the study's "Hidden R²"): the least-squares affine map from the
/// true latents to the inferred latents (pseudo-inverse with a bias column),
/// R² of each inferred dimension, their mean, clamped below at
/// [`R2_FLOOR`]. It is low when the inferred latents have dimensions the
/// truth cannot explain. The map is fitted and scored on the same points.
pub fn state_r2(
    true_latents: ArrayView3<'_, f64>,
    inferred: ArrayView3<'_, f64>,
) -> Result<f64, AnalysisError> {
    affine_r2(true_latents, inferred, "true latents", "inferred latents")
}

/// Latent R²: the reverse of [`state_r2`], the affine map from the inferred
/// latents to the true latents, R² per true dimension, mean, clamped below
/// at [`R2_FLOOR`]. It is low when the inferred latents miss part of the truth.
pub fn latent_r2(
    inferred: ArrayView3<'_, f64>,
    true_latents: ArrayView3<'_, f64>,
) -> Result<f64, AnalysisError> {
    affine_r2(inferred, true_latents, "inferred latents", "true latents")
}

fn affine_r2(
    x: ArrayView3<'_, f64>,
    y: ArrayView3<'_, f64>,
    x_what: &'static str,
    y_what: &'static str,
) -> Result<f64, AnalysisError> {
    let (n, t, _) = x.dim();
    let (ny, ty, dy) = y.dim();
    if (n, t) != (ny, ty) {
        return Err(AnalysisError::Shape {
            what: y_what,
            expected: vec![n, t, dy],
            found: vec![ny, ty, dy],
        });
    }
    let x = flatten(x, x_what)?;
    let y = flatten(y, y_what)?;
    let map = AffineMap::fit(x.view(), y.view())?;
    let pred = map.apply(x.view())?;
    Ok(clamp_r2(mean(&r2_columns(pred.view(), y.view()))))
}

fn clamp_r2(r: f64) -> f64 {
    if r.is_nan() {
        r
    } else {
        r.max(R2_FLOOR)
    }
}

/// An affine map `y = x·W + b` between row-vector spaces.
#[derive(Debug, Clone, PartialEq)]
pub struct AffineMap {
    /// `[in, out]`.
    pub weights: Array2<f64>,
    /// `[out]`.
    pub bias: Array1<f64>,
}

impl AffineMap {
    /// The least-squares fit of `y` (`[points, out]`) on `x` (`[points, in]`)
    /// with a bias column, the minimum-norm solution of the pseudo-inverse
    /// (nalgebra SVD). Computed from the centred, column-scaled normal
    /// equations, which give the same predictions as `pinv([x 1])·y` for the
    /// data's rank and are cheap for the study's tall matrices (28 000 × ≤ 101).
    pub fn fit(x: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<Self, AnalysisError> {
        let (n, din) = x.dim();
        let (ny, dout) = y.dim();
        if ny != n {
            return Err(AnalysisError::Shape {
                what: "regression targets",
                expected: vec![n, dout],
                found: vec![ny, dout],
            });
        }
        if n == 0 {
            return Err(AnalysisError::Empty {
                what: "regression inputs",
            });
        }
        // NaN would make the SVD iterate without end; say what is wrong instead.
        for (what, a) in [("regression inputs", &x), ("regression targets", &y)] {
            if let Some(i) = a.iter().position(|v| !v.is_finite()) {
                return Err(AnalysisError::Invalid {
                    what,
                    reason: format!("non-finite value at flat index {i}"),
                });
            }
        }
        let x_mean = x.mean_axis(Axis(0)).ok_or(AnalysisError::Empty {
            what: "regression inputs",
        })?;
        let y_mean = y.mean_axis(Axis(0)).ok_or(AnalysisError::Empty {
            what: "regression targets",
        })?;
        let xc = &x - &x_mean;
        let yc = &y - &y_mean;
        let gram = xc.t().dot(&xc);
        let cross = xc.t().dot(&yc);
        // Scale columns to unit norm so that the rank cut-off is relative to
        // the correlation structure rather than the units.
        let scale: Vec<f64> = (0..din)
            .map(|j| {
                if gram[[j, j]] > 0.0 {
                    1.0 / gram[[j, j]].sqrt()
                } else {
                    0.0
                }
            })
            .collect();
        let g = DMatrix::from_fn(din, din, |i, j| gram[[i, j]] * scale[i] * scale[j]);
        let c = DMatrix::from_fn(din, dout, |i, j| cross[[i, j]] * scale[i]);
        let svd =
            g.try_svd(true, true, f64::EPSILON, 10_000)
                .ok_or_else(|| AnalysisError::Invalid {
                    what: "affine map",
                    reason: "the SVD did not converge".into(),
                })?;
        let max_sv = svd.singular_values.iter().copied().fold(0.0, f64::max);
        let eps = max_sv * (din.max(1) as f64) * f64::EPSILON * 16.0;
        let pinv = svd
            .pseudo_inverse(eps)
            .map_err(|e| AnalysisError::Invalid {
                what: "regression inputs",
                reason: e.to_owned(),
            })?;
        let w = pinv * c;
        let weights = Array2::from_shape_fn((din, dout), |(i, j)| w[(i, j)] * scale[i]);
        let bias = &y_mean - &x_mean.dot(&weights);
        Ok(AffineMap { weights, bias })
    }

    /// `x·W + b` for `x` `[points, in]`.
    pub fn apply(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, AnalysisError> {
        let din = self.weights.nrows();
        if x.ncols() != din {
            return Err(AnalysisError::Shape {
                what: "affine map input",
                expected: vec![x.nrows(), din],
                found: vec![x.nrows(), x.ncols()],
            });
        }
        Ok(x.dot(&self.weights) + &self.bias)
    }
}

/// The early, middle and late thirds of `steps` time steps, split as the
/// study split them, `torch.chunk(x, 3, dim=1)`: parts of ⌈steps / 3⌉ steps,
/// the last one shorter (70 → 0..24, 24..48, 48..70). Where `torch.chunk`
/// returns fewer than three parts (e.g. 4 steps → 2 + 2) the missing ones
/// are empty.
pub fn thirds(steps: usize) -> [Range<usize>; 3] {
    let size = steps.div_ceil(3);
    let end = |i: usize| (i * size).min(steps);
    [0..end(1), end(1)..end(2), end(2)..steps]
}

/// Poisson NLL of `spikes` under `log_rates` (`[sample, time, channel]`), as
/// PyTorch's `poisson_nll_loss(log_input=True, full=True)`: exp(x) − y·x plus
/// y·ln y − y + ½·ln(2πy) where y > 1, the mean over samples, the first
/// `horizon` steps (all for `None`) and channels.
pub fn poisson_nll(
    log_rates: ArrayView3<'_, f64>,
    spikes: ArrayView3<'_, f64>,
    horizon: Option<usize>,
) -> Result<f64, AnalysisError> {
    same_shape("spikes", log_rates.shape(), spikes.shape())?;
    let steps = log_rates.dim().1;
    let k = horizon.unwrap_or(steps);
    if k == 0 || k > steps {
        return Err(AnalysisError::Invalid {
            what: "horizon",
            reason: format!("{k} is not in 1..={steps}"),
        });
    }
    let x = steps_in(log_rates, 0..k);
    let y = steps_in(spikes, 0..k);
    if x.is_empty() {
        return Err(AnalysisError::Empty { what: "log-rates" });
    }
    let total: f64 = x
        .iter()
        .zip(y.iter())
        .map(|(&x, &y)| x.exp() - y * x + stirling(y))
        .sum();
    Ok(total / x.len() as f64)
}

/// Which terms a reported Poisson NLL contains. Training always uses the
/// full loss (the Stirling term depends on the counts only, so it has no
/// gradient); the basis decides which number is reported and compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NllBasis {
    /// PyTorch's `poisson_nll_loss(log_input=True, full=True)`, the study's
    /// final code: exp(x) − y·x plus the Stirling term.
    #[default]
    Full,
    /// exp(x) − y·x only (`full=False`), as the published Lorenz runs
    /// logged their validation loss (an earlier version of the study's code).
    WithoutStirling,
}

impl NllBasis {
    /// A short label for tables: `full` or `without Stirling`.
    pub fn label(self) -> &'static str {
        match self {
            NllBasis::Full => "full",
            NllBasis::WithoutStirling => "without Stirling",
        }
    }
}

/// [`poisson_nll`] on `basis`: the full NLL, or the NLL less the mean
/// Stirling term of the same counts.
pub fn poisson_nll_on(
    basis: NllBasis,
    log_rates: ArrayView3<'_, f64>,
    spikes: ArrayView3<'_, f64>,
    horizon: Option<usize>,
) -> Result<f64, AnalysisError> {
    let full = poisson_nll(log_rates, spikes, horizon)?;
    Ok(match basis {
        NllBasis::Full => full,
        NllBasis::WithoutStirling => {
            let k = horizon.unwrap_or(spikes.dim().1);
            let y = steps_in(spikes, 0..k);
            full - y.iter().map(|&y| stirling(y)).sum::<f64>() / y.len() as f64
        }
    })
}

fn stirling(y: f64) -> f64 {
    if y > 1.0 {
        y * y.ln() - y + 0.5 * (2.0 * std::f64::consts::PI * y).ln()
    } else {
        0.0
    }
}

/// The R² scores restricted to one third of the trial.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThirdMetrics {
    /// [`rate_r2`] on this third.
    pub rate_r2: f64,
    /// [`state_r2`] on this third (map fitted on it).
    pub state_r2: f64,
    /// [`latent_r2`] on this third (map fitted on it).
    pub latent_r2: f64,
}

/// Everything the study tracks per epoch on the validation split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Poisson NLL of the spikes over the first `horizon` steps.
    pub nll: f64,
    /// Rate R² over the whole trial.
    pub rate_r2: f64,
    /// State R² (true → inferred) over the whole trial.
    pub state_r2: f64,
    /// Latent R² (inferred → true) over the whole trial.
    pub latent_r2: f64,
    /// The first third of the steps.
    pub early: ThirdMetrics,
    /// The middle third.
    pub middle: ThirdMetrics,
    /// The last third.
    pub late: ThirdMetrics,
}

/// All metrics at once. `log_rates` and `spikes` are `[sample, time, channel]`,
/// `true_rates` the true firing rates (not their logs) of the same shape,
/// `true_latents` `[sample, time, D]` and `inferred_latents` `[sample, time, L]`.
/// The NLL covers the first `horizon` steps (all for `None`); the R² scores
/// always cover the whole trial and its thirds. The NLL is on `basis`.
pub fn compute_metrics(
    log_rates: ArrayView3<'_, f64>,
    spikes: ArrayView3<'_, f64>,
    true_rates: ArrayView3<'_, f64>,
    true_latents: ArrayView3<'_, f64>,
    inferred_latents: ArrayView3<'_, f64>,
    horizon: Option<usize>,
    basis: NllBasis,
) -> Result<Metrics, AnalysisError> {
    same_shape("true rates", log_rates.shape(), true_rates.shape())?;
    let pred_rates = log_rates.mapv(f64::exp);
    let nll = poisson_nll_on(basis, log_rates, spikes, horizon)?;
    let steps = log_rates.dim().1;
    let scores = |r: Range<usize>| -> Result<ThirdMetrics, AnalysisError> {
        let p = steps_in(pred_rates.view(), r.clone());
        let tr = steps_in(true_rates, r.clone());
        let tl = steps_in(true_latents, r.clone());
        let il = steps_in(inferred_latents, r);
        Ok(ThirdMetrics {
            rate_r2: rate_r2(p, tr)?,
            state_r2: state_r2(tl, il)?,
            latent_r2: latent_r2(il, tl)?,
        })
    };
    let whole = scores(0..steps)?;
    let [a, b, c] = thirds(steps);
    Ok(Metrics {
        nll,
        rate_r2: whole.rate_r2,
        state_r2: whole.state_r2,
        latent_r2: whole.latent_r2,
        early: scores(a)?,
        middle: scores(b)?,
        late: scores(c)?,
    })
}

/// The time steps `r` of a `[sample, time, dim]` array.
pub fn steps_in(a: ArrayView3<'_, f64>, r: Range<usize>) -> ArrayView3<'_, f64> {
    a.slice_axis_move(Axis(1), Slice::from(r))
}

/// `[sample, time, dim]` → `[sample·time, dim]` in logical order.
fn flatten(a: ArrayView3<'_, f64>, what: &'static str) -> Result<Array2<f64>, AnalysisError> {
    let (n, t, d) = a.dim();
    if n * t == 0 || d == 0 {
        return Err(AnalysisError::Empty { what });
    }
    Array2::from_shape_vec((n * t, d), a.iter().copied().collect()).map_err(|e| {
        AnalysisError::Invalid {
            what,
            reason: e.to_string(),
        }
    })
}

/// scikit-learn's per-column R².
pub(crate) fn r2_columns(pred: ArrayView2<'_, f64>, truth: ArrayView2<'_, f64>) -> Vec<f64> {
    pred.axis_iter(Axis(1))
        .zip(truth.axis_iter(Axis(1)))
        .map(|(p, y)| {
            let m = y.sum() / y.len() as f64;
            let ss_tot: f64 = y.iter().map(|v| (v - m) * (v - m)).sum();
            let ss_res: f64 = p.iter().zip(y.iter()).map(|(p, y)| (y - p) * (y - p)).sum();
            if ss_tot > 0.0 {
                1.0 - ss_res / ss_tot
            } else if ss_res == 0.0 {
                1.0
            } else if ss_res.is_nan() {
                f64::NAN
            } else {
                0.0
            }
        })
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn same_shape(
    what: &'static str,
    expected: &[usize],
    found: &[usize],
) -> Result<(), AnalysisError> {
    if expected == found {
        Ok(())
    } else {
        Err(AnalysisError::Shape {
            what,
            expected: expected.to_vec(),
            found: found.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array3};

    #[test]
    fn thirds_follow_torch_chunk() {
        // torch.chunk(torch.arange(n), 3) sizes: 70 → 24/24/22, 9 → 3/3/3,
        // 8 → 3/3/2, 4 → 2/2 (two chunks), 2 → 1/1.
        assert_eq!(thirds(70), [0..24, 24..48, 48..70]);
        assert_eq!(thirds(9), [0..3, 3..6, 6..9]);
        assert_eq!(thirds(8), [0..3, 3..6, 6..8]);
        assert_eq!(thirds(4), [0..2, 2..4, 4..4]);
        assert_eq!(thirds(2), [0..1, 1..2, 2..2]);
        for n in 1..200 {
            let [a, b, c] = thirds(n);
            assert_eq!((a.start, a.end, b.end, c.end), (0, b.start, c.start, n));
        }
    }

    /// Hand-computed: channel 0 truth (1, 2, 3, 4), mean 2.5, SS_tot = 5;
    /// prediction (1, 2, 3, 5): SS_res = 1 → 0.8. Channel 1 truth (2, 2, 2, 6),
    /// mean 3, SS_tot = 12; prediction (3, 2, 2, 6): SS_res = 1 → 11/12.
    #[test]
    fn rate_r2_by_hand() {
        let truth =
            Array3::from_shape_vec((2, 2, 2), vec![1., 2., 2., 2., 3., 2., 4., 6.]).unwrap();
        let pred = Array3::from_shape_vec((2, 2, 2), vec![1., 3., 2., 2., 3., 2., 5., 6.]).unwrap();
        let r = rate_r2(pred.view(), truth.view()).unwrap();
        assert!((r - (0.8 + 11.0 / 12.0) / 2.0).abs() < 1e-15, "{r}");
        assert_eq!(rate_r2(truth.view(), truth.view()).unwrap(), 1.0);
        assert!(rate_r2(pred.slice_axis(Axis(2), Slice::from(0..1)), truth.view()).is_err());
    }

    /// y = 2x + 1 exactly plus one dimension that is x² on x ∈ {−1, 0, 1}:
    /// the affine fit of x² on x is the constant 2/3 (R² 0).
    #[test]
    fn state_r2_by_hand() {
        let x = Array3::from_shape_vec((1, 3, 1), vec![-1., 0., 1.]).unwrap();
        let y = Array3::from_shape_vec((1, 3, 2), vec![-1., 1., 1., 0., 3., 1.]).unwrap();
        let r = state_r2(x.view(), y.view()).unwrap();
        assert!((r - 0.5).abs() < 1e-12, "{r}");
        let map = AffineMap::fit(
            x.view().into_shape_with_order((3, 1)).unwrap(),
            y.view().into_shape_with_order((3, 2)).unwrap(),
        )
        .unwrap();
        assert!((map.weights[[0, 0]] - 2.0).abs() < 1e-12 && (map.bias[0] - 1.0).abs() < 1e-12);
        assert!(map.weights[[0, 1]].abs() < 1e-12 && (map.bias[1] - 2.0 / 3.0).abs() < 1e-12);
        // reverse: x from (2x+1, x²) is exact
        assert!((latent_r2(y.view(), x.view()).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn rank_deficient_inputs_use_the_pseudo_inverse() {
        // the second input column duplicates the first: the prediction is still exact
        let x = array![[0., 0.], [1., 1.], [2., 2.], [5., 5.]];
        let y = array![[1.], [3.], [5.], [11.]];
        let map = AffineMap::fit(x.view(), y.view()).unwrap();
        let p = map.apply(x.view()).unwrap();
        assert!((&p - &y).iter().all(|e| e.abs() < 1e-10));
        // minimum-norm split of the slope 2 over the two copies
        assert!(
            (map.weights[[0, 0]] - 1.0).abs() < 1e-10 && (map.weights[[1, 0]] - 1.0).abs() < 1e-10
        );
        // a constant input column is ignored
        let x = array![[0., 7.], [1., 7.], [2., 7.]];
        let y = array![[1.], [2.], [3.]];
        let map = AffineMap::fit(x.view(), y.view()).unwrap();
        assert!((map.apply(x.view()).unwrap() - &y)
            .iter()
            .all(|e| e.abs() < 1e-12));
    }

    #[test]
    fn clamp_keeps_nan_visible() {
        assert_eq!(clamp_r2(-50.0), R2_FLOOR);
        assert!(clamp_r2(f64::NAN).is_nan());
        assert_eq!(clamp_r2(0.3), 0.3);
    }

    #[test]
    fn nll_by_hand() {
        let x = Array3::from_shape_vec((1, 2, 1), vec![0.0, 1.0]).unwrap();
        let y = Array3::from_shape_vec((1, 2, 1), vec![1.0, 3.0]).unwrap();
        // (e⁰ − 0) + (e¹ − 3 + 3 ln 3 − 3 + ½ ln 6π), halved
        let want = (1.0 + std::f64::consts::E - 3.0 + 3.0 * 3f64.ln() - 3.0
            + 0.5 * (6.0 * std::f64::consts::PI).ln())
            / 2.0;
        assert!((poisson_nll(x.view(), y.view(), None).unwrap() - want).abs() < 1e-15);
        assert_eq!(poisson_nll(x.view(), y.view(), Some(1)).unwrap(), 1.0);
        assert!(poisson_nll(x.view(), y.view(), Some(3)).is_err());
        // Without the Stirling term: exp(x) − y·x alone, by hand.
        let plain = x
            .iter()
            .zip(y.iter())
            .map(|(&x, &y)| x.exp() - y * x)
            .sum::<f64>()
            / x.len() as f64;
        let got = poisson_nll_on(NllBasis::WithoutStirling, x.view(), y.view(), None).unwrap();
        assert!((got - plain).abs() < 1e-15, "{got} vs {plain}");
        let full = poisson_nll_on(NllBasis::Full, x.view(), y.view(), None).unwrap();
        assert_eq!(full, poisson_nll(x.view(), y.view(), None).unwrap());
    }
}
