//! Scores of a model fitted to a recording, where no truth exists: the
//! Neural Latents Benchmark's co-smoothing bits per spike, velocity
//! decoding R² and PSTH R².
//!
//! Rates here are expected counts per bin (`exp(log_rates)`), arrays are
//! `[trial, bin, unit]` (behaviour `[trial, bin, dim]`), as in
//! [`crate::metrics`].

use nalgebra::{DMatrix, DVector};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};
use serde::{Deserialize, Serialize};

use crate::metrics::r2_columns;
use crate::AnalysisError;

/// What a rate of 0 is replaced by before its logarithm, as
/// `nlb_tools.evaluation.neg_log_likelihood` does.
pub const ZERO_RATE: f64 = 1e-9;

/// The regularisation strengths the velocity decoder chooses among:
/// `numpy.logspace(-4, 0, 9)`, the grid of `nlb_tools`' `fit_and_eval_decoder`.
pub fn ridge_alphas() -> [f64; 9] {
    std::array::from_fn(|i| 10f64.powf(-4.0 + 0.5 * i as f64))
}

/// Folds of the decoder's cross-validation (scikit-learn's `GridSearchCV`
/// default: `KFold(5)`, contiguous, unshuffled).
pub const RIDGE_FOLDS: usize = 5;

/// Bits per spike of `rates` on `spikes` (both `[trial, bin, unit]`), the
/// Neural Latents Benchmark's definition (`nlb_tools.evaluation.bits_per_spike`):
/// the Poisson log-likelihood of the counts under `rates` minus that under
/// a null model predicting each unit's mean count over these trials and
/// bins, summed over units, trials and bins, divided by the spike count
/// and by ln 2. Zero rates are replaced by [`ZERO_RATE`] first, in the
/// model and in the null (a silent unit's null), as nlb_tools does; the
/// `ln n!` terms cancel. Negative or non-finite rates are errors, and so is
/// a selection without spikes (the score divides by their count).
pub fn bits_per_spike(
    rates: ArrayView3<'_, f64>,
    spikes: ArrayView3<'_, f64>,
) -> Result<f64, AnalysisError> {
    if rates.shape() != spikes.shape() {
        return Err(AnalysisError::Shape {
            what: "rates",
            expected: spikes.shape().to_vec(),
            found: rates.shape().to_vec(),
        });
    }
    if let Some(i) = rates.iter().position(|r| !(r.is_finite() && *r >= 0.0)) {
        return Err(AnalysisError::Invalid {
            what: "rates",
            reason: format!(
                "value {} at flat index {i} is not a finite non-negative rate",
                rates.iter().nth(i).copied().unwrap_or(f64::NAN)
            ),
        });
    }
    let total: f64 = spikes.sum();
    if total <= 0.0 {
        return Err(AnalysisError::Empty {
            what: "spikes to score (the selection has none)",
        });
    }
    let (n, t, _) = spikes.dim();
    let bins = (n * t) as f64;
    let null: Vec<f64> = spikes.axis_iter(Axis(2)).map(|u| u.sum() / bins).collect();
    let nll = |r: f64, k: f64| {
        let r = if r == 0.0 { ZERO_RATE } else { r };
        r - k * r.ln()
    };
    let mut gain = 0.0;
    for (((_, _, u), &r), &k) in rates.indexed_iter().zip(spikes.iter()) {
        gain += nll(null[u], k) - nll(r, k);
    }
    Ok(gain / total / std::f64::consts::LN_2)
}

/// A ridge regression `y = x·W + b` (intercept not penalised), as
/// scikit-learn's `Ridge(alpha)`: centre `x` and `y`, solve
/// `(XᵀX + αI) W = XᵀY`, `b = ȳ − x̄·W`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ridge {
    /// `[in, out]`.
    pub weights: Array2<f64>,
    /// `[out]`.
    pub bias: ndarray::Array1<f64>,
}

