//! Training on a recording: the encoder reads the held-in units, the
//! readout predicts all of them, validation scores co-smoothing, decoding
//! and PSTHs; `evaluate` and `infer` agree with a computation by hand
//! from the posterior's rates.

use latentdyn_analysis::{bits_per_spike, poisson_nll};
use latentdyn_data::{Data, Recording};
use latentdyn_train::{
    evaluate, files, infer, train, MetricsCsv, RunConfig, RunOptions, RunStatus, Scores,
    RECORDING_COLUMNS,
};
use ndarray::Axis;

#[path = "support/tiny.rs"]
mod tiny;

/// A recording made from a small synthetic dataset, its truth dropped:
/// units 1 and 4 held out, the true latents as behaviour, three conditions.
fn recording() -> Data {
    let ds = tiny::tiny_synthetic();
    let rec = Recording::new(
        "synthetic-recording",
        ds.spikes.clone(),
        Some(10.0),
        vec![false, true, false, false, true, false],
        Some(ds.latents.clone()),
        Some((0..60).map(|i| (i % 3) as i64).collect()),
        None,
        [
            ds.train_idx.clone(),
            ds.valid_idx.clone(),
            ds.test_idx.clone(),
        ],
    )
    .unwrap();
    Data::Recording(rec)
}

fn config(preset: &str, data: &Data, epochs: usize) -> RunConfig {
    let mut cfg = RunConfig::preset(preset, Some(3), data.spec(), 0)
        .unwrap()
        .with_epochs(epochs);
    cfg.train.batch_size = 16;
    cfg.model.encoder_size = 16;
    cfg
}

#[test]
fn gru_and_node_train_on_a_recording_and_score_it() {
    let data = recording();
    for preset in ["gru", "node"] {
        let dir = tempfile::tempdir().unwrap();
        let mut o = RunOptions::new(dir.path());
        o.threads = Some(1);
        let cfg = config(preset, &data, 4);
        let mut seen = Vec::new();
        let s = train(&cfg, &data, &o, &mut |r| seen.push(r.clone())).unwrap();
        assert_eq!(s.status, RunStatus::Completed, "{preset}");
        for r in &seen {
            let m = r.metrics.recording().expect("a recording's scores");
            assert!(m.nll.is_finite(), "{preset}: {m:?}");
            for v in [m.co_bps, m.heldin_bps, m.velocity_r2, m.psth_r2] {
                assert!(v.is_some_and(f64::is_finite), "{preset}: {m:?}");
            }
        }
        let rep = s.reported.as_ref().unwrap();
        assert!(rep.co_bps.is_some() && rep.velocity_r2.is_some());
        // No truth: nothing is reported as a truth's R², not even NaN.
        assert!(rep.rate_r2.is_none() && rep.state_r2.is_none());
        let summary = std::fs::read_to_string(dir.path().join(files::SUMMARY)).unwrap();
        assert!(
            !summary.contains("rate_r2") && !summary.contains("NaN"),
            "{summary}"
        );
        let header = std::fs::read_to_string(dir.path().join(files::METRICS)).unwrap();
        assert_eq!(header.lines().next().unwrap(), RECORDING_COLUMNS.join(","));
        assert_eq!(
            MetricsCsv::read(&dir.path().join(files::METRICS)).unwrap(),
            seen
        );

        // The encoder reads the 4 held-in units; the readout predicts all 6.
        let post = infer(dir.path(), &data, "valid", tch::Device::Cpu).unwrap();
        assert_eq!(post.rates.dim(), (data.valid_idx().len(), 20, 6));
        assert_eq!(post.z0.dim(), (data.valid_idx().len(), 3));
        assert_eq!(post.trials, data.valid_idx());

        // evaluate's numbers from the posterior by hand: the NLL of the
        // held-in units only, co-bps of the held-out ones.
        let ev = evaluate(dir.path(), &data, tch::Device::Cpu).unwrap();
        let Scores::Recording(m) = ev.valid else {
            panic!("a recording's scores")
        };
        let spikes = data
            .spikes()
            .select(Axis(0), data.valid_idx())
            .mapv(f64::from);
        let held_in = [0, 2, 3, 5];
        let log_rates = post.rates.mapv(f64::ln);
        let nll = poisson_nll(
            log_rates.select(Axis(2), &held_in).view(),
            spikes.select(Axis(2), &held_in).view(),
            None,
        )
        .unwrap();
        assert!((m.nll - nll).abs() < 1e-4 * nll.abs(), "{} vs {nll}", m.nll);
        let co = bits_per_spike(
            post.rates.select(Axis(2), &[1, 4]).view(),
            spikes.select(Axis(2), &[1, 4]).view(),
        )
        .unwrap();
        let got = m.co_bps.unwrap();
        assert!((got - co).abs() < 1e-4 * co.abs().max(1.0), "{got} vs {co}");
        assert!(infer(dir.path(), &data, "nope", tch::Device::Cpu).is_err());
    }
}

#[test]
fn a_recording_without_held_out_units_behaviour_or_conditions_says_so() {
    let Data::Recording(full) = recording() else {
        unreachable!()
    };
    let bare = Recording::new(
        "bare",
        full.spikes.clone(),
        None,
        vec![false; 6],
        None,
        None,
        None,
        [
            full.train_idx.clone(),
            full.valid_idx.clone(),
            full.test_idx.clone(),
        ],
    )
    .unwrap();
    let data = Data::Recording(bare);
    let dir = tempfile::tempdir().unwrap();
    let mut o = RunOptions::new(dir.path());
    o.threads = Some(1);
    let mut seen = Vec::new();
    train(&config("gru", &data, 2), &data, &o, &mut |r| {
        seen.push(r.clone())
    })
    .unwrap();
    let m = seen[0].metrics.recording().unwrap();
    assert!(m.co_bps.is_none() && m.velocity_r2.is_none() && m.psth_r2.is_none());
    assert!(m.heldin_bps.is_some());
}

#[test]
fn a_run_refuses_another_recording() {
    let data = recording();
    let dir = tempfile::tempdir().unwrap();
    let mut o = RunOptions::new(dir.path());
    o.threads = Some(1);
    let cfg = config("gru", &data, 1);
    train(&cfg, &data, &o, &mut |_| {}).unwrap();
    let Data::Recording(mut other) = recording() else {
        unreachable!()
    };
    other.spikes[[0, 0, 0]] += 1;
    other.metadata.content_sha256 = other.content_sha256();
    let other = Data::Recording(other);
    let e = evaluate(dir.path(), &other, tch::Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("content SHA-256"), "{e}");
}
