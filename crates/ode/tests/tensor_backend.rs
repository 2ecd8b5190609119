//! The `tch::Tensor` backend: same numbers as ndarray, gradients through the
//! solver. This file is also the proof that libtorch links.
#![cfg(feature = "tch")]

use latentdyn_ode::test_models::RotatingDecay;
use latentdyn_ode::{
    solve_adaptive, solve_fixed, AdaptiveOptions, OdeFn, OutputMode, Solution, State, Tableau,
};
use ndarray::{array, Array1};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.flatten(0, -1)).unwrap()
}

#[test]
fn tensor_state_matches_ndarray_state() {
    let rd = RotatingDecay::default();
    let a = Tensor::from_slice(&[-rd.decay, -rd.omega, rd.omega, -rd.decay]).reshape([2, 2]);
    let ft = move |_t: f64, y: &Tensor| a.mv(y);
    let y0a = array![0.9, -0.4];
    let y0t = Tensor::from_slice(&[0.9, -0.4]);
    let t = linspace(0.0, 2.0, 15);
    let tab = Tableau::tsit5();

    let check = |sa: &Solution<Array1<f64>>, st: &Solution<Tensor>| {
        assert_eq!(sa.stats, st.stats);
        for (x, y) in sa.y.iter().zip(&st.y) {
            for (u, v) in x.iter().zip(to_vec(y)) {
                assert!((u - v).abs() < 1e-14, "{u} vs {v}");
            }
        }
    };
    check(
        &solve_fixed(&rd, &y0a, &t, &tab, 3).unwrap(),
        &solve_fixed(&ft, &y0t, &t, &tab, 3).unwrap(),
    );
    for output in [OutputMode::Interpolate, OutputMode::StepToOutputs] {
        let opts = AdaptiveOptions {
            output,
            ..AdaptiveOptions::with_tol(1e-8, 1e-10)
        };
        check(
            &solve_adaptive(&rd, &y0a, &t, &tab, &opts).unwrap(),
            &solve_adaptive(&ft, &y0t, &t, &tab, &opts).unwrap(),
        );
    }
    let _ = rd.rhs(0.0, &y0a);
}

#[test]
fn tensor_norms_reduce_over_all_elements() {
    let x = Tensor::from_slice(&[3.0, 4.0, 0.0, 0.0]).reshape([2, 2]);
    assert!((State::rms_norm(&x) - 2.5).abs() < 1e-15);
    assert!(x.all_finite());
    assert!(!Tensor::from_slice(&[1.0, f64::NAN]).all_finite());
    let y0 = Tensor::from_slice(&[1.0, -2.0]);
    let y1 = Tensor::from_slice(&[0.5, 4.0]);
    let e = Tensor::from_slice(&[0.1, 0.1]);
    let r = Tensor::error_norm(&e, &y0, &y1, 0.1, 0.0);
    let want = ((1.0f64 + (0.1f64 / 0.4).powi(2)) / 2.0).sqrt();
    assert!((r - want).abs() < 1e-14, "{r} vs {want}");
    assert!(x.check_compatible(&y0).is_err());
}

/// L = 3 → 16 → 3 tanh MLP vector field on a batch of 5.
fn mlp(vs: &nn::Path) -> impl Module {
    nn::seq()
        .add(nn::linear(vs / "l1", 3, 16, Default::default()))
        .add_fn(|x| x.tanh())
        .add(nn::linear(vs / "l2", 16, 3, Default::default()))
}

fn loss(net: &impl Module, z0: &Tensor, t: &[f64]) -> (Tensor, latentdyn_ode::SolverStats) {
    let f = |_t: f64, y: &Tensor| net.forward(y);
    let opts = AdaptiveOptions {
        output: OutputMode::StepToOutputs,
        ..AdaptiveOptions::with_tol(1e-3, 1e-3)
    };
    let sol = solve_adaptive(&f, z0, t, &Tableau::tsit5(), &opts).unwrap();
    let l = Tensor::stack(&sol.y, 0).square().sum(Kind::Double);
    (l, sol.stats)
}

#[test]
fn gradients_through_the_solver_match_finite_differences() {
    tch::manual_seed(7);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = mlp(&vs.root());
    vs.double();
    let z0 = Tensor::randn([5, 3], (Kind::Double, Device::Cpu));
    let t = linspace(0.0, 1.0, 70);
    let (l, stats) = loss(&net, &z0, &t);
    assert_eq!(stats.n_rhs, 416, "{stats:?}");
    assert_eq!(stats.n_rejected, 0);
    l.backward();
    let vars = vs.variables();
    for (name, v) in &vars {
        let g = v.grad();
        assert!(g.defined(), "{name}: no gradient");
        assert!(g.all_finite(), "{name}: non-finite gradient");
        assert!(State::rms_norm(&g) > 0.0, "{name}: zero gradient");
    }
    let w = vars["l1.weight"].shallow_clone();
    let analytic = w.grad().double_value(&[2, 1]);
    let eps = 1e-6;
    let at = |delta: f64| {
        tch::no_grad(|| {
            let mut e = w.get(2).get(1);
            let _ = e.f_add_scalar_(delta).unwrap();
        });
        tch::no_grad(|| loss(&net, &z0, &t).0.double_value(&[]))
    };
    let plus = at(eps);
    let minus = at(-2.0 * eps);
    at(eps);
    let fd = (plus - minus) / (2.0 * eps);
    println!("dL/dW[2,1]: autograd {analytic:.10e}, finite difference {fd:.10e}");
    assert!(
        (analytic - fd).abs() <= 1e-6 * analytic.abs().max(1.0),
        "{analytic} vs {fd}"
    );
}

#[test]
fn float32_batch_backward() {
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = mlp(&vs.root());
    let z0 = Tensor::randn([8, 3], (Kind::Float, Device::Cpu));
    let (l, stats) = loss(&net, &z0, &linspace(0.0, 1.0, 70));
    assert_eq!(stats.n_rhs, 416);
    l.backward();
    for (name, v) in vs.variables() {
        assert!(
            v.grad().all_finite() && State::rms_norm(&v.grad()) > 0.0,
            "{name}"
        );
    }
}
