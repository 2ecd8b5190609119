//! One long latent trajectory per dataset, integrated with `latentdyn-ode`.

use latentdyn_ode::{solve_adaptive, AdaptiveOptions, OdeError, OutputMode, State, Tableau};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::pipeline::column_mean_std;
use crate::{DataError, DatasetSpec, System};

/// Relative tolerance of the trajectory integration (DOP853).
pub const RTOL: f64 = 1e-12;
/// Absolute tolerance of the trajectory integration (DOP853).
pub const ATOL: f64 = 1e-12;
/// The trajectory is integrated in this many consecutive pieces (each restarting the
/// step-size controller from the previous piece's last sample), to report progress.
const PIECES: usize = 20;

/// How the stored latents relate to the integrated state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatentInfo {
    /// Whether each latent dimension was z-scored over the trajectory (MacArthur).
    pub standardised: bool,
    /// Per-dimension mean of the raw trajectory, when `standardised`.
    pub raw_mean: Option<Vec<f64>>,
    /// Per-dimension population std of the raw trajectory, when `standardised`.
    pub raw_std: Option<Vec<f64>>,
    /// In words.
    pub description: String,
}

/// How the MackeyGlass delay embedding was built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MackeyGlassInfo {
    /// The constant history value x(t) for t before the first lead-in sample.
    pub history_value: f64,
    /// Samples between consecutive embedding columns, `floor(τ / sample spacing)`.
    pub embedding_stride: usize,
    /// Extra samples integrated before t = 0 so that every column exists: `(dim − 1)·stride`.
    pub lead_in_samples: usize,
}

/// A sampled latent trajectory, before the readout.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// Sample times, `linspace(0, tlim, n)`.
    pub times: Array1<f64>,
    /// `n × latent_dim` states, raw (not yet z-scored).
    pub states: Array2<f64>,
    /// How to turn `states` into the stored latents.
    pub latent_info: LatentInfo,
    /// MackeyGlass only.
    pub mackey_glass: Option<MackeyGlassInfo>,
}

/// `linspace(a, b, n)` as numpy computes it (`a + i·step`, last point exactly `b`).
pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    let step = (b - a) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| a + i as f64 * step).collect();
    v[n - 1] = b;
    v
}

/// A fixed-size, allocation-free state for the integrator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SVec<const N: usize>(pub [f64; N]);

impl<const N: usize> State for SVec<N> {
    #[inline]
    fn clone_state(&self) -> Self {
        *self
    }
    #[inline]
    fn copy_from(&mut self, other: &Self) {
        *self = *other;
    }
    #[inline]
    fn axpy(&mut self, a: f64, x: &Self) {
        for i in 0..N {
            self.0[i] += a * x.0[i];
        }
    }
    #[inline]
    fn scale(&mut self, a: f64) {
        for v in &mut self.0 {
            *v *= a;
        }
    }
    #[inline]
    fn zeros_like(&self) -> Self {
        SVec([0.0; N])
    }
    #[inline]
    fn all_finite(&self) -> bool {
        self.0.iter().all(|v| v.is_finite())
    }
    #[inline]
    fn rms_norm(&self) -> f64 {
        (self.0.iter().map(|v| v * v).sum::<f64>() / N as f64).sqrt()
    }
    #[inline]
    fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64 {
        let mut acc = 0.0;
        for i in 0..N {
            let sc = atol + rtol * y0.0[i].abs().max(y1.0[i].abs());
            let e = err.0[i] / sc;
            acc += e * e;
        }
        (acc / N as f64).sqrt()
    }
}

fn ode_error(system: &System, source: OdeError) -> DataError {
    DataError::Ode {
        system: system.kind().to_string(),
        source,
    }
}

/// Options for the trajectory integration: DOP853 at [`RTOL`]/[`ATOL`], dense output.
pub fn integrator_options() -> AdaptiveOptions {
    AdaptiveOptions {
        rtol: RTOL,
        atol: ATOL,
        max_steps: usize::MAX / 2,
        output: OutputMode::Interpolate,
        ..AdaptiveOptions::default()
    }
}

