//! Fixed- and adaptive-step drivers, the shared Runge–Kutta step, and dense output.

use crate::tableau::{DenseOutput, ErrorEstimator, Tableau};
use crate::{OdeError, State};

/// The problem: a right-hand side `dy/dt = f(t, y)`.
pub trait OdeFn<S> {
    /// Evaluate `f(t, y)`.
    fn rhs(&self, t: f64, y: &S) -> S;
}

impl<S, F: Fn(f64, &S) -> S> OdeFn<S> for F {
    fn rhs(&self, t: f64, y: &S) -> S {
        self(t, y)
    }
}

/// How [`solve_adaptive`] produces values at the output times (in configs:
/// `interpolate`, `step-to-outputs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum OutputMode {
    /// Step freely and evaluate the method's dense output at the output times
    /// (an output that coincides with a step end takes the step's value).
    #[default]
    Interpolate,
    /// Clip every step so that it lands exactly on the next output time, as
    /// torchdyn does; no interpolation (every output is a step result).
    StepToOutputs,
}

/// Options for adaptive step-size control (Hairer, Nørsett & Wanner,
/// *Solving ODEs I*, II.4).
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveOptions {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Initial step; `None` selects it as Hairer's `hinit` does (one extra right-hand-side evaluation).
    pub h0: Option<f64>,
    /// Budget of attempted steps (accepted plus rejected).
    pub max_steps: usize,
    /// Smallest allowed step (in addition to the `16 ε |t|` round-off floor).
    pub h_min: f64,
    /// Safety factor of the step-size update.
    pub safety: f64,
    /// Smallest step-size ratio per update.
    pub fac_min: f64,
    /// Largest step-size ratio per update.
    pub fac_max: f64,
    /// How output values are produced.
    pub output: OutputMode,
}

impl Default for AdaptiveOptions {
    /// rtol 1e-6, atol 1e-9, automatic h0, 1 000 000 steps, no h_min,
    /// safety 0.9, factors in [0.2, 10], dense output.
    fn default() -> Self {
        AdaptiveOptions {
            rtol: 1e-6,
            atol: 1e-9,
            h0: None,
            max_steps: 1_000_000,
            h_min: 0.0,
            safety: 0.9,
            fac_min: 0.2,
            fac_max: 10.0,
            output: OutputMode::Interpolate,
        }
    }
}

impl AdaptiveOptions {
    /// Options with the given tolerances and every other field at its default.
    pub fn with_tol(rtol: f64, atol: f64) -> Self {
        AdaptiveOptions {
            rtol,
            atol,
            ..Default::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), OdeError> {
        let bad = |reason: String| Err(OdeError::InvalidOptions { reason });
        if !(self.rtol.is_finite() && self.rtol >= 0.0 && self.atol.is_finite() && self.atol >= 0.0)
        {
            return bad(format!(
                "tolerances must be finite and >= 0 (rtol = {}, atol = {})",
                self.rtol, self.atol
            ));
        }
        if self.rtol == 0.0 && self.atol == 0.0 {
            return bad("rtol and atol are both 0".into());
        }
        if let Some(h0) = self.h0 {
            if !(h0.is_finite() && h0 > 0.0) {
                return bad(format!("h0 must be finite and > 0, got {h0}"));
            }
        }
        if !(self.h_min.is_finite() && self.h_min >= 0.0) {
            return bad(format!("h_min must be finite and >= 0, got {}", self.h_min));
        }
        if !(self.safety > 0.0 && self.safety <= 1.0) {
            return bad(format!("safety must lie in (0, 1], got {}", self.safety));
        }
        if !(self.fac_min > 0.0
            && self.fac_min <= 1.0
            && self.fac_max >= 1.0
            && self.fac_max.is_finite())
        {
            return bad(format!(
                "need 0 < fac_min <= 1 <= fac_max < inf, got fac_min = {}, fac_max = {}",
                self.fac_min, self.fac_max
            ));
        }
        if self.max_steps == 0 {
            return bad("max_steps must be > 0".into());
        }
        Ok(())
    }
}

/// Counters of one solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SolverStats {
    /// Right-hand-side evaluations.
    pub n_rhs: usize,
    /// Accepted steps.
    pub n_accepted: usize,
    /// Rejected steps.
    pub n_rejected: usize,
}

