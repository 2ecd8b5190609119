//! Adaptive stepping: tolerance proportionality, Lorenz against references,
//! torchdyn's evaluation count, error handling.

use std::path::PathBuf;

use latentdyn_ode::test_models::{LinearDecay3, Lorenz, RotatingDecay};
use latentdyn_ode::{
    solve_adaptive, solve_fixed, AdaptiveOptions, Method, OdeError, OutputMode, Tableau,
};
use ndarray::{array, Array1};

fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

fn max_abs(a: &Array1<f64>) -> f64 {
    a.iter().fold(0.0f64, |acc, v| acc.max(v.abs()))
}

#[test]
fn error_decreases_with_tolerance() {
    let f = RotatingDecay::default();
    let y0 = array![1.0, -0.3];
    let t = linspace(0.0, 5.0, 11);
    for m in [Method::Dopri5, Method::Tsit5, Method::Dop853] {
        let mut prev = f64::INFINITY;
        for tol in [1e-4, 1e-6, 1e-8, 1e-10] {
            let sol = solve_adaptive(
                &f,
                &y0,
                &t,
                &m.tableau(),
                &AdaptiveOptions::with_tol(tol, tol),
            )
            .unwrap();
            let err = sol
                .t
                .iter()
                .zip(&sol.y)
                .map(|(t, y)| max_abs(&(y - &f.exact(*t, &y0))))
                .fold(0.0, f64::max);
            println!("{m}: tol {tol:e}: error {err:.3e}, {} rhs", sol.stats.n_rhs);
            assert!(err < prev, "{m}: error {err} at tol {tol} not below {prev}");
            assert!(err < 50.0 * tol, "{m}: error {err} at tol {tol}");
            prev = err;
        }
    }
}

#[test]
fn lorenz_loose_vs_tight() {
    let f = Lorenz::study();
    let y0 = Lorenz::initial_condition();
    let t = linspace(0.0, 1.5, 31);
    let reference = solve_adaptive(
        &f,
        &y0,
        &t,
        &Tableau::dop853(),
        &AdaptiveOptions::with_tol(1e-13, 1e-13),
    )
    .unwrap();
    for m in [Method::Dopri5, Method::Tsit5, Method::Dop853] {
        let sol = solve_adaptive(
            &f,
            &y0,
            &t,
            &m.tableau(),
            &AdaptiveOptions::with_tol(1e-6, 1e-6),
        )
        .unwrap();
        // Relative to the trajectory's size (|y| up to ~45 here).
        let err = sol
            .y
            .iter()
            .zip(&reference.y)
            .map(|(a, b)| max_abs(&(a - b)) / max_abs(b))
            .fold(0.0, f64::max);
        println!(
            "{m}: Lorenz rtol=atol=1e-6: max relative deviation {err:.2e}, {} rhs",
            sol.stats.n_rhs
        );
        assert!(err < 1e-4, "{m}: {err}");
        {
            let mode = OutputMode::StepToOutputs;
            let opts = AdaptiveOptions {
                output: mode,
                ..AdaptiveOptions::with_tol(1e-6, 1e-6)
            };
            let s2 = solve_adaptive(&f, &y0, &t, &m.tableau(), &opts).unwrap();
            let err =
                s2.y.iter()
                    .zip(&reference.y)
                    .map(|(a, b)| max_abs(&(a - b)) / max_abs(b))
                    .fold(0.0, f64::max);
            assert!(err < 1e-4, "{m} {mode:?}: {err}");
        }
    }
}

fn reference_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/systems");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("SKIPPED: {} not found", dir.display());
        None
    }
}

#[test]
fn lorenz_matches_dysts_reference() {
    let Some(dir) = reference_dir() else { return };
    let text = std::fs::read_to_string(dir.join("Lorenz_n3000.csv")).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .take(100)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let t: Vec<f64> = rows.iter().map(|r| r[0]).collect();
    let y0 = array![rows[0][1], rows[0][2], rows[0][3]];
    let sol = solve_adaptive(
        &Lorenz::study(),
        &y0,
        &t,
        &Tableau::dop853(),
        &AdaptiveOptions::with_tol(1e-12, 1e-12),
    )
    .unwrap();
    let mut worst = 0.0f64;
    for (row, y) in rows.iter().zip(&sol.y) {
        let r = array![row[1], row[2], row[3]];
        let rel = max_abs(&(y - &r)) / max_abs(&r);
        worst = worst.max(rel);
    }
    println!(
        "Lorenz vs dysts reference, 100 rows: worst relative error {worst:.2e} ({} rhs)",
        sol.stats.n_rhs
    );
    assert!(worst < 1e-8, "{worst}");
}