impl Ridge {
    /// The fit of `y` (`[points, out]`) on `x` (`[points, in]`) at `alpha` > 0.
    pub fn fit(
        x: ArrayView2<'_, f64>,
        y: ArrayView2<'_, f64>,
        alpha: f64,
    ) -> Result<Self, AnalysisError> {
        let (n, din) = x.dim();
        let dout = y.ncols();
        if y.nrows() != n {
            return Err(AnalysisError::Shape {
                what: "decoder targets",
                expected: vec![n, dout],
                found: vec![y.nrows(), dout],
            });
        }
        if n == 0 {
            return Err(AnalysisError::Empty {
                what: "decoder inputs",
            });
        }
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(AnalysisError::Invalid {
                what: "ridge alpha",
                reason: format!("{alpha} is not positive"),
            });
        }
        for (what, a) in [("decoder inputs", &x), ("decoder targets", &y)] {
            if let Some(i) = a.iter().position(|v| !v.is_finite()) {
                return Err(AnalysisError::Invalid {
                    what,
                    reason: format!("non-finite value at flat index {i}"),
                });
            }
        }
        let x_mean = x.mean_axis(Axis(0)).expect("rows checked");
        let y_mean = y.mean_axis(Axis(0)).expect("rows checked");
        let xc = &x - &x_mean;
        let yc = &y - &y_mean;
        let gram = xc.t().dot(&xc);
        let cross = xc.t().dot(&yc);
        let g = DMatrix::from_fn(din, din, |i, j| {
            gram[[i, j]] + if i == j { alpha } else { 0.0 }
        });
        // Positive definite for alpha > 0.
        let chol = g.cholesky().ok_or_else(|| AnalysisError::Invalid {
            what: "decoder inputs",
            reason: "XᵀX + αI is not positive definite (non-finite inputs?)".into(),
        })?;
        let mut weights = Array2::zeros((din, dout));
        for j in 0..dout {
            let b = DVector::from_fn(din, |i, _| cross[[i, j]]);
            let w = chol.solve(&b);
            for i in 0..din {
                weights[[i, j]] = w[i];
            }
        }
        let bias = &y_mean - &x_mean.dot(&weights);
        Ok(Ridge { weights, bias })
    }

    /// `x·W + b`.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        x.dot(&self.weights) + &self.bias
    }
}

/// R² of `pred` against `truth` (`[points, out]`), scikit-learn's
/// `r2_score` with `multioutput="uniform_average"`.
pub fn r2_score(pred: ArrayView2<'_, f64>, truth: ArrayView2<'_, f64>) -> f64 {
    let cols = r2_columns(pred, truth);
    cols.iter().sum::<f64>() / cols.len().max(1) as f64
}

/// The decoder's choice and score: see [`decode_r2`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Decoding {
    /// The ridge strength chosen by cross-validation on the training rows.
    pub alpha: f64,
    /// R² on the evaluated rows (uniform average over behaviour dimensions).
    pub r2: f64,
}