/// One accepted step: from `t` by `h`, ending exactly at `t_end` (which
/// may differ from `t + h` by rounding when the step lands on an output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AcceptedStep {
    /// Start time.
    pub t: f64,
    /// Step size used by the stages.
    pub h: f64,
    /// End time as the solver recorded it.
    pub t_end: f64,
    /// Right-hand-side evaluations made before this step's stages: stage
    /// `j ≥ 1` was evaluation number `rhs_before + j − 1` (counting from 0).
    pub(crate) rhs_before: usize,
    /// The evaluation that gave stage 0, f at the step's start: for FSAL
    /// methods the previous accepted step's last stage (the first step:
    /// evaluation 0).
    pub(crate) stage0: usize,
}

impl AcceptedStep {
    /// The evaluation number (counting from 0) of stage `i` of this step.
    pub(crate) fn stage_eval(&self, i: usize) -> usize {
        if i == 0 {
            self.stage0
        } else {
            self.rhs_before + i - 1
        }
    }
}

/// The result of a solve: the states at the requested times.
#[derive(Debug)]
pub struct Solution<S> {
    /// Output times (a copy of `t_eval`).
    pub t: Vec<f64>,
    /// States at `t`; `y[0]` is the initial state.
    pub y: Vec<S>,
    /// Work counters.
    pub stats: SolverStats,
    /// Every accepted step, in order: with them a caller can replay the
    /// solve with fixed steps (for example, to backpropagate through it by
    /// hand; the step sizes depend on the state only through the error
    /// control, which carries no gradient).
    pub accepted: Vec<AcceptedStep>,
}

pub(crate) fn validate_times(t_eval: &[f64]) -> Result<(), OdeError> {
    if t_eval.is_empty() {
        return Err(OdeError::InvalidTimes {
            reason: "t_eval is empty (t_eval[0] must be the start time)".into(),
        });
    }
    if let Some((i, t)) = t_eval.iter().enumerate().find(|(_, t)| !t.is_finite()) {
        return Err(OdeError::InvalidTimes {
            reason: format!("t_eval[{i}] = {t} is not finite"),
        });
    }
    if let Some(i) = (1..t_eval.len()).find(|&i| t_eval[i] <= t_eval[i - 1]) {
        return Err(OdeError::InvalidTimes {
            reason: format!(
                "t_eval must be strictly increasing, but t_eval[{}] = {} <= t_eval[{}] = {}",
                i,
                t_eval[i],
                i - 1,
                t_eval[i - 1]
            ),
        });
    }
    Ok(())
}

/// Stage buffers of one Runge–Kutta step, reused from step to step.
pub(crate) struct Work<S> {
    /// Stage derivatives; `k[0]` is `f(t, y)` at the step start.
    pub k: Vec<S>,
    /// Stage argument buffer.
    pub ytmp: S,
    /// The new state of the last computed step.
    pub y1: S,
    /// Error buffer.
    pub err: S,
    /// Second error buffer (DOP853).
    pub err2: S,
}

impl<S: State> Work<S> {
    pub fn new(tab: &Tableau, y0: &S, f0: S) -> Self {
        let mut k = Vec::with_capacity(tab.stages());
        k.push(f0);
        for _ in 1..tab.stages() {
            k.push(y0.zeros_like());
        }
        Work {
            k,
            ytmp: y0.clone_state(),
            y1: y0.clone_state(),
            err: y0.zeros_like(),
            err2: y0.zeros_like(),
        }
    }
}

/// One Runge–Kutta step from `(t, y)` with `work.k[0] == f(t, y)`; leaves the
/// new state in `work.y1` and, for FSAL methods, `f(t + h, y1)` in the last stage.
pub(crate) fn rk_step<S: State>(
    tab: &Tableau,
    f: &mut dyn FnMut(f64, &S) -> S,
    t: f64,
    y: &S,
    h: f64,
    work: &mut Work<S>,
    n_rhs: &mut usize,
) {
    let s = tab.stages();
    for i in 1..s {
        work.ytmp.copy_from(y);
        for (j, &aij) in tab.a[i].iter().enumerate() {
            if aij != 0.0 {
                work.ytmp.axpy(h * aij, &work.k[j]);
            }
        }
        work.k[i] = f(t + tab.c[i] * h, &work.ytmp);
        *n_rhs += 1;
    }
    if tab.fsal {
        // The last stage's argument is the new state.
        std::mem::swap(&mut work.y1, &mut work.ytmp);
    } else {
        work.y1.copy_from(y);
        for (j, &bj) in tab.b.iter().enumerate() {
            if bj != 0.0 {
                work.y1.axpy(h * bj, &work.k[j]);
            }
        }
    }
}

