//! Backpropagation through a solve, step by step: the discrete adjoint of
//! the explicit Runge–Kutta steps the solver took.
//!
//! A recorded solve ([`solve_adaptive_recorded`], [`solve_fixed_recorded`])
//! runs the ordinary solver with a right-hand side that also returns what
//! its vector–Jacobian product will need (`R`: the evaluation's input and
//! hidden activations, say). [`Recording::backward`] then walks the accepted
//! steps in reverse and, for the loss's gradients at the output times,
//! returns the gradient with respect to the initial state, calling the
//! vector–Jacobian product once per stage that the step's result depends on
//! (a caller accumulates the parameters' gradients inside that closure).
//!
//! The step sizes are constants of the backward pass: the error control
//! that chose them carries no gradient, exactly as when autograd
//! differentiates the tensor backend (whose error norms are computed on
//! detached values). Which evaluation fed which stage is the solver's
//! business and stays in this crate.

use std::cell::RefCell;

use crate::solve::{solve_adaptive, solve_fixed, AcceptedStep};
use crate::{AdaptiveOptions, OdeError, OutputMode, Solution, State, Tableau};

/// What a recorded solve kept for its backward pass: every right-hand-side
/// evaluation's saved value, the accepted steps, and which output each step
/// landed on.
#[derive(Debug)]
pub struct Recording<R> {
    evals: Vec<R>,
    steps: Vec<AcceptedStep>,
    /// The output index each accepted step ends on (`None`: in between).
    lands: Vec<Option<usize>>,
    tableau: Tableau,
}

/// [`solve_adaptive`] with outputs that are step ends (the options must say
/// [`OutputMode::StepToOutputs`]), `f` returning `(f(t, y), saved)`; every
/// `saved` is kept for [`Recording::backward`].
pub fn solve_adaptive_recorded<S: State, R>(
    f: &dyn Fn(f64, &S) -> (S, R),
    y0: &S,
    t_eval: &[f64],
    tableau: &Tableau,
    opts: &AdaptiveOptions,
) -> Result<(Solution<S>, Recording<R>), OdeError> {
    if opts.output != OutputMode::StepToOutputs {
        return Err(OdeError::InvalidOptions {
            reason: "a recorded solve needs OutputMode::StepToOutputs: the backward pass \
                     goes through the steps, not through an interpolant"
                .into(),
        });
    }
    record(f, t_eval, tableau, |rhs| {
        solve_adaptive(rhs, y0, t_eval, tableau, opts)
    })
}

/// [`solve_fixed`] (`substeps` equal steps per output interval), `f`
/// returning `(f(t, y), saved)`; every `saved` is kept for
/// [`Recording::backward`].
pub fn solve_fixed_recorded<S: State, R>(
    f: &dyn Fn(f64, &S) -> (S, R),
    y0: &S,
    t_eval: &[f64],
    tableau: &Tableau,
    substeps: usize,
) -> Result<(Solution<S>, Recording<R>), OdeError> {
    record(f, t_eval, tableau, |rhs| {
        solve_fixed(rhs, y0, t_eval, tableau, substeps)
    })
}

/// A right-hand side that keeps what `f` saved at every evaluation.
struct Logged<'a, S, R> {
    f: &'a dyn Fn(f64, &S) -> (S, R),
    log: RefCell<Vec<R>>,
}

impl<S, R> crate::OdeFn<S> for Logged<'_, S, R> {
    fn rhs(&self, t: f64, y: &S) -> S {
        let (dy, saved) = (self.f)(t, y);
        self.log.borrow_mut().push(saved);
        dy
    }
}