/// torchdyn's NODE setting: Tsit5, atol = rtol = 1e-3, 70 outputs on [0, 1],
/// steps clipped onto the outputs: f(y0) + one hinit probe + 69 FSAL steps of
/// 6 evaluations = 416, no rejection.
#[test]
fn step_to_outputs_matches_torchdyn_count() {
    let f = LinearDecay3;
    let y0 = array![0.8, -0.6, 1.2];
    let t = linspace(0.0, 1.0, 70);
    let opts = AdaptiveOptions {
        output: OutputMode::StepToOutputs,
        ..AdaptiveOptions::with_tol(1e-3, 1e-3)
    };
    let sol = solve_adaptive(&f, &y0, &t, &Tableau::tsit5(), &opts).unwrap();
    println!("StepToOutputs Tsit5 1e-3: {:?}", sol.stats);
    assert_eq!(sol.stats.n_rhs, 416);
    assert_eq!(sol.stats.n_accepted, 69);
    assert_eq!(sol.stats.n_rejected, 0);
    assert_eq!(sol.t, t);
    // Landing exactly on the outputs makes it fixed-step Tsit5 with h = 1/69.
    let fixed = solve_fixed(&f, &y0, &t, &Tableau::tsit5(), 1).unwrap();
    assert_eq!(fixed.stats.n_rhs, 1 + 6 * 69);
    for (a, b) in sol.y.iter().zip(&fixed.y) {
        assert!(max_abs(&(a - b)) < 1e-15);
    }
    for (tt, y) in t.iter().zip(&sol.y) {
        assert!(max_abs(&(y - &f.exact(*tt, &y0))) < 1e-6);
    }
    // Interpolation mode takes far fewer steps for the same outputs.
    let dense = solve_adaptive(
        &f,
        &y0,
        &t,
        &Tableau::tsit5(),
        &AdaptiveOptions::with_tol(1e-3, 1e-3),
    )
    .unwrap();
    assert!(dense.stats.n_rhs < 100, "{:?}", dense.stats);
}

#[test]
fn nan_initial_state_is_non_finite() {
    let f = RotatingDecay::default();
    let y0 = array![f64::NAN, 1.0];
    let t = [0.0, 1.0];
    for m in Method::ALL {
        let r = if m.tableau().is_adaptive() {
            solve_adaptive(&f, &y0, &t, &m.tableau(), &AdaptiveOptions::default())
        } else {
            solve_fixed(&f, &y0, &t, &m.tableau(), 4)
        };
        assert!(
            matches!(r, Err(OdeError::NonFinite { t }) if t == 0.0),
            "{m}: {r:?}"
        );
    }
}

#[test]
fn blow_up_terminates_with_an_error() {
    let f = |_t: f64, y: &Array1<f64>| y * y;
    let y0 = array![1.0];
    let t = [0.0, 2.0];
    for m in [Method::Dopri5, Method::Tsit5, Method::Dop853] {
        let opts = AdaptiveOptions {
            max_steps: 100_000,
            ..AdaptiveOptions::default()
        };
        let r = solve_adaptive(&f, &y0, &t, &m.tableau(), &opts);
        println!("{m}: {r:?}");
        match r {
            Err(OdeError::StepSizeUnderflow { t, .. })
            | Err(OdeError::NonFinite { t })
            | Err(OdeError::MaxStepsExceeded { t, .. }) => {
                assert!(t > 0.99 && t <= 1.01, "{m}: stopped at {t}")
            }
            other => panic!("{m}: expected a blow-up error, got {other:?}"),
        }
    }
    // Fixed step explodes to infinity: reported, not returned.
    let r = solve_fixed(&f, &y0, &t, &Tableau::rk4(), 10);
    assert!(matches!(r, Err(OdeError::NonFinite { .. })), "{r:?}");
    // A tiny step budget is honoured.
    let opts = AdaptiveOptions {
        max_steps: 5,
        ..AdaptiveOptions::default()
    };
    let r = solve_adaptive(&f, &y0, &[0.0, 0.999], &Tableau::tsit5(), &opts);
    assert!(
        matches!(r, Err(OdeError::MaxStepsExceeded { max_steps: 5, .. })),
        "{r:?}"
    );
}