fn weighted_sum<S: State>(out: &mut S, w: &[f64], h: f64, k: &[S]) {
    let mut first = true;
    for (j, &wj) in w.iter().enumerate() {
        if wj == 0.0 {
            continue;
        }
        if first {
            out.copy_from(&k[j]);
            out.scale(h * wj);
            first = false;
        } else {
            out.axpy(h * wj, &k[j]);
        }
    }
    if first {
        *out = k[0].zeros_like();
    }
}

/// Scaled error of the step just computed (≤ 1 means accept).
pub(crate) fn step_error<S: State>(
    tab: &Tableau,
    y: &S,
    h: f64,
    work: &mut Work<S>,
    rtol: f64,
    atol: f64,
) -> f64 {
    match &tab.error {
        ErrorEstimator::None => 0.0,
        ErrorEstimator::Embedded { e } => {
            weighted_sum(&mut work.err, e, h, &work.k);
            S::error_norm(&work.err, y, &work.y1, rtol, atol)
        }
        ErrorEstimator::Dop853 { e3, e5 } => {
            weighted_sum(&mut work.err, e5, h, &work.k);
            weighted_sum(&mut work.err2, e3, h, &work.k);
            let r5 = S::error_norm(&work.err, y, &work.y1, rtol, atol);
            let r3 = S::error_norm(&work.err2, y, &work.y1, rtol, atol);
            let deno = r5 * r5 + 0.01 * r3 * r3;
            if deno > 0.0 {
                r5 * r5 / deno.sqrt()
            } else if deno == 0.0 {
                0.0
            } else {
                f64::NAN
            }
        }
    }
}

/// The interpolant of one accepted step: `y(t0 + θh)` as a nested polynomial in θ.
#[derive(Debug)]
pub(crate) struct DenseStep<S> {
    pub t0: f64,
    pub h: f64,
    /// `true`: Hairer's alternating θ / (1-θ) nesting (DOP853); `false`: plain powers of θ.
    alternating: bool,
    coeffs: Vec<S>,
}

impl<S: State> DenseStep<S> {
    pub fn t1(&self) -> f64 {
        self.t0 + self.h
    }

    pub fn eval(&self, t: f64) -> S {
        let th = (t - self.t0) / self.h;
        let th1 = 1.0 - th;
        let m = self.coeffs.len() - 1;
        let mut y = self.coeffs[m].clone_state();
        for k in (1..=m).rev() {
            let mult = if self.alternating && k % 2 == 0 {
                th1
            } else {
                th
            };
            y.scale(mult);
            y.axpy(1.0, &self.coeffs[k - 1]);
        }
        y
    }
}

/// Build the interpolant of the step `(t, y) -> (t + h, work.y1)`. Needs the
/// stages of that step (for FSAL methods including `f(t+h, y1)`); DOP853
/// spends three extra right-hand-side evaluations.
pub(crate) fn build_dense<S: State>(
    tab: &Tableau,
    f: &mut dyn FnMut(f64, &S) -> S,
    t: f64,
    y: &S,
    h: f64,
    work: &mut Work<S>,
    n_rhs: &mut usize,
) -> Option<DenseStep<S>> {
    match &tab.dense {
        DenseOutput::None => None,
        DenseOutput::Polynomial { p } => {
            let powers = p[0].len();
            let mut coeffs = Vec::with_capacity(powers + 1);
            coeffs.push(y.clone_state());
            let mut w = vec![0.0; p.len()];
            for m in 0..powers {
                for (i, row) in p.iter().enumerate() {
                    w[i] = row[m];
                }
                let mut c = y.zeros_like();
                weighted_sum(&mut c, &w, h, &work.k);
                coeffs.push(c);
            }
            Some(DenseStep {
                t0: t,
                h,
                alternating: false,
                coeffs,
            })
        }
        DenseOutput::Dop853 { c, a, d } => {
            let s = tab.stages();
            let mut ks: Vec<S> = Vec::with_capacity(s + c.len());
            for k in &work.k {
                ks.push(k.clone_state());
            }
            for (ci, row) in c.iter().zip(a) {
                let mut arg = y.clone_state();
                for (j, &aij) in row.iter().enumerate() {
                    if aij != 0.0 {
                        arg.axpy(h * aij, &ks[j]);
                    }
                }
                ks.push(f(t + ci * h, &arg));
                *n_rhs += 1;
            }
            let mut r1 = work.y1.clone_state();
            r1.axpy(-1.0, y);
            let mut r2 = ks[0].clone_state();
            r2.scale(h);
            r2.axpy(-1.0, &r1);
            let mut r3 = r1.clone_state();
            r3.axpy(-h, &ks[s - 1]);
            r3.axpy(-1.0, &r2);
            let mut coeffs = vec![y.clone_state(), r1, r2, r3];
            for row in d {
                let mut r = y.zeros_like();
                weighted_sum(&mut r, row, h, &ks);
                coeffs.push(r);
            }
            Some(DenseStep {
                t0: t,
                h,
                alternating: true,
                coeffs,
            })
        }
    }
}