fn integrate_n<const N: usize>(
    system: &System,
    y0: &[f64],
    t_eval: &[f64],
    progress: &dyn Fn(f64),
) -> Result<Array2<f64>, DataError> {
    let f = |_t: f64, y: &SVec<N>| {
        let mut out = SVec([0.0; N]);
        system.rhs_into(&y.0, &mut out.0);
        out
    };
    let tableau = Tableau::dop853();
    let opts = integrator_options();
    let n = t_eval.len();
    let mut states = Array2::<f64>::zeros((n, N));
    let mut y = SVec::<N>(std::array::from_fn(|i| y0[i]));
    states
        .row_mut(0)
        .iter_mut()
        .zip(y.0)
        .for_each(|(a, b)| *a = b);
    let pieces = PIECES.min(n - 1).max(1);
    let mut start = 0;
    for p in 0..pieces {
        let end = ((p + 1) * (n - 1)) / pieces;
        if end == start {
            continue;
        }
        let sol = solve_adaptive(&f, &y, &t_eval[start..=end], &tableau, &opts)
            .map_err(|e| ode_error(system, e))?;
        for (k, s) in sol.y.iter().enumerate().skip(1) {
            states
                .row_mut(start + k)
                .iter_mut()
                .zip(s.0)
                .for_each(|(a, b)| *a = b);
        }
        y = *sol.y.last().expect("non-empty solution");
        start = end;
        progress((p + 1) as f64 / pieces as f64);
    }
    Ok(states)
}

/// Integrates an ODE system (not MackeyGlass) from `y0`, sampled at `t_eval`
/// (`t_eval[0]` is the initial time). Returns `len(t_eval) × dim` states.
pub fn integrate(
    system: &System,
    y0: &[f64],
    t_eval: &[f64],
    progress: &dyn Fn(f64),
) -> Result<Array2<f64>, DataError> {
    if t_eval.is_empty() {
        return Ok(Array2::zeros((0, system.ode_dimension())));
    }
    match (system, system.ode_dimension()) {
        (System::MackeyGlass(_), _) => Err(DataError::InvalidSpec {
            field: "system",
            reason: "MackeyGlass is a delay equation; use simulate()".into(),
        }),
        (_, 3) => integrate_n::<3>(system, y0, t_eval, progress),
        (_, 10) => integrate_n::<10>(system, y0, t_eval, progress),
        (_, d) => Err(DataError::InvalidSpec {
            field: "system",
            reason: format!("unsupported state dimension {d}"),
        }),
    }
}

/// The raw trajectory for `spec`: `n_samples × n_timesteps` points on
/// `linspace(0, tlim, n)` from the system's default initial condition.
pub fn simulate(spec: &DatasetSpec, progress: &dyn Fn(f64)) -> Result<Trajectory, DataError> {
    let system = spec.system.system();
    let n = spec.n_points();
    let times = linspace(0.0, spec.tlim(), n);
    match system {
        System::MackeyGlass(mg) => crate::mackey_glass::simulate(&mg, spec, &times, progress),
        _ => {
            let states = integrate(&system, &system.initial_condition(), &times, progress)?;
            let latent_info = if system.standardise_latents() {
                let (m, s) = column_mean_std(&states);
                LatentInfo {
                    standardised: true,
                    raw_mean: Some(m.to_vec()),
                    raw_std: Some(s.to_vec()),
                    description: "raw state z-scored per dimension over the trajectory".into(),
                }
            } else {
                LatentInfo {
                    standardised: false,
                    raw_mean: None,
                    raw_std: None,
                    description: "raw state".into(),
                }
            };
            Ok(Trajectory {
                times: Array1::from(times),
                states,
                latent_info,
                mackey_glass: None,
            })
        }
    }
}