/// Velocity (any behaviour) decoding R², as the Neural Latents Benchmark
/// scores it (`fit_and_eval_decoder`): a ridge regression from rates to
/// behaviour, its `alpha` chosen among [`ridge_alphas`] by
/// [`RIDGE_FOLDS`]-fold contiguous cross-validation on the training rows
/// (highest mean R², the first on ties), refitted on all of them, scored
/// by [`r2_score`] on the evaluated rows. Rows are (trial, bin) pairs;
/// rows whose behaviour's first dimension is NaN are dropped, on either
/// side, as nlb_tools drops them.
pub fn decode_r2(
    train_rates: ArrayView3<'_, f64>,
    train_behavior: ArrayView3<'_, f64>,
    eval_rates: ArrayView3<'_, f64>,
    eval_behavior: ArrayView3<'_, f64>,
) -> Result<Decoding, AnalysisError> {
    let (tx, ty) = rows(train_rates, train_behavior, "training")?;
    let (ex, ey) = rows(eval_rates, eval_behavior, "evaluated")?;
    if tx.nrows() < RIDGE_FOLDS {
        return Err(AnalysisError::Invalid {
            what: "decoder training rows",
            reason: format!("{} rows cannot be cut into {RIDGE_FOLDS} folds", tx.nrows()),
        });
    }
    let folds = kfold(tx.nrows(), RIDGE_FOLDS);
    let mut best: Option<(f64, f64)> = None;
    for alpha in ridge_alphas() {
        let mut sum = 0.0;
        for f in &folds {
            let fit_rows: Vec<usize> = (0..tx.nrows()).filter(|i| !f.contains(i)).collect();
            let test_rows: Vec<usize> = f.clone().collect();
            let m = Ridge::fit(
                tx.select(Axis(0), &fit_rows).view(),
                ty.select(Axis(0), &fit_rows).view(),
                alpha,
            )?;
            let p = m.predict(tx.select(Axis(0), &test_rows).view());
            sum += r2_score(p.view(), ty.select(Axis(0), &test_rows).view());
        }
        let score = sum / folds.len() as f64;
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((alpha, score));
        }
    }
    let (alpha, _) = best.expect("the grid is not empty");
    let m = Ridge::fit(tx.view(), ty.view(), alpha)?;
    Ok(Decoding {
        alpha,
        r2: r2_score(m.predict(ex.view()).view(), ey.view()),
    })
}

/// scikit-learn's `KFold(k)` on `n` rows: contiguous folds, the first
/// `n % k` one row longer.
fn kfold(n: usize, k: usize) -> Vec<std::ops::Range<usize>> {
    let mut start = 0;
    (0..k)
        .map(|i| {
            let len = n / k + usize::from(i < n % k);
            let r = start..start + len;
            start += len;
            r
        })
        .collect()
}

/// (trial, bin) rows of rates and behaviour, without the rows whose
/// behaviour starts with NaN.
fn rows(
    rates: ArrayView3<'_, f64>,
    behavior: ArrayView3<'_, f64>,
    which: &str,
) -> Result<(Array2<f64>, Array2<f64>), AnalysisError> {
    let (n, t, u) = rates.dim();
    let (bn, bt, d) = behavior.dim();
    if (n, t) != (bn, bt) {
        return Err(AnalysisError::Shape {
            what: "behaviour",
            expected: vec![n, t, d],
            found: vec![bn, bt, d],
        });
    }
    let keep: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (0..t).map(move |j| (i, j)))
        .filter(|&(i, j)| d > 0 && !behavior[[i, j, 0]].is_nan())
        .collect();
    if keep.is_empty() {
        return Err(AnalysisError::Invalid {
            what: "behaviour",
            reason: format!("no {which} bin has behaviour"),
        });
    }
    let x = Array2::from_shape_fn((keep.len(), u), |(r, c)| {
        let (i, j) = keep[r];
        rates[[i, j, c]]
    });
    let y = Array2::from_shape_fn((keep.len(), d), |(r, c)| {
        let (i, j) = keep[r];
        behavior[[i, j, c]]
    });
    Ok((x, y))
}

/// Peri-stimulus time histograms: the mean of `values` (`[trial, bin,
/// unit]`) over the trials of each condition, `[condition, bin, unit]`, for
/// the conditions in increasing order (returned beside).
pub fn psths(
    values: ArrayView3<'_, f64>,
    conditions: &[i64],
) -> Result<(Vec<i64>, Array3<f64>), AnalysisError> {
    let (n, t, u) = values.dim();
    if conditions.len() != n {
        return Err(AnalysisError::Shape {
            what: "conditions",
            expected: vec![n],
            found: vec![conditions.len()],
        });
    }
    let mut keys: Vec<i64> = conditions.to_vec();
    keys.sort_unstable();
    keys.dedup();
    let mut out = Array3::zeros((keys.len(), t, u));
    let mut counts = vec![0usize; keys.len()];
    for (trial, c) in conditions.iter().enumerate() {
        let k = keys.binary_search(c).expect("a key of its own list");
        counts[k] += 1;
        let mut slot = out.index_axis_mut(Axis(0), k);
        slot += &values.index_axis(Axis(0), trial);
    }
    for (k, &c) in counts.iter().enumerate() {
        out.index_axis_mut(Axis(0), k)
            .mapv_inplace(|v| v / c as f64);
    }
    Ok((keys, out))
}