fn check_rhs<S: State>(y: &S, f: &S, t: f64) -> Result<(), OdeError> {
    y.check_compatible(f)
        .map_err(|reason| OdeError::ShapeMismatch { t, reason })?;
    if !f.all_finite() {
        return Err(OdeError::NonFinite { t });
    }
    Ok(())
}

/// Fixed step: `substeps` equal steps per output interval, outputs at every
/// `t` in `t_eval` (`t_eval[0]` is the start time; `y[0] = y0`).
///
/// Works with every tableau; FSAL methods reuse their last stage, so Tsit5
/// costs `1 + 6 · steps` evaluations.
pub fn solve_fixed<S: State, F: OdeFn<S>>(
    f: &F,
    y0: &S,
    t_eval: &[f64],
    tableau: &Tableau,
    substeps: usize,
) -> Result<Solution<S>, OdeError> {
    validate_times(t_eval)?;
    if substeps == 0 {
        return Err(OdeError::InvalidOptions {
            reason: "substeps must be >= 1".into(),
        });
    }
    let t0 = t_eval[0];
    if !y0.all_finite() {
        return Err(OdeError::NonFinite { t: t0 });
    }
    let mut stats = SolverStats::default();
    let mut ys = Vec::with_capacity(t_eval.len());
    ys.push(y0.clone_state());
    if t_eval.len() == 1 {
        return Ok(Solution {
            t: t_eval.to_vec(),
            y: ys,
            stats,
            accepted: Vec::new(),
        });
    }
    let mut rhs = |t: f64, y: &S| f.rhs(t, y);
    let f0 = rhs(t0, y0);
    stats.n_rhs += 1;
    check_rhs(y0, &f0, t0)?;
    let mut work = Work::new(tableau, y0, f0);
    let mut y = y0.clone_state();
    let mut t = t0;
    let mut k0_valid = true;
    let mut stage0 = 0;
    let mut accepted = Vec::with_capacity((t_eval.len() - 1) * substeps);
    for w in t_eval.windows(2) {
        let h = (w[1] - w[0]) / substeps as f64;
        for n in 0..substeps {
            if !k0_valid {
                stage0 = stats.n_rhs;
                work.k[0] = rhs(t, &y);
                stats.n_rhs += 1;
            }
            let rhs_before = stats.n_rhs;
            rk_step(tableau, &mut rhs, t, &y, h, &mut work, &mut stats.n_rhs);
            let t_start = t;
            t = if n + 1 == substeps {
                w[1]
            } else {
                w[0] + (n + 1) as f64 * h
            };
            accepted.push(AcceptedStep {
                t: t_start,
                h,
                t_end: t,
                rhs_before,
                stage0,
            });
            std::mem::swap(&mut y, &mut work.y1);
            if !y.all_finite() {
                return Err(OdeError::NonFinite { t });
            }
            stats.n_accepted += 1;
            if tableau.fsal {
                let last = work.k.len() - 1;
                work.k.swap(0, last);
                stage0 = rhs_before + last - 1;
                k0_valid = true;
            } else {
                k0_valid = false;
            }
        }
        ys.push(y.clone_state());
    }
    Ok(Solution {
        t: t_eval.to_vec(),
        y: ys,
        stats,
        accepted,
    })
}