/// Runs `solve` with a right-hand side that logs `f`'s saved values, and
/// matches the accepted steps to the outputs they end on.
fn record<S: State, R>(
    f: &dyn Fn(f64, &S) -> (S, R),
    t_eval: &[f64],
    tableau: &Tableau,
    solve: impl FnOnce(&Logged<'_, S, R>) -> Result<Solution<S>, OdeError>,
) -> Result<(Solution<S>, Recording<R>), OdeError> {
    let rhs = Logged {
        f,
        log: RefCell::new(Vec::new()),
    };
    let solution = solve(&rhs)?;
    let mut lands = vec![None; solution.accepted.len()];
    let mut next = 1;
    for (i, step) in solution.accepted.iter().enumerate() {
        if next < t_eval.len() && step.t_end == t_eval[next] {
            lands[i] = Some(next);
            next += 1;
        }
    }
    if next != t_eval.len() {
        return Err(OdeError::InvalidOptions {
            reason: format!(
                "the solve ended {} of {} output times on a step; a recorded solve needs all",
                next - 1,
                t_eval.len() - 1
            ),
        });
    }
    let recording = Recording {
        evals: rhs.log.into_inner(),
        steps: solution.accepted.clone(),
        lands,
        tableau: tableau.clone(),
    };
    Ok((solution, recording))
}

impl<R> Recording<R> {
    /// Right-hand-side evaluations the solve made (rejected steps included).
    pub fn evaluations(&self) -> usize {
        self.evals.len()
    }

    /// Accepted steps.
    pub fn steps(&self) -> usize {
        self.steps.len()
    }

    /// The gradient of a loss with respect to the initial state.
    ///
    /// `ybar` starts as a zero state of the solution's shape;
    /// `output_grad(k, ybar)` adds ∂loss/∂y(t_k) to `ybar` (called once per
    /// output, the last first, output 0 at the very end); `vjp(saved, v)`
    /// returns vᵀ ∂f/∂y at the evaluation that saved `saved` (and may
    /// accumulate the parameters' gradients vᵀ ∂f/∂θ on the side).
    ///
    /// A step y₁ = y₀ + h Σⱼ wⱼ kⱼ with stages kᵢ = f(Yᵢ),
    /// Yᵢ = y₀ + h Σ_{j<i} aᵢⱼ kⱼ (w = b, or the last row of `a` for FSAL
    /// methods, whose last stage is f(y₁) and belongs to the next step) is
    /// reversed as k̄ⱼ = h wⱼ ȳ₁, then for i from the last stage down
    /// Ȳᵢ = vjp(k̄ᵢ), k̄ⱼ += h aᵢⱼ Ȳᵢ (j < i), and ȳ₀ = ȳ₁ + Σᵢ Ȳᵢ.
    /// Stages whose k̄ is exactly zero are skipped.
    pub fn backward<S: State>(
        &self,
        mut ybar: S,
        mut output_grad: impl FnMut(usize, &mut S),
        mut vjp: impl FnMut(&R, &S) -> S,
    ) -> S {
        let tab = &self.tableau;
        let s = tab.stages();
        let (weights, stages): (&[f64], usize) = if tab.fsal {
            (&tab.a[s - 1], s - 1)
        } else {
            (&tab.b, s)
        };
        for (n, step) in self.steps.iter().enumerate().rev() {
            if let Some(k) = self.lands[n] {
                output_grad(k, &mut ybar);
            }
            let h = step.h;
            let mut kbar: Vec<S> = weights[..stages]
                .iter()
                .map(|&w| {
                    let mut k = ybar.clone_state();
                    k.scale(h * w);
                    k
                })
                .collect();
            let mut before = ybar.clone_state();
            for i in (0..stages).rev() {
                if kbar[i].is_zero() {
                    continue;
                }
                let stage_bar = vjp(&self.evals[step.stage_eval(i)], &kbar[i]);
                for (j, &aij) in tab.a[i].iter().enumerate() {
                    if aij != 0.0 {
                        kbar[j].axpy(h * aij, &stage_bar);
                    }
                }
                before.axpy(1.0, &stage_bar);
            }
            ybar = before;
        }
        output_grad(0, &mut ybar);
        ybar
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{array, Array1, Array2};

    use super::*;
    use crate::test_models::Lorenz;
    use crate::Method;

    fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
            .collect()
    }

    /// y' = A y: the vjp is Aᵀ v, and the gradient of Σₖ ⟨gₖ, y(tₖ)⟩ with
    /// respect to y₀ is Σₖ exp(Aᵀ tₖ) gₖ, which the solver's own steps
    /// reproduce to its accuracy.
    fn linear_case(method: Method, fixed: Option<usize>) -> (f64, usize) {
        let a = array![[-0.5, 2.0, 0.0], [-2.0, -0.5, 0.3], [0.1, 0.0, -1.0]];
        let y0 = array![1.0, -0.5, 0.25];
        let t = linspace(0.0, 1.5, 7);
        let g: Vec<Array1<f64>> = (0..t.len())
            .map(|k| array![1.0 + k as f64, -0.5, 0.1 * k as f64])
            .collect();
        let f = |_t: f64, y: &Array1<f64>| (a.dot(y), ());
        let tab = method.tableau();
        let (_, rec) = match fixed {
            Some(n) => solve_fixed_recorded(&f, &y0, &t, &tab, n).unwrap(),
            None => {
                let opts = AdaptiveOptions {
                    output: OutputMode::StepToOutputs,
                    ..AdaptiveOptions::with_tol(1e-10, 1e-10)
                };
                solve_adaptive_recorded(&f, &y0, &t, &tab, &opts).unwrap()
            }
        };
        let at = a.t().to_owned();
        let mut calls = 0;
        let grad = rec.backward(
            Array1::zeros(3),
            |k, ybar: &mut Array1<f64>| *ybar += &g[k],
            |_: &(), v: &Array1<f64>| {
                calls += 1;
                at.dot(v)
            },
        );
        // exp(Aᵀ t) by its series, to double precision for these t.
        let expm = |m: &Array2<f64>, t: f64| {
            let mut term = Array2::<f64>::eye(3);
            let mut sum = term.clone();
            for n in 1..60 {
                term = term.dot(m) * (t / n as f64);
                sum += &term;
            }
            sum
        };
        let want = t
            .iter()
            .zip(&g)
            .fold(Array1::zeros(3), |acc: Array1<f64>, (&tk, gk)| {
                acc + expm(&at, tk).dot(gk)
            });
        let err = (&grad - &want).iter().fold(0.0f64, |m, v| m.max(v.abs()));
        (err, calls)
    }

    #[test]
    fn the_adjoint_of_a_linear_solve_is_the_transposed_propagator() {
        for method in [Method::Tsit5, Method::Dopri5, Method::Dop853] {
            let (err, _) = linear_case(method, None);
            assert!(err < 1e-7, "{method} adaptive: error {err:e}");
        }
        for (method, n, tol) in [
            (Method::Rk4, 40, 1e-7),
            (Method::Tsit5, 20, 1e-8),
            (Method::Midpoint, 400, 1e-4),
        ] {
            let (err, _) = linear_case(method, Some(n));
            assert!(err < tol, "{method} fixed: error {err:e}");
        }
    }

    #[test]
    fn euler_backward_converges_at_first_order() {
        let (e1, _) = linear_case(Method::Euler, Some(200));
        let (e2, _) = linear_case(Method::Euler, Some(400));
        let ratio = e1 / e2;
        assert!((1.8..2.2).contains(&ratio), "error ratio {ratio} (want 2)");
    }

    /// For a nonlinear field the backward pass is the exact derivative of
    /// the discrete map the steps computed: compare with central finite
    /// differences of the same (fixed-step) solve.
    #[test]
    fn the_adjoint_is_the_derivative_of_the_discrete_solve() {
        let lorenz = Lorenz::study();
        let jac = |y: &Array1<f64>| {
            let (s, r, b) = (lorenz.sigma, lorenz.rho, lorenz.beta);
            array![[-s, s, 0.0], [r - y[2], -1.0, -y[0]], [y[1], y[0], -b]]
        };
        let t = linspace(0.0, 0.3, 4);
        let g = [
            array![0.0, 0.0, 0.0],
            array![0.3, -1.0, 0.5],
            array![1.0, 0.2, 0.0],
            array![-0.4, 0.1, 1.0],
        ];
        for method in [Method::Rk4, Method::Tsit5, Method::Midpoint] {
            let tab = method.tableau();
            let loss = |y0: &Array1<f64>| {
                let f = |t: f64, y: &Array1<f64>| crate::OdeFn::rhs(&lorenz, t, y);
                let sol = solve_fixed(&f, y0, &t, &tab, 10).unwrap();
                sol.y.iter().zip(&g).map(|(y, gk)| y.dot(gk)).sum::<f64>()
            };
            let y0 = array![1.0, 2.0, 20.0];
            let f = |t: f64, y: &Array1<f64>| (crate::OdeFn::rhs(&lorenz, t, y), y.clone());
            let (_, rec) = solve_fixed_recorded(&f, &y0, &t, &tab, 10).unwrap();
            let grad = rec.backward(
                Array1::zeros(3),
                |k, ybar: &mut Array1<f64>| *ybar += &g[k],
                |y: &Array1<f64>, v: &Array1<f64>| jac(y).t().dot(v),
            );
            for i in 0..3 {
                let eps = 1e-5;
                let mut up = y0.clone();
                up[i] += eps;
                let mut down = y0.clone();
                down[i] -= eps;
                let fd = (loss(&up) - loss(&down)) / (2.0 * eps);
                let rel = (grad[i] - fd).abs() / fd.abs().max(1.0);
                assert!(rel < 1e-6, "{method} ∂/∂y0[{i}]: {} vs {fd}", grad[i]);
            }
        }
    }

    /// The bookkeeping behind the adjoint: steps are contiguous, each step's
    /// last FSAL stage is the state it lands on, and stage 0 of a step is
    /// the evaluation at its start.
    #[test]
    fn recorded_evaluations_belong_to_their_stages() {
        let lorenz = Lorenz::study();
        let y0 = array![1.0, 1.0, 1.0];
        let t = linspace(0.0, 2.0, 21);
        let f = |t: f64, y: &Array1<f64>| (crate::OdeFn::rhs(&lorenz, t, y), y.clone());
        let opts = AdaptiveOptions {
            output: OutputMode::StepToOutputs,
            ..AdaptiveOptions::with_tol(1e-6, 1e-6)
        };
        for method in [Method::Tsit5, Method::Dopri5, Method::Dop853] {
            let tab = method.tableau();
            let (sol, rec) = solve_adaptive_recorded(&f, &y0, &t, &tab, &opts).unwrap();
            assert_eq!(rec.evaluations(), sol.stats.n_rhs, "{method}");
            assert_eq!(rec.steps(), sol.stats.n_accepted, "{method}");
            assert_eq!(sol.accepted[0].t, 0.0);
            assert_eq!(sol.accepted.last().unwrap().t_end, 2.0);
            let mut checked = 0;
            for (n, st) in sol.accepted.iter().enumerate() {
                assert!((st.t + st.h - st.t_end).abs() < 1e-12);
                if n > 0 {
                    assert_eq!(sol.accepted[n - 1].t_end, st.t, "steps are contiguous");
                }
                // Stage 0 saw the step's starting state, where it is known.
                let start = match n {
                    0 => Some(&y0),
                    _ => rec.lands[n - 1].map(|k| &sol.y[k]),
                };
                if let Some(start) = start {
                    assert_eq!(&rec.evals[st.stage_eval(0)], start, "{method} step {n}");
                    checked += 1;
                }
            }
            assert_eq!(checked, t.len() - 1, "{method}");
            assert!(rec.lands.iter().flatten().copied().eq(1..t.len()));
        }
        let (sol, rec) = solve_fixed_recorded(&f, &y0, &t, &Method::Rk4.tableau(), 3).unwrap();
        assert_eq!(sol.accepted.len(), 20 * 3);
        assert!(sol.accepted.iter().all(|s| (s.h - 0.1 / 3.0).abs() < 1e-15));
        // RK4 is not FSAL: every step evaluates its own stage 0, at its start.
        for (n, st) in sol.accepted.iter().enumerate() {
            if n > 0 {
                assert_eq!(st.stage_eval(0), sol.accepted[n - 1].rhs_before + 3);
            }
        }
        assert_eq!(rec.evaluations(), 60 * 4);
    }

    #[test]
    fn interpolated_outputs_cannot_be_recorded() {
        let f = |_t: f64, y: &Array1<f64>| (-y, ());
        let y0 = array![1.0];
        let opts = AdaptiveOptions::with_tol(1e-6, 1e-6);
        let err = solve_adaptive_recorded(&f, &y0, &[0.0, 1.0], &Method::Tsit5.tableau(), &opts)
            .unwrap_err();
        assert!(err.to_string().contains("StepToOutputs"), "{err}");
    }
}
