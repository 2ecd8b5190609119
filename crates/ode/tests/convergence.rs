//! Observed order of every method by step halving, and dense-output order.

use latentdyn_ode::test_models::{GaussianDecay, Lorenz, RotatingDecay};
use latentdyn_ode::{
    solve_adaptive, solve_fixed, AdaptiveOptions, Method, OdeFn, OutputMode, Tableau,
};
use ndarray::{array, Array1};
use proptest::prelude::*;

/// Error at T = 1.5 of `n` fixed steps. Each method is measured on the
/// problem where its leading error term dominates soonest: Tsit5 and Dopri5
/// are tuned for tiny principal error constants, so on small linear or
/// scalar problems their sixth-order terms dominate until round-off; on
/// Lorenz their fifth order shows cleanly. The others use the
/// non-autonomous y' = -2ty together with the rotating decay.
fn fixed_error(m: Method, y0: &Array1<f64>, n: usize) -> f64 {
    let t = [0.0, 1.5];
    let tab = m.tableau();
    let max_abs = |a: Array1<f64>| a.iter().fold(0.0f64, |acc, v| acc.max(v.abs()));
    match m {
        Method::Tsit5 | Method::Dopri5 => {
            // Lorenz from a perturbed dysts initial condition, T = 0.5, against
            // DOP853 with 6000 fixed steps (error near round-off).
            let f = Lorenz::study();
            let ic = Lorenz::initial_condition() + &array![y0[0], y0[1], y0[0] * y0[1]];
            let t = [0.0, 0.5];
            let r = solve_fixed(&f, &ic, &t, &Tableau::dop853(), 6000).unwrap();
            let s = solve_fixed(&f, &ic, &t, &tab, n).unwrap();
            max_abs(&s.y[1] - &r.y[1])
        }
        _ => {
            let g = solve_fixed(&GaussianDecay, y0, &t, &tab, n).unwrap();
            let eg = max_abs(&g.y[1] - &GaussianDecay.exact(1.5, y0));
            let r = solve_fixed(&RotatingDecay::default(), y0, &t, &tab, n).unwrap();
            let er = max_abs(&r.y[1] - &RotatingDecay::default().exact(1.5, y0));
            if m == Method::Dop853 {
                er
            } else {
                eg.max(er)
            }
        }
    }
}

/// Observed orders log2(e(h)/e(h/2)) for h, h/2, h/4.
pub fn observed_orders(m: Method, y0: &Array1<f64>, n: usize) -> (f64, f64) {
    let e1 = fixed_error(m, y0, n);
    let e2 = fixed_error(m, y0, 2 * n);
    let e4 = fixed_error(m, y0, 4 * n);
    ((e1 / e2).log2(), (e2 / e4).log2())
}

/// Base step counts per method, chosen so that the errors stay in the
/// asymptotic regime and far above round-off.
fn base_steps(m: Method) -> std::ops::Range<usize> {
    match m {
        Method::Euler => 200..400,
        Method::Midpoint => 60..120,
        Method::Rk4 => 16..32,
        Method::Dopri5 | Method::Tsit5 => 50..90,
        Method::Dop853 => 4..5,
    }
}