/// Hairer's initial step (`hinit` of DOPRI5/DOP853): one extra evaluation.
pub(crate) fn initial_step<S: State>(
    f: &mut dyn FnMut(f64, &S) -> S,
    t0: f64,
    y0: &S,
    f0: &S,
    order: usize,
    rtol: f64,
    atol: f64,
    h_max: f64,
    n_rhs: &mut usize,
) -> f64 {
    let dnf = S::error_norm(f0, y0, y0, rtol, atol);
    let dny = S::error_norm(y0, y0, y0, rtol, atol);
    let mut h = if dnf <= 1e-5 || dny <= 1e-5 {
        1e-6
    } else {
        0.01 * dny / dnf
    };
    h = h.min(h_max);
    let mut y1 = y0.clone_state();
    y1.axpy(h, f0);
    let mut f1 = f(t0 + h, &y1);
    *n_rhs += 1;
    f1.axpy(-1.0, f0);
    let der2 = S::error_norm(&f1, y0, y0, rtol, atol) / h;
    let der12 = der2.max(dnf);
    let h1 = if der12 <= 1e-15 || !der12.is_finite() {
        (h * 1e-3).max(1e-6)
    } else {
        (0.01 / der12).powf(1.0 / order as f64)
    };
    (100.0 * h).min(h1).min(h_max)
}

/// The step-size update `h · clamp(safety · err^(-1/(q+1)), fac_min, fac_max)`.
pub(crate) fn next_step(opts: &AdaptiveOptions, q: usize, h: f64, err: f64, fac_max: f64) -> f64 {
    let fac = if err == 0.0 {
        fac_max
    } else {
        opts.safety * err.powf(-1.0 / (q as f64 + 1.0))
    };
    h * fac.clamp(opts.fac_min, fac_max)
}

/// Adaptive step (error control as in Hairer–Nørsett–Wanner; initial step
/// as Hairer's `hinit` when `opts.h0` is `None`), outputs at `t_eval`.
///
/// With [`OutputMode::StepToOutputs`] every step is clipped to land on the
/// next output time (torchdyn's behaviour); with
/// [`OutputMode::Interpolate`] the method's dense output fills in the
/// outputs inside a step. The step-size controller never grows a step right
/// after a rejection. Errors: [`OdeError::NotAdaptive`],
/// [`OdeError::NonFinite`], [`OdeError::StepSizeUnderflow`],
/// [`OdeError::MaxStepsExceeded`], [`OdeError::InvalidTimes`],
/// [`OdeError::InvalidOptions`].
pub fn solve_adaptive<S: State, F: OdeFn<S>>(
    f: &F,
    y0: &S,
    t_eval: &[f64],
    tableau: &Tableau,
    opts: &AdaptiveOptions,
) -> Result<Solution<S>, OdeError> {
    let mut rhs = |t: f64, y: &S| f.rhs(t, y);
    integrate(
        &mut rhs,
        y0,
        t_eval,
        tableau,
        opts,
        f64::INFINITY,
        &[],
        &mut |_| {},
        false,
    )
}

