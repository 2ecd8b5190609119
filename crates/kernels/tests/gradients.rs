//! Every layer kernel's backward pass against central finite differences of
//! its own forward pass (parameters and input), and the batch split across
//! two threads against one thread. Independent of libtorch; the comparison
//! with libtorch's autograd lives in `latentdyn-models`' `tests/kernels.rs`.

use latentdyn_kernels::{
    run, BiGruFinal, GruUnroll, Integration, Kernel, KernelError, MlpUnroll, NodeSolve, Threads,
};
use latentdyn_ode::Method;
use ndarray::{Array, ArrayD, Dimension, IxDyn};

/// A deterministic pseudo-random array in [-scale, scale].
fn filled<D: Dimension>(dim: D, seed: u64, scale: f32) -> Array<f32, D> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array::from_shape_simple_fn(dim, || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32 * scale
    })
}

fn params(shapes: &[&[usize]], seed: u64, scale: f32) -> Vec<ArrayD<f32>> {
    shapes
        .iter()
        .enumerate()
        .map(|(i, s)| filled(IxDyn(s), seed + i as u64, scale))
        .collect()
}

/// Σ probe · out, in f64.
fn loss<K: Kernel>(
    kernel: &K,
    x: &Array<f32, K::In>,
    probe: &Array<f32, K::Out>,
    threads: Threads,
) -> f64 {
    let (value, _) = run(kernel, x.view(), threads, |out| {
        out.iter()
            .zip(probe.iter())
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum::<f64>()
    })
    .unwrap();
    value
}

/// Checks the kernel's gradients at a few elements of every parameter and
/// of the input against central differences with step `eps`.
fn check<K: Kernel>(
    make: impl Fn(&[ArrayD<f32>]) -> Result<K, KernelError>,
    params: Vec<ArrayD<f32>>,
    x: Array<f32, K::In>,
    eps: f32,
    tol: f64,
) {
    let kernel = make(&params).unwrap();
    let out_dim = kernel.output_dim(&x.raw_dim()).unwrap();
    let probe = filled(out_dim, 99, 1.0);
    let (_, record) = run(&kernel, x.view(), Threads::One, |_| ()).unwrap();
    let grads = record.backward(&kernel, probe.view()).unwrap();
    assert_eq!(grads.params.len(), params.len(), "{}", kernel.name());
    let name = kernel.name();
    let compare = |what: String, got: f32, plus: f64, minus: f64| {
        let fd = (plus - minus) / (2.0 * f64::from(eps));
        let got = f64::from(got);
        assert!(
            (got - fd).abs() <= tol * fd.abs().max(1.0),
            "{name} {what}: kernel {got}, finite differences {fd}"
        );
    };
    for (i, g) in grads.params.iter().enumerate() {
        assert_eq!(g.shape(), params[i].shape(), "{name} parameter {i}");
        let n = g.len();
        for flat in [0, n / 3, n / 2, n - 1] {
            let at = |delta: f32| {
                let mut p = params.clone();
                let slot = p[i].iter_mut().nth(flat).unwrap();
                *slot += delta;
                loss(&make(&p).unwrap(), &x, &probe, Threads::One)
            };
            let got = *g.iter().nth(flat).unwrap();
            compare(format!("∂/∂θ{i}[{flat}]"), got, at(eps), at(-eps));
        }
    }
    if let Some(gx) = &grads.input {
        let n = gx.len();
        for flat in [0, n / 2, n - 1] {
            let at = |delta: f32| {
                let mut xp = x.clone();
                *xp.iter_mut().nth(flat).unwrap() += delta;
                loss(&kernel, &xp, &probe, Threads::One)
            };
            compare(
                format!("∂/∂x[{flat}]"),
                *gx.iter().nth(flat).unwrap(),
                at(eps),
                at(-eps),
            );
        }
    }
}

/// One thread against two (with the batch split where the kernel allows
/// it): the same outputs and gradients to f32 rounding.
fn split_agrees<K: Kernel>(kernel: &K, x: Array<f32, K::In>) {
    let out_dim = kernel.output_dim(&x.raw_dim()).unwrap();
    let probe = filled(out_dim, 7, 1.0);
    let pass = |threads| {
        let (out, record) = run(kernel, x.view(), threads, |o| o.to_owned()).unwrap();
        (out, record.backward(kernel, probe.view()).unwrap())
    };
    let (o1, g1) = pass(Threads::One);
    let (o2, g2) = pass(Threads::Two);
    let close = |a: &[f32], b: &[f32], what: &str| {
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
        let err = a
            .iter()
            .zip(b)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            err <= 1e-5 * scale,
            "{} {what}: {err} of {scale}",
            kernel.name()
        );
    };
    close(o2.as_slice().unwrap(), o1.as_slice().unwrap(), "output");
    for (a, b) in g2.params.iter().zip(&g1.params) {
        close(
            a.as_standard_layout().as_slice().unwrap(),
            b.as_standard_layout().as_slice().unwrap(),
            "parameter gradient",
        );
    }
    if let (Some(a), Some(b)) = (&g2.input, &g1.input) {
        close(
            a.as_standard_layout().as_slice().unwrap(),
            b.as_standard_layout().as_slice().unwrap(),
            "input gradient",
        );
    }
}

fn gru_shapes(h: usize, c: usize) -> Vec<Vec<usize>> {
    vec![vec![3 * h, c], vec![3 * h, h], vec![3 * h], vec![3 * h]]
}

