//! Invariances of the metrics, and the f64 NLL against the training loss.

use latentdyn_analysis::{
    compute_metrics, latent_r2, poisson_nll, rate_r2, state_r2, steps_in, thirds, NllBasis,
};
use ndarray::{concatenate, Array2, Array3, Axis, Slice};
use proptest::prelude::*;

/// A small deterministic generator (splitmix64) for test data.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next_f64().max(1e-300), self.next_f64());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Smooth-ish 3-D "true latents" `[samples, steps, 3]`.
fn truth(rng: &mut Rng, samples: usize, steps: usize) -> Array3<f64> {
    let phases: Vec<f64> = (0..samples * 3)
        .map(|_| std::f64::consts::TAU * rng.next_f64())
        .collect();
    Array3::from_shape_fn((samples, steps, 3), |(n, t, d)| {
        (0.2 * (d + 1) as f64 * t as f64 + phases[3 * n + d]).sin() + 0.1 * rng.normal()
    })
}

/// x·A + b applied along the last axis.
fn affine(x: &Array3<f64>, a: &Array2<f64>, b: &[f64]) -> Array3<f64> {
    let (n, t, _) = x.dim();
    let mut out = Array3::zeros((n, t, a.ncols()));
    for i in 0..n {
        for j in 0..t {
            let row = x.index_axis(Axis(0), i).index_axis(Axis(0), j).dot(a);
            for k in 0..a.ncols() {
                out[[i, j, k]] = row[k] + b[k];
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The state R² of an invertible affine image of the truth is 1, and so
    /// is the latent R²; the same holds on each third.
    #[test]
    fn invertible_affine_image_scores_one(
        seed in any::<u64>(),
        a in prop::collection::vec(-2.0f64..2.0, 9),
        b in prop::collection::vec(-5.0f64..5.0, 3),
    ) {
        let mut a = Array2::from_shape_vec((3, 3), a).unwrap();
        for i in 0..3 { a[[i, i]] += 3.0; } // diagonally dominant: invertible, not too ill-conditioned
        let mut rng = Rng(seed);
        let z = truth(&mut rng, 6, 30);
        let inferred = affine(&z, &a, &b);
        prop_assert!((state_r2(z.view(), inferred.view()).unwrap() - 1.0).abs() < 1e-9);
        prop_assert!((latent_r2(inferred.view(), z.view()).unwrap() - 1.0).abs() < 1e-9);
        for r in thirds(30) {
            let (zt, it) = (steps_in(z.view(), r.clone()), steps_in(inferred.view(), r));
            prop_assert!((state_r2(zt, it).unwrap() - 1.0).abs() < 1e-9);
        }
    }

    /// Appending a pure-noise dimension to the inferred latents lowers the
    /// state R² (the truth cannot explain it) and leaves the latent R²
    /// unchanged (the truth is still an exact affine image of the inferred).
    #[test]
    fn noise_dimension_lowers_state_r2_only(
        seed in any::<u64>(),
        a in prop::collection::vec(-2.0f64..2.0, 9),
    ) {
        let mut a = Array2::from_shape_vec((3, 3), a).unwrap();
        for i in 0..3 { a[[i, i]] += 3.0; }
        let mut rng = Rng(seed);
        let z = truth(&mut rng, 8, 25);
        let inferred = affine(&z, &a, &[0.5, -1.0, 2.0]);
        let noise = Array3::from_shape_fn((8, 25, 1), |_| rng.normal());
        let padded = concatenate(Axis(2), &[inferred.view(), noise.view()]).unwrap();
        let before = state_r2(z.view(), inferred.view()).unwrap();
        let after = state_r2(z.view(), padded.view()).unwrap();
        prop_assert!(after < before - 0.1, "{before} -> {after}");
        // the noise column's R² is small, so the mean is close to 3/4
        prop_assert!((after - 0.75).abs() < 0.05, "{after}");
        let l_before = latent_r2(inferred.view(), z.view()).unwrap();
        let l_after = latent_r2(padded.view(), z.view()).unwrap();
        prop_assert!((l_before - l_after).abs() < 1e-9, "{l_before} vs {l_after}");
    }
}

#[test]
fn rate_r2_is_one_for_the_truth_and_lower_for_a_blur() {
    let mut rng = Rng(7);
    let rates = Array3::from_shape_fn((10, 20, 4), |_| 1.0 + rng.next_f64());
    assert_eq!(rate_r2(rates.view(), rates.view()).unwrap(), 1.0);
    let blurred = rates.mapv(|r| 0.5 * r + 0.75);
    assert!(rate_r2(blurred.view(), rates.view()).unwrap() < 1.0);
}

#[test]
fn compute_metrics_bundles_everything() {
    let mut rng = Rng(3);
    let z = truth(&mut rng, 5, 70);
    let readout = Array2::from_shape_fn((3, 6), |_| rng.next_f64() - 0.5);
    let log_rates = affine(&z, &readout, &[0.0; 6]);
    let rates = log_rates.mapv(f64::exp);
    let spikes = rates.mapv(|r| r.round());
    let m = compute_metrics(
        log_rates.view(),
        spikes.view(),
        rates.view(),
        z.view(),
        z.view(),
        None,
        NllBasis::Full,
    )
    .unwrap();
    assert!((m.rate_r2 - 1.0).abs() < 1e-12);
    for t in [m.early, m.middle, m.late] {
        assert!((t.rate_r2 - 1.0).abs() < 1e-12);
        assert!((t.state_r2 - 1.0).abs() < 1e-9);
        assert!((t.latent_r2 - 1.0).abs() < 1e-9);
    }
    assert_eq!(
        m.nll,
        poisson_nll(log_rates.view(), spikes.view(), None).unwrap()
    );
    let json = serde_json::to_value(m).unwrap();
    assert!(json["early"]["state_r2"].is_number());
    // shapes are checked
    assert!(compute_metrics(
        log_rates.view(),
        spikes.view(),
        steps_in(rates.view(), 0..69),
        z.view(),
        z.view(),
        None,
        NllBasis::Full
    )
    .is_err());
    assert!(compute_metrics(
        log_rates.view(),
        spikes.view(),
        rates.view(),
        z.view(),
        z.slice_axis(Axis(0), Slice::from(0..4)),
        None,
        NllBasis::Full
    )
    .is_err());
}

/// The f64 NLL equals the libtorch training loss (`latentdyn_models::poisson_nll`).
#[test]
fn nll_agrees_with_the_torch_loss() {
    let mut rng = Rng(11);
    let log_rates = Array3::from_shape_fn((4, 12, 5), |_| rng.normal());
    let spikes = log_rates.mapv(|x| (x.exp() * 2.0 * rng.next_f64() * 2.0).floor());
    for horizon in [None, Some(1), Some(5), Some(12)] {
        let ours = poisson_nll(log_rates.view(), spikes.view(), horizon).unwrap();
        let lr = latentdyn_models::array3_to_tensor(log_rates.view(), tch::Device::Cpu)
            .unwrap()
            .to_kind(tch::Kind::Double);
        let sp = latentdyn_models::array3_to_tensor(spikes.view(), tch::Device::Cpu)
            .unwrap()
            .to_kind(tch::Kind::Double);
        // f32 round trip of the inputs: compare against the same rounded values
        let lr64 = latentdyn_models::tensor_to_array3(&lr).unwrap();
        let ours_rounded = poisson_nll(lr64.view(), spikes.view(), horizon).unwrap();
        let torch = latentdyn_models::poisson_nll(&lr, &sp, horizon)
            .unwrap()
            .double_value(&[]);
        assert!(
            (ours_rounded - torch).abs() < 1e-12 * torch.abs().max(1.0),
            "{ours_rounded} vs {torch}"
        );
        assert!((ours - torch).abs() < 1e-5, "{ours} vs {torch}");
    }
}
