//! The study's MackeyGlass data: a scalar delay equation seen through a delay embedding.
//!
//! The study (dysts 0.1) Euler-integrated ẋ = β x(t−τ)/(1 + x(t−τ)ⁿ) − γ x from
//! an unseeded random history around 0.76980123, so its data cannot be
//! regenerated. Here the equation is integrated with `latentdyn-ode`'s
//! method-of-steps DDE solver (DOP853 with dense history) from a **constant,
//! seeded history**: x(t) = x₀ · (1 + [`HISTORY_SPREAD`] · (2u − 1)) for every t
//! before the first sample, u ~ U(0, 1) the first draw of the seed's history
//! stream. A constant history keeps the only derivative jumps at the
//! breaking points the solver lands on.
//!
//! The 10-dimensional state is the delay embedding of the sampled series:
//! with sample spacing Δ and stride s = ⌊τ/Δ⌋ (9 for the study's 35 points per
//! period), column i of row j is x(t_j − (9 − i)·s·Δ): column 0 is the
//! earliest, column 9 the current value. The series starts 9·s samples before
//! t = 0 (the lead-in) so that every column exists from the first row.

use latentdyn_ode::{solve_dde, DdeOptions, DdeProblem, Tableau};
use ndarray::{Array1, Array2};

use crate::random::{self, Purpose};
use crate::simulate::{integrator_options, LatentInfo, MackeyGlassInfo, SVec, Trajectory};
use crate::{DataError, DatasetSpec, MackeyGlass};

/// Relative half-width of the seeded constant history around x₀ (5 %).
pub const HISTORY_SPREAD: f64 = 0.05;

/// The constant history value for `seed`.
pub fn history_value(mg: &MackeyGlass, seed: u64) -> f64 {
    let mut rng = random::stream(seed, Purpose::History);
    let u = random::uniform(&mut rng);
    mg.x0 * (1.0 + HISTORY_SPREAD * (2.0 * u - 1.0))
}

/// Integrates the scalar equation from the constant `history` (for t ≤ `t_eval[0]`)
/// and returns x at `t_eval`.
pub fn integrate_scalar(
    mg: &MackeyGlass,
    history: impl Fn(f64) -> f64,
    t_eval: &[f64],
) -> Result<Vec<f64>, DataError> {
    let p = *mg;
    let problem = DdeProblem {
        rhs: move |_t: f64, x: &SVec<1>, delayed: &[SVec<1>]| {
            SVec([p.rhs(x.0[0], delayed[0].0[0])])
        },
        history: |t: f64| SVec([history(t)]),
        delays: vec![mg.tau],
    };
    let opts = DdeOptions {
        solver: integrator_options(),
        breakpoint_depth: None,
    };
    let sol = solve_dde(&problem, t_eval, &Tableau::dop853(), &opts).map_err(|source| {
        DataError::Ode {
            system: "MackeyGlass".into(),
            source,
        }
    })?;
    Ok(sol.y.iter().map(|s| s.0[0]).collect())
}

pub(crate) fn simulate(
    mg: &MackeyGlass,
    spec: &DatasetSpec,
    times: &[f64],
    progress: &dyn Fn(f64),
) -> Result<Trajectory, DataError> {
    let dt = spec.sample_dt();
    let stride = mg.embedding_stride(dt);
    let dim = mg.embedding_dim;
    let lead = (dim - 1) * stride;
    let grid: Vec<f64> = (0..lead)
        .map(|k| -((lead - k) as f64) * dt)
        .chain(times.iter().copied())
        .collect();
    let h = history_value(mg, spec.seed);
    let series = integrate_scalar(mg, |_| h, &grid)?;
    progress(1.0);
    let n = times.len();
    let states = Array2::from_shape_fn((n, dim), |(j, i)| series[j + i * stride]);
    Ok(Trajectory {
        times: Array1::from(times.to_vec()),
        states,
        latent_info: LatentInfo {
            standardised: false,
            raw_mean: None,
            raw_std: None,
            description: format!(
                "delay embedding of x(t): column i = x(t - ({} - i)·{stride}·dt), column 0 earliest",
                dim - 1
            ),
        },
        mackey_glass: Some(MackeyGlassInfo {
            history_value: h,
            embedding_stride: stride,
            lead_in_samples: lead,
        }),
    })
}