fn check_order(m: Method, a: f64, b: f64, n: usize) -> Result<(), TestCaseError> {
    let y0 = array![a, b];
    let (o1, o2) = observed_orders(m, &y0, n);
    let p = m.tableau().order() as f64;
    prop_assert!(
        (o1 - p).abs() < 0.3 && (o2 - p).abs() < 0.3,
        "{m}: n = {n}, observed orders {o1:.3}, {o2:.3}, nominal {p}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn euler_order(a in 0.2f64..2.0, b in -2.0f64..-0.2, n in base_steps(Method::Euler)) { check_order(Method::Euler, a, b, n)?; }
    #[test]
    fn midpoint_order(a in 0.2f64..2.0, b in -2.0f64..-0.2, n in base_steps(Method::Midpoint)) { check_order(Method::Midpoint, a, b, n)?; }
    #[test]
    fn rk4_order(a in 0.2f64..2.0, b in -2.0f64..-0.2, n in base_steps(Method::Rk4)) { check_order(Method::Rk4, a, b, n)?; }
    #[test]
    fn dopri5_order(a in 0.2f64..2.0, b in -2.0f64..-0.2, n in base_steps(Method::Dopri5)) { check_order(Method::Dopri5, a, b, n)?; }
    #[test]
    fn tsit5_order(a in 0.2f64..2.0, b in -2.0f64..-0.2, n in base_steps(Method::Tsit5)) { check_order(Method::Tsit5, a, b, n)?; }
    #[test]
    fn dop853_order(a in 0.2f64..2.0, b in -2.0f64..-0.2, n in base_steps(Method::Dop853)) { check_order(Method::Dop853, a, b, n)?; }
}

/// Print the observed orders (run with `--nocapture` to see them).
#[test]
fn report_observed_orders() {
    let y0 = array![1.0, -0.5];
    for m in Method::ALL {
        let n = base_steps(m).start;
        let (o1, o2) = observed_orders(m, &y0, n);
        println!(
            "{m}: observed orders {o1:.3} {o2:.3} (nominal {})",
            m.tableau().order()
        );
    }
}

/// Max interpolation error over off-step points of a run with fixed step `h`
/// (h0 = h and huge tolerances keep every step at h; outputs at step fractions).
fn dense_error(m: Method, h: f64) -> f64 {
    let f = GaussianDecay;
    let y0 = array![1.3];
    let steps = (1.0 / h).round() as usize;
    let mut t_eval = vec![0.0];
    for i in 0..steps {
        for frac in [0.17, 0.5, 0.83] {
            t_eval.push((i as f64 + frac) * h);
        }
    }
    t_eval.push(1.0);
    let opts = AdaptiveOptions {
        rtol: 1e3,
        atol: 1e3,
        h0: Some(h),
        fac_max: 1.0,
        fac_min: 1.0,
        safety: 1.0,
        output: OutputMode::Interpolate,
        ..Default::default()
    };
    let sol = solve_adaptive(&f, &y0, &t_eval, &m.tableau(), &opts).unwrap();
    assert_eq!(sol.stats.n_rejected, 0);
    let mut worst = 0.0f64;
    for (t, y) in sol.t.iter().zip(&sol.y) {
        worst = worst.max((y[0] - f.exact(*t, &y0)[0]).abs());
    }
    worst
}

/// Interpolant order: the local interpolation error is O(h^(q+1)) but the
/// global error carries the method's O(h^p); with p > q the observed
/// dense error scales as h^(q+1) (for Dopri5/Tsit5: q = 4 → ratio ≈ 2^5;
/// for DOP853: q = 7 → ≈ 2^8 at most, ≥ 2^7 observed).
#[test]
fn dense_output_order() {
    for m in [Method::Dopri5, Method::Tsit5, Method::Dop853] {
        let (h1, h2) = if m == Method::Dop853 {
            (0.25, 0.125)
        } else {
            (0.1, 0.05)
        };
        let e1 = dense_error(m, h1);
        let e2 = dense_error(m, h2);
        let order = (e1 / e2).log2();
        let q = m.tableau().dense_order() as f64;
        println!("{m}: dense errors {e1:.3e} {e2:.3e}, observed {order:.2}, interpolant order {q}");
        assert!(
            order > q + 0.6 && order < q + 1.6,
            "{m}: observed dense order {order}"
        );
    }
}

/// Tight-tolerance dense output is accurate at off-step points.
#[test]
fn dense_output_accuracy() {
    let f = RotatingDecay::default();
    let y0 = array![1.0, 0.5];
    let t_eval: Vec<f64> = (0..=200).map(|i| i as f64 * 0.0137).collect();
    for m in [Method::Tsit5, Method::Dop853, Method::Dopri5] {
        let sol = solve_adaptive(
            &f,
            &y0,
            &t_eval,
            &m.tableau(),
            &AdaptiveOptions::with_tol(1e-10, 1e-12),
        )
        .unwrap();
        assert!(
            sol.stats.n_accepted < 400,
            "{m}: {} steps, outputs are interpolated",
            sol.stats.n_accepted
        );
        for (t, y) in sol.t.iter().zip(&sol.y) {
            let e = (y - &f.exact(*t, &y0))
                .iter()
                .fold(0.0f64, |a, v| a.max(v.abs()));
            assert!(e < 1e-8, "{m}: t = {t}: error {e:e}");
        }
    }
    let _ = f.rhs(0.0, &y0);
}