/// PSTH R²: the predicted rates of the evaluated trials averaged per
/// condition against the empirical PSTHs `empirical` of the conditions
/// `keys` (from [`psths`] of the counts; conditions absent from the
/// evaluated trials are left out), R² per unit over (condition, bin) rows
/// as scikit-learn's `r2_score`, averaged over units.
pub fn psth_r2(
    eval_rates: ArrayView3<'_, f64>,
    eval_conditions: &[i64],
    keys: &[i64],
    empirical: ArrayView3<'_, f64>,
) -> Result<f64, AnalysisError> {
    let (pred_keys, pred) = psths(eval_rates, eval_conditions)?;
    let (_, t, u) = empirical.dim();
    if pred.dim().1 != t || pred.dim().2 != u {
        return Err(AnalysisError::Shape {
            what: "empirical PSTHs",
            expected: vec![keys.len(), pred.dim().1, pred.dim().2],
            found: empirical.shape().to_vec(),
        });
    }
    let mut p = Vec::new();
    let mut e = Vec::new();
    for (i, k) in pred_keys.iter().enumerate() {
        let j = keys
            .iter()
            .position(|x| x == k)
            .ok_or_else(|| AnalysisError::Invalid {
                what: "conditions",
                reason: format!("condition {k} has no empirical PSTH"),
            })?;
        p.push(pred.index_axis(Axis(0), i).to_owned());
        e.push(empirical.index_axis(Axis(0), j).to_owned());
    }
    let stack = |parts: &[Array2<f64>]| {
        let views: Vec<ArrayView2<'_, f64>> = parts.iter().map(|a| a.view()).collect();
        ndarray::concatenate(Axis(0), &views).expect("equal widths")
    };
    Ok(r2_score(stack(&p).view(), stack(&e).view()))
}