/// The adaptive driver shared by [`solve_adaptive`] and the delay solver:
/// `h_max` caps the step, `breakpoints` (increasing) are landed on exactly,
/// and with `always_dense` every accepted step's interpolant goes to `on_accept`.
pub(crate) fn integrate<S: State>(
    rhs: &mut dyn FnMut(f64, &S) -> S,
    y0: &S,
    t_eval: &[f64],
    tableau: &Tableau,
    opts: &AdaptiveOptions,
    h_max: f64,
    breakpoints: &[f64],
    on_accept: &mut dyn FnMut(DenseStep<S>),
    always_dense: bool,
) -> Result<Solution<S>, OdeError> {
    if !tableau.is_adaptive() {
        return Err(OdeError::NotAdaptive {
            method: tableau.name().to_string(),
        });
    }
    validate_times(t_eval)?;
    opts.validate()?;
    let t0 = t_eval[0];
    let t_end = t_eval[t_eval.len() - 1];
    if !y0.all_finite() {
        return Err(OdeError::NonFinite { t: t0 });
    }
    let mut stats = SolverStats::default();
    let mut ys = Vec::with_capacity(t_eval.len());
    ys.push(y0.clone_state());
    if t_eval.len() == 1 {
        return Ok(Solution {
            t: t_eval.to_vec(),
            y: ys,
            stats,
            accepted: Vec::new(),
        });
    }
    let f0 = rhs(t0, y0);
    stats.n_rhs += 1;
    check_rhs(y0, &f0, t0)?;
    let span = t_end - t0;
    let h_cap = h_max.min(span);
    let mut h = match opts.h0 {
        Some(h0) => h0.min(h_cap),
        None => initial_step(
            rhs,
            t0,
            y0,
            &f0,
            tableau.order,
            opts.rtol,
            opts.atol,
            h_cap,
            &mut stats.n_rhs,
        ),
    };
    let mut work = Work::new(tableau, y0, f0);
    let mut y = y0.clone_state();
    let mut t = t0;
    let mut out = 1;
    let mut bp = breakpoints
        .iter()
        .position(|&b| b > t0)
        .unwrap_or(breakpoints.len());
    let mut last_rejected = false;
    let mut accepted = Vec::new();
    // f0 was evaluation 0.
    let mut stage0 = 0;
    let q = tableau.controller_order;
    let mut steps = 0usize;
    let mode = opts.output;
    while out < t_eval.len() {
        if steps >= opts.max_steps {
            return Err(OdeError::MaxStepsExceeded {
                t,
                max_steps: opts.max_steps,
            });
        }
        // The next point the step must not cross.
        let mut target = t_end;
        if mode == OutputMode::StepToOutputs {
            target = t_eval[out];
        }
        while bp < breakpoints.len() && breakpoints[bp] <= t {
            bp += 1;
        }
        if bp < breakpoints.len() && breakpoints[bp] < target {
            target = breakpoints[bp];
        }
        let mut h_try = h.min(h_max);
        let mut lands = false;
        if t + 1.01 * h_try >= target {
            h_try = target - t;
            lands = true;
        }
        if !(h_try.is_finite()) || h_try < opts.h_min.max(16.0 * f64::EPSILON * t.abs().max(1e-300))
        {
            return Err(OdeError::StepSizeUnderflow { t, h: h_try });
        }
        let rhs_before = stats.n_rhs;
        rk_step(tableau, rhs, t, &y, h_try, &mut work, &mut stats.n_rhs);
        steps += 1;
        let err = step_error(tableau, &y, h_try, &mut work, opts.rtol, opts.atol);
        if err.is_finite() && err <= 1.0 {
            stats.n_accepted += 1;
            let fac_max = if last_rejected { 1.0 } else { opts.fac_max };
            let h_new = next_step(opts, q, h_try, err, fac_max);
            let t1 = if lands { target } else { t + h_try };
            if !work.y1.all_finite() {
                return Err(OdeError::NonFinite { t: t1 });
            }
            accepted.push(AcceptedStep {
                t,
                h: h_try,
                t_end: t1,
                rhs_before,
                stage0,
            });
            let needs_interp = out < t_eval.len() && t_eval[out] < t1;
            if needs_interp || always_dense {
                if let Some(dense) =
                    build_dense(tableau, rhs, t, &y, h_try, &mut work, &mut stats.n_rhs)
                {
                    while out < t_eval.len() && t_eval[out] < t1 {
                        ys.push(dense.eval(t_eval[out]));
                        out += 1;
                    }
                    if always_dense {
                        on_accept(dense);
                    }
                }
            }
            if out < t_eval.len() && t_eval[out] == t1 {
                ys.push(work.y1.clone_state());
                out += 1;
            }
            t = t1;
            std::mem::swap(&mut y, &mut work.y1);
            if tableau.fsal {
                let last = work.k.len() - 1;
                work.k.swap(0, last);
                stage0 = rhs_before + last - 1;
            } else {
                stage0 = stats.n_rhs;
                work.k[0] = rhs(t, &y);
                stats.n_rhs += 1;
            }
            h = h_new;
            last_rejected = false;
        } else {
            stats.n_rejected += 1;
            let e = if err.is_finite() { err } else { f64::INFINITY };
            h = if e.is_infinite() {
                h_try * opts.fac_min
            } else {
                next_step(opts, q, h_try, e, 1.0)
            };
            last_rejected = true;
        }
    }
    Ok(Solution {
        t: t_eval.to_vec(),
        y: ys,
        stats,
        accepted,
    })
}
