//! The recording scores against the Neural Latents Benchmark's own
//! computation (nlb_tools' formulas with numpy, scipy and scikit-learn):
//! `fixtures/make_recording_reference.py` wrote
//! `fixtures/recording_reference.json` from inputs given by closed
//! formulas, rebuilt here.

use latentdyn_analysis::{bits_per_spike, decode_r2, r2_score};
use ndarray::{Array2, Array3, Axis};

fn rates(n: usize, t: usize, u: usize, phase: f64) -> Array3<f64> {
    let mut r = Array3::from_shape_fn((n, t, u), |(i, j, k)| {
        1.5 + (0.3 * i as f64 + 0.7 * j as f64 + 1.1 * k as f64 + phase).sin()
    });
    for i in 0..n {
        for j in 0..t {
            r[[i, j, u - 1]] = r[[i, j, 0]] + 1e-3 * (5.1 * i as f64 + 3.3 * j as f64).sin();
        }
    }
    r
}

fn behaviour(r: &Array3<f64>) -> Array3<f64> {
    let (n, t, u) = r.dim();
    Array3::from_shape_fn((n, t, 2), |(i, j, d)| {
        let (fi, fj) = (i as f64, j as f64);
        if d == 0 {
            (0..u)
                .map(|k| r[[i, j, k]] * (k as f64 + 0.5).cos())
                .sum::<f64>()
                + 0.4 * (1.7 * fi * fj + 0.2).sin()
        } else {
            r[[i, j, 0]].powi(2) - 0.5 * r[[i, j, 1]] + 0.3 * (0.9 * fi + 2.3 * fj).cos()
        }
    })
}

fn counts(n: usize, t: usize, u: usize) -> Array3<f64> {
    Array3::from_shape_fn((n, t, u), |(i, j, k)| {
        if k == u - 1 {
            0.0
        } else {
            ((i * 7 + j * 3 + k * 5) % 4) as f64
        }
    })
}

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/recording_reference.json"
    ))
    .expect("the committed reference");
    serde_json::from_str(&text).expect("JSON")
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-10 * want.abs().max(1.0),
        "{what}: {got} vs scikit-learn's {want}"
    );
}

fn flat(a: &Array3<f64>) -> Array2<f64> {
    let (n, t, d) = a.dim();
    a.to_shape((n * t, d)).expect("contiguous").to_owned()
}

#[test]
fn decoding_matches_grid_searched_ridge() {
    let want = reference();
    let train = rates(4, 7, 5, 0.0);
    let eval = rates(5, 7, 5, 0.4);
    let d = decode_r2(
        train.view(),
        behaviour(&train).view(),
        eval.view(),
        behaviour(&eval).view(),
    )
    .unwrap();
    // The grid's winner is not its smallest alpha: the CV chose.
    assert_eq!(d.alpha, want["decode_alpha"].as_f64().unwrap());
    assert!(d.alpha > 1e-4);
    close(d.r2, want["decode_r2"].as_f64().unwrap(), "decoding R²");
}

#[test]
fn bits_per_spike_matches_nlb_tools() {
    let want = reference();
    let spikes = counts(6, 4, 3);
    let mut pred = rates(6, 4, 3, 0.1).mapv(|r| 0.2 + r.cos().abs());
    pred[[0, 0, 1]] = 0.0;
    close(
        bits_per_spike(pred.view(), spikes.view()).unwrap(),
        want["bits_per_spike"].as_f64().unwrap(),
        "bits per spike",
    );
}

#[test]
fn r2_is_scikit_learns_uniform_average() {
    let want = reference();
    let eval = rates(5, 7, 5, 0.4);
    let b = flat(&behaviour(&eval));
    let p = flat(&eval).select(Axis(1), &[0, 1]);
    close(
        r2_score(p.view(), b.view()),
        want["r2_uniform"].as_f64().unwrap(),
        "r2_score",
    );
}