#[test]
fn bidirectional_gru_gradients() {
    let (h, c) = (5, 3);
    let shapes: Vec<Vec<usize>> = gru_shapes(h, c).into_iter().cycle().take(8).collect();
    let shapes: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
    let p = params(&shapes, 1, 0.5);
    let x = filled(ndarray::Ix3(4, 9, c), 2, 2.0);
    check(BiGruFinal::new, p.clone(), x.clone(), 1e-2, 3e-3);
    split_agrees(&BiGruFinal::new(&p).unwrap(), x);
}

#[test]
fn gru_unroll_gradients_reach_the_initial_state() {
    let h = 4;
    let shapes = gru_shapes(h, 1);
    let shapes: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
    let p = params(&shapes, 3, 0.6);
    let x = filled(ndarray::Ix2(3, h), 4, 1.0);
    check(|p| GruUnroll::new(p, 12), p.clone(), x, 1e-2, 3e-3);
    // 130 trials: two halves of 65 on two threads.
    split_agrees(
        &GruUnroll::new(&p, 20).unwrap(),
        filled(ndarray::Ix2(130, h), 5, 1.0),
    );
}

#[test]
fn discrete_cell_gradients_with_and_without_pass_through() {
    let (hid, l) = (16, 3);
    let shapes: [&[usize]; 4] = [&[hid, l + 1], &[hid], &[l, hid], &[l]];
    let p = params(&shapes, 6, 0.4);
    let x = filled(ndarray::Ix2(5, l), 7, 1.0);
    for dt in [Some(0.1), None] {
        check(
            |p| MlpUnroll::new(p, dt, 15),
            p.clone(),
            x.clone(),
            1e-2,
            3e-3,
        );
    }
    // W1's column 0 meets the zero input: its gradient is zero.
    let kernel = MlpUnroll::new(&p, Some(0.1), 15).unwrap();
    let probe = filled(ndarray::Ix3(5, 15, l), 8, 1.0);
    let (_, record) = run(&kernel, x.view(), Threads::One, |_| ()).unwrap();
    let g = record.backward(&kernel, probe.view()).unwrap();
    assert!(g.params[0]
        .index_axis(ndarray::Axis(1), 0)
        .iter()
        .all(|&v| v == 0.0));
    split_agrees(&kernel, filled(ndarray::Ix2(300, l), 9, 1.0));
}

#[test]
fn neural_ode_gradients_through_fixed_and_adaptive_steps() {
    let (hid, l) = (12, 3);
    let shapes: [&[usize]; 4] = [&[hid, l], &[hid], &[l, hid], &[l]];
    let p = params(&shapes, 10, 0.5);
    let x = filled(ndarray::Ix2(4, l), 11, 1.0);
    let t: Vec<f64> = (0..8).map(|i| i as f64 / 7.0).collect();
    for (method, substeps) in [(Method::Rk4, 2), (Method::Tsit5, 1), (Method::Euler, 3)] {
        let make = |p: &[ArrayD<f32>]| {
            NodeSolve::new(
                p,
                t.clone(),
                method.tableau(),
                Integration::Fixed { substeps },
                None,
            )
        };
        check(make, p.clone(), x.clone(), 1e-2, 3e-3);
    }
    // Adaptive: the step sizes are constants of the backward pass, so
    // finite differences (which may change the steps) are not the
    // reference; two threads against one are.
    let opts = latentdyn_ode::AdaptiveOptions {
        output: latentdyn_ode::OutputMode::StepToOutputs,
        ..latentdyn_ode::AdaptiveOptions::with_tol(1e-3, 1e-3)
    };
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let kernel = NodeSolve::new(
        &p,
        t.clone(),
        Method::Tsit5.tableau(),
        Integration::Adaptive(opts.clone()),
        Some(count.clone()),
    )
    .unwrap();
    split_agrees(&kernel, filled(ndarray::Ix2(300, l), 12, 1.0));
    assert!(count.load(std::sync::atomic::Ordering::Relaxed) > 2 * t.len());
    // Interpolated outputs cannot be backpropagated step by step.
    let interpolate = latentdyn_ode::AdaptiveOptions {
        output: latentdyn_ode::OutputMode::Interpolate,
        ..opts
    };
    let err = NodeSolve::new(
        &p,
        t,
        Method::Tsit5.tableau(),
        Integration::Adaptive(interpolate),
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("step by step"), "{err}");
}

#[test]
fn misshapen_inputs_and_gradients_are_errors() {
    let shapes = gru_shapes(4, 1);
    let shapes: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
    let p = params(&shapes, 13, 0.5);
    let kernel = GruUnroll::new(&p, 5).unwrap();
    let wrong = filled(ndarray::Ix2(3, 5), 14, 1.0);
    let err = run(&kernel, wrong.view(), Threads::One, |_| ()).unwrap_err();
    assert!(err.to_string().contains("[batch, 4]"), "{err}");
    let x = filled(ndarray::Ix2(3, 4), 15, 1.0);
    let (_, record) = run(&kernel, x.view(), Threads::One, |_| ()).unwrap();
    let bad = filled(ndarray::Ix3(3, 6, 4), 16, 1.0);
    assert!(record.backward(&kernel, bad.view()).is_err());
    assert!(GruUnroll::new(&p[..3], 5).is_err());
    assert!(GruUnroll::new(&p, 0).is_err());
    assert!(BiGruFinal::new(&p).is_err(), "four parameters for eight");
}
