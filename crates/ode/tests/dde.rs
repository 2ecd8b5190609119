//! The delay solver against the known piecewise-polynomial solution.

use latentdyn_ode::test_models::UnitDelayDecay;
use latentdyn_ode::{
    solve_dde, AdaptiveOptions, DdeOptions, DdeProblem, Method, OdeError, Tableau,
};
use ndarray::{array, Array1};

type DelayRhs = fn(f64, &Array1<f64>, &[Array1<f64>]) -> Array1<f64>;
type History = fn(f64) -> Array1<f64>;

fn problem() -> DdeProblem<DelayRhs, History> {
    DdeProblem {
        rhs: |t, x, d| UnitDelayDecay.rhs(t, x, d),
        history: |t| UnitDelayDecay.history(t),
        delays: vec![UnitDelayDecay::DELAY],
    }
}

/// On [0, 10] the exact solution is piecewise polynomial of degree up to 10,
/// beyond what any of the methods integrates exactly.
fn max_error(m: Method, tol: f64) -> (f64, usize) {
    let t: Vec<f64> = (0..=200).map(|i| i as f64 * 0.05).collect();
    let opts = DdeOptions {
        solver: AdaptiveOptions::with_tol(tol, tol),
        ..Default::default()
    };
    let sol = solve_dde(&problem(), &t, &m.tableau(), &opts).unwrap();
    let err = sol
        .t
        .iter()
        .zip(&sol.y)
        .map(|(t, y)| (y[0] - UnitDelayDecay.exact(*t)).abs())
        .fold(0.0, f64::max);
    (err, sol.stats.n_rhs)
}

#[test]
fn dde_matches_piecewise_solution() {
    for m in [Method::Dopri5, Method::Tsit5, Method::Dop853] {
        let mut prev = f64::INFINITY;
        for tol in [1e-4, 1e-7, 1e-10] {
            let (err, n) = max_error(m, tol);
            println!("{m}: tol {tol:e}: max error on [0, 10] {err:.2e} ({n} rhs)");
            assert!(err < 20.0 * tol, "{m}: error {err} at tol {tol}");
            assert!(err < prev);
            prev = err;
        }
    }
}

/// Fixed steps (huge tolerances, h0 = h) on `x'(t) = -e^{-1} x(t-1)` with
/// history `e^{-t}` (exact solution `e^{-t}`): the global error falls at
/// least at the interpolant's order (4 for Tsit5, 7 for DOP853).
#[test]
fn dde_order() {
    for (m, h) in [(Method::Tsit5, 0.25), (Method::Dop853, 0.5)] {
        let errs: Vec<f64> = [h, h / 2.0]
            .iter()
            .map(|&h| {
                let opts = AdaptiveOptions {
                    rtol: 1e3,
                    atol: 1e3,
                    h0: Some(h),
                    fac_min: 1.0,
                    fac_max: 1.0,
                    safety: 1.0,
                    ..Default::default()
                };
                let t: Vec<f64> = (0..=16).map(|i| i as f64 * 0.25).collect();
                let p = DdeProblem {
                    rhs: |_t: f64, _x: &Array1<f64>, d: &[Array1<f64>]| &d[0] * (-(-1.0f64).exp()),
                    history: |t: f64| array![(-t).exp()],
                    delays: vec![1.0],
                };
                let sol = solve_dde(
                    &p,
                    &t,
                    &m.tableau(),
                    &DdeOptions {
                        solver: opts,
                        ..Default::default()
                    },
                )
                .unwrap();
                sol.t
                    .iter()
                    .zip(&sol.y)
                    .map(|(t, y)| (y[0] - (-t).exp()).abs())
                    .fold(0.0, f64::max)
            })
            .collect();
        let order = (errs[0] / errs[1]).log2();
        println!(
            "{m}: DDE errors {:.2e} {:.2e}, observed order {order:.2}",
            errs[0], errs[1]
        );
        let want = m.tableau().dense_order() as f64;
        assert!(order > want - 0.3, "{m}: observed order {order}");
    }
}

#[test]
fn dde_rejects_bad_input() {
    let t = [0.0, 1.0];
    let bad = DdeProblem {
        rhs: |_t: f64, x: &Array1<f64>, _d: &[Array1<f64>]| x.clone(),
        history: |_t: f64| array![1.0],
        delays: vec![0.0],
    };
    assert!(matches!(
        solve_dde(&bad, &t, &Tableau::tsit5(), &DdeOptions::default()),
        Err(OdeError::InvalidOptions { .. })
    ));
    assert!(matches!(
        solve_dde(&problem(), &t, &Tableau::rk4(), &DdeOptions::default()),
        Err(OdeError::NotAdaptive { .. })
    ));
    assert!(matches!(
        solve_dde(
            &problem(),
            &[1.0, 0.0],
            &Tableau::tsit5(),
            &DdeOptions::default()
        ),
        Err(OdeError::InvalidTimes { .. })
    ));
    let nan = DdeProblem {
        rhs: |_t: f64, x: &Array1<f64>, _d: &[Array1<f64>]| x.clone(),
        history: |_t: f64| array![f64::NAN],
        delays: vec![1.0],
    };
    assert!(matches!(
        solve_dde(&nan, &t, &Tableau::tsit5(), &DdeOptions::default()),
        Err(OdeError::NonFinite { .. })
    ));
}

/// Mackey–Glass (the study's parameters) runs long without growing memory
/// or failing, and stays on its attractor's range.
#[test]
fn mackey_glass_runs() {
    let (beta, gamma, n, tau) = (2.0, 1.0, 9.65, 2.0);
    let p = DdeProblem {
        rhs: move |_t: f64, x: &Array1<f64>, d: &[Array1<f64>]| {
            array![beta * d[0][0] / (1.0 + d[0][0].powf(n)) - gamma * x[0]]
        },
        history: |_t: f64| array![0.76980123],
        delays: vec![tau],
    };
    let t: Vec<f64> = (0..=2000).map(|i| i as f64 * 0.25).collect();
    let sol = solve_dde(
        &p,
        &t,
        &Tableau::dop853(),
        &DdeOptions {
            solver: AdaptiveOptions::with_tol(1e-10, 1e-10),
            ..Default::default()
        },
    )
    .unwrap();
    let (lo, hi) = sol.y[400..]
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), y| {
            (a.min(y[0]), b.max(y[0]))
        });
    println!(
        "Mackey-Glass on [100, 500]: range [{lo:.3}, {hi:.3}], {:?}",
        sol.stats
    );
    assert!(lo > 0.0 && hi < 2.0 && hi - lo > 0.5);
}
