//! Delay-differential equations with constant delays, by the method of steps.
//!
//! `x'(t) = f(t, x(t), [x(t - τ_1), …, x(t - τ_m)])` for `t ≥ t0`, with a
//! history function giving `x` on `[t0 - max τ, t0]`. The adaptive
//! Runge–Kutta driver of [`crate::solve_adaptive`] advances the solution;
//! every accepted step keeps its interpolant, so a delayed value inside the
//! computed solution is read from the dense output of the step containing it
//! (and from the history function before `t0`). Steps are capped at the
//! smallest delay, which keeps the scheme explicit (every delayed argument
//! lies in an already accepted step), and land exactly on the breaking
//! points `t0 + k τ_i`, where the solution's derivatives may jump, so no
//! step straddles a low-order discontinuity. Only steps still reachable
//! (within `max τ` of the current time) are kept in memory.

use std::cell::RefCell;
use std::collections::VecDeque;

use crate::solve::{integrate, DenseStep};
use crate::{AdaptiveOptions, OdeError, Solution, State, Tableau};

/// A delay-differential problem with constant delays.
pub struct DdeProblem<F, H> {
    /// Right-hand side `f(t, x(t), delayed)`, `delayed[i] = x(t - delays[i])`.
    pub rhs: F,
    /// History `x(t)` for `t ≤ t0` (also gives the initial state `x(t0)`).
    pub history: H,
    /// The constant delays, each finite and `> 0`.
    pub delays: Vec<f64>,
}

/// Options of [`solve_dde`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DdeOptions {
    /// Step-size control (the output mode is ignored: outputs are interpolated).
    pub solver: AdaptiveOptions,
    /// Land on the breaking points `t0 + k τ_i` for `k = 1..=depth`; `None`
    /// (default) lands on every one inside the integration interval.
    pub breakpoint_depth: Option<usize>,
}

/// Integrate a delay-differential equation by the method of steps; outputs at
/// `t_eval` (`t_eval[0]` is `t0`, `y[0] = history(t0)`).
///
/// `tableau` must be adaptive and have dense output (Dopri5, Tsit5, DOP853).
/// The interpolant order bounds the global accuracy (4 for Dopri5/Tsit5, 7
/// for DOP853), since delayed values come from it.
pub fn solve_dde<S, F, H>(
    problem: &DdeProblem<F, H>,
    t_eval: &[f64],
    tableau: &Tableau,
    opts: &DdeOptions,
) -> Result<Solution<S>, OdeError>
where
    S: State,
    F: Fn(f64, &S, &[S]) -> S,
    H: Fn(f64) -> S,
{
    if !tableau.is_adaptive() {
        return Err(OdeError::NotAdaptive {
            method: tableau.name().to_string(),
        });
    }
    if !tableau.has_dense_output() {
        return Err(OdeError::InvalidOptions {
            reason: format!(
                "method `{}` has no dense output, which the delay solver needs",
                tableau.name()
            ),
        });
    }
    if problem.delays.is_empty() {
        return Err(OdeError::InvalidOptions {
            reason: "at least one delay is required".into(),
        });
    }
    if let Some(tau) = problem
        .delays
        .iter()
        .find(|d| !(d.is_finite() && **d > 0.0))
    {
        return Err(OdeError::InvalidOptions {
            reason: format!("delays must be finite and > 0, got {tau}"),
        });
    }
    crate::solve::validate_times(t_eval)?;
    let t0 = t_eval[0];
    let t_end = t_eval[t_eval.len() - 1];
    let tau_min = problem.delays.iter().cloned().fold(f64::INFINITY, f64::min);
    let tau_max = problem.delays.iter().cloned().fold(0.0, f64::max);

    let mut breakpoints = Vec::new();
    for &tau in &problem.delays {
        let mut k = 1usize;
        while t0 + k as f64 * tau < t_end && opts.breakpoint_depth.is_none_or(|d| k <= d) {
            breakpoints.push(t0 + k as f64 * tau);
            k += 1;
        }
    }
    breakpoints.sort_by(f64::total_cmp);
    breakpoints.dedup();

    let y0 = (problem.history)(t0);
    let steps: RefCell<VecDeque<DenseStep<S>>> = RefCell::new(VecDeque::new());
    let lookup = |s: f64| -> S {
        if s <= t0 {
            return (problem.history)(s);
        }
        let steps = steps.borrow();
        let i = steps.partition_point(|st| st.t1() < s);
        match steps.get(i).or_else(|| steps.back()) {
            Some(st) => st.eval(s),
            // Unreachable while steps are capped at the smallest delay.
            None => (problem.history)(t0),
        }
    };
    let mut rhs = |t: f64, y: &S| -> S {
        let delayed: Vec<S> = problem.delays.iter().map(|tau| lookup(t - tau)).collect();
        (problem.rhs)(t, y, &delayed)
    };
    let mut on_accept = |dense: DenseStep<S>| {
        let mut steps = steps.borrow_mut();
        let keep_from = dense.t0 - tau_max;
        steps.push_back(dense);
        while steps.front().is_some_and(|st| st.t1() < keep_from) {
            steps.pop_front();
        }
    };
    let mut solver = opts.solver.clone();
    solver.output = crate::OutputMode::Interpolate;
    integrate(
        &mut rhs,
        &y0,
        t_eval,
        tableau,
        &solver,
        tau_min,
        &breakpoints,
        &mut on_accept,
        true,
    )
}