/// Everything a run on a recording reports per epoch on its validation
/// split. `None` marks a score the recording cannot give (no held-out
/// units, no behaviour, no conditions, or no held-out spike in the split),
/// never 0 or NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RecordingMetrics {
    /// Poisson NLL (the study's, full) of the held-in units' counts.
    pub nll: f64,
    /// Co-smoothing: [`bits_per_spike`] of the held-out units.
    pub co_bps: Option<f64>,
    /// [`bits_per_spike`] of the held-in units.
    pub heldin_bps: Option<f64>,
    /// [`decode_r2`] of the behaviour from all units' rates.
    pub velocity_r2: Option<f64>,
    /// [`psth_r2`] of all units.
    pub psth_r2: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn alphas_are_numpy_logspace() {
        let a = ridge_alphas();
        assert_eq!(a[0], 1e-4);
        assert!((a[1] - 10f64.powf(-3.5)).abs() < 1e-18);
        assert_eq!(a[8], 1.0);
    }

    #[test]
    fn kfold_matches_scikit_learn() {
        // KFold(5).split(range(12)) test folds: 3, 3, 2, 2, 2 rows.
        assert_eq!(kfold(12, 5), vec![0..3, 3..6, 6..8, 8..10, 10..12]);
    }

    #[test]
    fn bits_per_spike_by_hand() {
        // One trial, two bins, two units. Unit 0 counts (1, 3): null 2.
        // Unit 1 counts (0, 0): null 0 -> 1e-9 (and a rate 0 -> 1e-9).
        let spikes = array![[[1.0, 0.0], [3.0, 0.0]]];
        let rates = array![[[1.5, 0.0], [2.5, 0.5]]];
        let l = |r: f64, k: f64| r - k * r.ln();
        let z = ZERO_RATE;
        let null = l(2.0, 1.0) + l(2.0, 3.0) + l(z, 0.0) + l(z, 0.0);
        let model = l(1.5, 1.0) + l(2.5, 3.0) + l(z, 0.0) + l(0.5, 0.0);
        let want = (null - model) / 4.0 / std::f64::consts::LN_2;
        let got = bits_per_spike(rates.view(), spikes.view()).unwrap();
        assert!((got - want).abs() < 1e-15, "{got} vs {want}");
        // The null model itself scores exactly 0.
        let null_rates = array![[[2.0, 0.0], [2.0, 0.0]]];
        assert!(bits_per_spike(null_rates.view(), spikes.view())
            .unwrap()
            .abs()
            .lt(&1e-15));
    }

    #[test]
    fn bits_per_spike_refuses_what_it_cannot_score() {
        let spikes = array![[[0.0], [0.0]]];
        assert!(bits_per_spike(array![[[1.0], [1.0]]].view(), spikes.view()).is_err());
        let spikes = array![[[1.0], [0.0]]];
        assert!(bits_per_spike(array![[[-1.0], [1.0]]].view(), spikes.view()).is_err());
        assert!(bits_per_spike(array![[[f64::NAN], [1.0]]].view(), spikes.view()).is_err());
        assert!(bits_per_spike(array![[[1.0]]].view(), spikes.view()).is_err());
    }

    #[test]
    fn ridge_matches_the_closed_form() {
        // One input, no penalty at alpha -> 0: slope cov/var; at alpha the
        // slope is Sxy / (Sxx + alpha) on centred data.
        let x = array![[0.0], [1.0], [2.0], [3.0]];
        let y = array![[1.0], [3.0], [2.0], [6.0]];
        let m = Ridge::fit(x.view(), y.view(), 0.5).unwrap();
        // Centred: x̄ = 1.5, ȳ = 3; Sxx = 5, Sxy = 7.
        let slope = 7.0 / 5.5;
        assert!((m.weights[[0, 0]] - slope).abs() < 1e-14);
        assert!((m.bias[0] - (3.0 - 1.5 * slope)).abs() < 1e-14);
    }

    #[test]
    fn a_linear_behaviour_decodes_with_r2_near_one() {
        let n = 8;
        let t = 10;
        let rates = Array3::from_shape_fn((n, t, 3), |(i, j, k)| {
            ((i * 7 + j * 3 + k * 5) % 11) as f64 + 0.1 * k as f64
        });
        let beh = Array3::from_shape_fn((n, t, 2), |(i, j, d)| {
            if d == 0 {
                2.0 * rates[[i, j, 0]] - rates[[i, j, 2]]
            } else {
                rates[[i, j, 1]] + 1.0
            }
        });
        let train = rates.slice(ndarray::s![..6, .., ..]);
        let eval = rates.slice(ndarray::s![6.., .., ..]);
        let d = decode_r2(
            train,
            beh.slice(ndarray::s![..6, .., ..]),
            eval,
            beh.slice(ndarray::s![6.., .., ..]),
        )
        .unwrap();
        // Noise-free: the least penalty wins and the fit is near perfect.
        assert_eq!(d.alpha, 1e-4);
        assert!(d.r2 > 0.999_999, "{d:?}");
    }

    #[test]
    fn psths_average_per_condition() {
        let v = array![[[1.0], [2.0]], [[3.0], [6.0]], [[5.0], [0.0]]];
        let (keys, p) = psths(v.view(), &[7, 2, 7]).unwrap();
        assert_eq!(keys, vec![2, 7]);
        assert_eq!(p, array![[[3.0], [6.0]], [[3.0], [1.0]]]);
        // Predicting the empirical PSTH exactly scores 1.
        let r = psth_r2(v.view(), &[7, 2, 7], &keys, p.view()).unwrap();
        assert_eq!(r, 1.0);
        // A flat prediction at each unit's mean scores 0.
        let flat = Array3::from_elem((3, 2, 1), 13.0 / 4.0);
        let r = psth_r2(flat.view(), &[7, 2, 7], &keys, p.view()).unwrap();
        assert!(r.abs() < 1e-15, "{r}");
    }
}