#[test]
fn bad_inputs_are_errors() {
    let f = RotatingDecay::default();
    let y0 = array![1.0, 0.0];
    let tab = Tableau::tsit5();
    let o = AdaptiveOptions::default();
    for t in [
        vec![],
        vec![0.0, 1.0, 0.5],
        vec![0.0, 0.0],
        vec![0.0, f64::NAN],
    ] {
        assert!(
            matches!(
                solve_adaptive(&f, &y0, &t, &tab, &o),
                Err(OdeError::InvalidTimes { .. })
            ),
            "{t:?}"
        );
        assert!(
            matches!(
                solve_fixed(&f, &y0, &t, &tab, 2),
                Err(OdeError::InvalidTimes { .. })
            ),
            "{t:?}"
        );
    }
    let e = solve_adaptive(&f, &y0, &[0.0, 1.0, 0.5], &tab, &o).unwrap_err();
    assert!(e.to_string().contains("t_eval[2] = 0.5"), "{e}");
    assert!(matches!(
        solve_adaptive(&f, &y0, &[0.0, 1.0], &Tableau::rk4(), &o),
        Err(OdeError::NotAdaptive { .. })
    ));
    assert!(matches!(
        solve_fixed(&f, &y0, &[0.0, 1.0], &tab, 0),
        Err(OdeError::InvalidOptions { .. })
    ));
    let bad = AdaptiveOptions {
        rtol: -1.0,
        ..Default::default()
    };
    assert!(matches!(
        solve_adaptive(&f, &y0, &[0.0, 1.0], &tab, &bad),
        Err(OdeError::InvalidOptions { .. })
    ));
    let wrong_shape = |_t: f64, _y: &Array1<f64>| array![1.0, 2.0, 3.0];
    assert!(matches!(
        solve_adaptive(&wrong_shape, &y0, &[0.0, 1.0], &tab, &o),
        Err(OdeError::ShapeMismatch { .. })
    ));
    // A single output time returns the initial state.
    let s = solve_adaptive(&f, &y0, &[3.0], &tab, &o).unwrap();
    assert_eq!(s.y, vec![y0.clone()]);
}

#[test]
fn vec_state_matches_array_state() {
    let f = RotatingDecay::default();
    let fv = move |t: f64, y: &Vec<f64>| {
        latentdyn_ode::OdeFn::rhs(&f, t, &Array1::from(y.clone())).to_vec()
    };
    let t = linspace(0.0, 2.0, 9);
    let a = solve_adaptive(
        &f,
        &array![1.0, 0.2],
        &t,
        &Tableau::dop853(),
        &AdaptiveOptions::default(),
    )
    .unwrap();
    let v = solve_adaptive(
        &fv,
        &vec![1.0, 0.2],
        &t,
        &Tableau::dop853(),
        &AdaptiveOptions::default(),
    )
    .unwrap();
    assert_eq!(a.stats, v.stats);
    for (x, y) in a.y.iter().zip(&v.y) {
        assert_eq!(x.to_vec(), *y);
    }
}

/// The accepted-step record: contiguous steps that cover the span, land on
/// every output (step-to-outputs mode), one per accepted step, and stage
/// indices as documented (which evaluation fed which stage is checked
/// inside the crate, beside the adjoint that relies on it).
#[test]
fn accepted_steps_replay_the_solve() {
    let lorenz = Lorenz::study();
    let log = std::cell::RefCell::new(Vec::<Array1<f64>>::new());
    let f = |t: f64, y: &Array1<f64>| {
        log.borrow_mut().push(y.clone());
        latentdyn_ode::OdeFn::rhs(&lorenz, t, y)
    };
    let y0 = array![1.0, 1.0, 1.0];
    let t = linspace(0.0, 2.0, 21);
    let tab = Method::Tsit5.tableau();
    let opts = AdaptiveOptions {
        output: OutputMode::StepToOutputs,
        ..AdaptiveOptions::with_tol(1e-6, 1e-6)
    };
    let sol = solve_adaptive(&f, &y0, &t, &tab, &opts).unwrap();
    let log = log.borrow().clone();
    assert_eq!(sol.accepted.len(), sol.stats.n_accepted);
    assert_eq!(log.len(), sol.stats.n_rhs);
    assert_eq!(sol.accepted[0].t, 0.0);
    for w in sol.accepted.windows(2) {
        assert_eq!(w[0].t_end, w[1].t, "steps are contiguous");
    }
    assert_eq!(sol.accepted.last().unwrap().t_end, 2.0);
    let mut out = 1;
    for st in &sol.accepted {
        assert!((st.t + st.h - st.t_end).abs() < 1e-12);
        if st.t_end == t[out] {
            out += 1;
        }
    }
    assert_eq!(out, t.len(), "every output was landed on");

    let plain = |t: f64, y: &Array1<f64>| latentdyn_ode::OdeFn::rhs(&lorenz, t, y);
    let fixed = solve_fixed(&plain, &y0, &t, &Method::Rk4.tableau(), 3).unwrap();
    assert_eq!(fixed.accepted.len(), 20 * 3);
    assert!(fixed
        .accepted
        .iter()
        .all(|s| (s.h - 0.1 / 3.0).abs() < 1e-15));
}
