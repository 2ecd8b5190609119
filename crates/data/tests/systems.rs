//! Vector fields, Jacobians, fixed points and one-bin eigenvalues.

use latentdyn_data::{Complex, DatasetSpec, System, SystemKind};

fn ode_systems() -> Vec<System> {
    SystemKind::ALL
        .into_iter()
        .map(SystemKind::system)
        .filter(|s| s.kind() != SystemKind::MackeyGlass)
        .collect()
}

#[test]
fn names_round_trip() {
    for k in SystemKind::ALL {
        assert_eq!(k.to_string().parse::<SystemKind>().unwrap(), k);
        assert_eq!(
            k.to_string().to_uppercase().parse::<SystemKind>().unwrap(),
            k
        );
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, format!("\"{k}\""));
    }
    assert_eq!(
        "mackey-glass".parse::<SystemKind>().unwrap(),
        SystemKind::MackeyGlass
    );
    let err = "duffing".parse::<SystemKind>().unwrap_err().to_string();
    assert!(err.contains("duffing") && err.contains("Rossler"), "{err}");
}

#[test]
fn jacobians_match_central_differences() {
    for sys in ode_systems() {
        let d = sys.ode_dimension();
        // The initial condition and a few perturbed points.
        let ic = sys.initial_condition();
        for k in 0..4 {
            let x: Vec<f64> = ic
                .iter()
                .enumerate()
                .map(|(i, v)| v * (1.0 + 0.05 * ((i + k) as f64).sin()))
                .collect();
            let jac = sys.jacobian(&x).unwrap();
            for j in 0..d {
                let h = 1e-6 * x[j].abs().max(1e-3);
                let mut xp = x.clone();
                let mut xm = x.clone();
                xp[j] += h;
                xm[j] -= h;
                let (fp, fm) = (sys.rhs(&xp), sys.rhs(&xm));
                for i in 0..d {
                    let fd = (fp[i] - fm[i]) / (2.0 * h);
                    let an = jac[i * d + j];
                    assert!(
                        (fd - an).abs() <= 1e-6 * (1.0 + an.abs()),
                        "{}: J[{i}][{j}] analytic {an} vs finite difference {fd}",
                        sys.kind()
                    );
                }
            }
        }
    }
}

#[test]
fn fixed_points_are_zeros_of_the_field() {
    for kind in [SystemKind::Arneodo, SystemKind::Lorenz, SystemKind::Rossler] {
        let sys = kind.system();
        let fps = sys.fixed_points();
        assert!(fps.len() >= 2, "{kind}");
        for fp in fps {
            let f = sys.rhs(&fp);
            let scale = fp.iter().map(|v| v.abs()).fold(1.0, f64::max);
            assert!(
                f.iter().all(|v| v.abs() < 1e-12 * scale),
                "{kind} at {fp:?}: {f:?}"
            );
        }
    }
    assert_eq!(SystemKind::Arneodo.system().fixed_points().len(), 3);
    assert_eq!(SystemKind::Lorenz.system().fixed_points().len(), 3);
    assert_eq!(SystemKind::Rossler.system().fixed_points().len(), 2);
}

fn close(a: Complex, re: f64, im: f64, tol: f64) -> bool {
    (a.re - re).abs() < tol && (a.im - im).abs() < tol
}

#[test]
fn lorenz_origin_eigenvalues_are_known() {
    let sys = SystemKind::Lorenz.system();
    let (sigma, rho, beta) = (10.0, 28.0, 2.667);
    let eig = sys.fixed_point_eigenvalues();
    let (fp, ev) = &eig[0];
    assert_eq!(fp, &vec![0.0, 0.0, 0.0]);
    // −β and the roots of λ² + (σ+1)λ + σ(1−ρ).
    let b: f64 = sigma + 1.0;
    let c: f64 = sigma * (1.0 - rho);
    let disc = (b * b - 4.0 * c).sqrt();
    let mut want = [(-b + disc) / 2.0, (-b - disc) / 2.0, -beta];
    want.sort_by(|x, y| y.abs().total_cmp(&x.abs()));
    for (got, w) in ev.iter().zip(want) {
        assert!(close(*got, w, 0.0, 1e-10), "{got:?} vs {w}");
    }
    // One-bin map: 1 + dt·λ.
    let dt = 0.0150081;
    let one_bin = sys.one_bin_eigenvalues(dt);
    let mut got: Vec<f64> = one_bin[0].1.iter().map(|z| z.re).collect();
    let mut mapped: Vec<f64> = want.iter().map(|w| 1.0 + dt * w).collect();
    got.sort_by(f64::total_cmp);
    mapped.sort_by(f64::total_cmp);
    assert!(one_bin[0].1.iter().all(|z| z.im == 0.0));
    for (g, w) in got.iter().zip(mapped) {
        assert!((g - w).abs() < 1e-12, "{g} vs {w}");
    }
    // Lorenz's non-trivial points have a complex pair with positive real part at ρ = 28.
    let (_, ev) = &eig[1];
    assert!(ev.iter().any(|z| z.im > 0.0 && z.re > 0.0), "{ev:?}");
}

#[test]
fn one_bin_steps_match_the_study() {
    for (name, dt) in [
        ("lorenz", 0.0150081),
        ("rossler", 0.1688184),
        ("arneodo", 0.0904035),
    ] {
        let spec = DatasetSpec::preset(name).unwrap();
        let sys = spec.system.system();
        let actual = sys.dt_actual(spec.pts_per_period, spec.n_points());
        assert!((actual - dt).abs() < 1e-7, "{name}: {actual}");
        let nominal = sys.dt_nominal(spec.pts_per_period);
        assert!((nominal - sys.period() / spec.pts_per_period as f64).abs() < 1e-15);
    }
}

#[test]
fn eigenvalues_satisfy_the_characteristic_equation() {
    for kind in [SystemKind::Arneodo, SystemKind::Lorenz, SystemKind::Rossler] {
        let sys = kind.system();
        for (fp, ev) in sys.fixed_point_eigenvalues() {
            let j = sys.jacobian(&fp).unwrap();
            let tr = j[0] + j[4] + j[8];
            let sum_re: f64 = ev.iter().map(|z| z.re).sum();
            let sum_im: f64 = ev.iter().map(|z| z.im).sum();
            assert!(
                (sum_re - tr).abs() < 1e-10 && sum_im.abs() < 1e-10,
                "{kind}"
            );
            // det(J − λI) = 0 for each real eigenvalue
            for z in ev.iter().filter(|z| z.im == 0.0) {
                let m = |r: usize, c: usize| j[r * 3 + c] - if r == c { z.re } else { 0.0 };
                let det = m(0, 0) * (m(1, 1) * m(2, 2) - m(1, 2) * m(2, 1))
                    - m(0, 1) * (m(1, 0) * m(2, 2) - m(1, 2) * m(2, 0))
                    + m(0, 2) * (m(1, 0) * m(2, 1) - m(1, 1) * m(2, 0));
                assert!(
                    det.abs() < 1e-8 * (1.0 + z.re.abs().powi(3)),
                    "{kind}: det {det}"
                );
            }
        }
    }
}
