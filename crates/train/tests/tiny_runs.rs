//! Tiny training runs through the public API: the loss falls, metrics are
//! finite and in range, a killed run resumes bit-identically, a diverging run
//! is recorded as such, and bad input is refused with a clear error.

use std::collections::HashMap;
use std::path::Path;

use latentdyn_data::Data;
use latentdyn_models::Kernels;
use latentdyn_train::{files, train, MetricsCsv, RunConfig, RunOptions, RunStatus};
use tch::Tensor;

#[path = "support/tiny.rs"]
mod tiny;

use tiny::tiny_synthetic;

fn tiny_dataset() -> Data {
    Data::Synthetic(tiny_synthetic())
}

fn tiny_config(preset: &str, data: &Data, epochs: usize) -> RunConfig {
    let mut cfg = RunConfig::preset(preset, Some(3), data.spec(), 0)
        .unwrap()
        .with_epochs(epochs);
    cfg.train.batch_size = 16;
    cfg.model.encoder_size = 16;
    cfg
}

fn opts(dir: &Path) -> RunOptions {
    let mut o = RunOptions::new(dir);
    o.threads = Some(1);
    o
}

fn tensors(path: &Path) -> HashMap<String, Vec<u64>> {
    Tensor::read_safetensors(path)
        .unwrap()
        .into_iter()
        .map(|(name, t)| {
            let flat = t.to_kind(tch::Kind::Double).flatten(0, -1);
            let bits = Vec::<f64>::try_from(&flat)
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect();
            (name, bits)
        })
        .collect()
}

#[test]
fn every_dynamics_trains_and_its_loss_falls() {
    let data = tiny_dataset();
    for preset in ["gru", "node", "node-discrete", "ablation2", "ablation4"] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = tiny_config(preset, &data, 6);
        let mut seen = Vec::new();
        let summary = train(&cfg, &data, &opts(dir.path()), &mut |r| {
            seen.push(r.clone())
        })
        .unwrap();
        assert_eq!(summary.status, RunStatus::Completed, "{preset}");
        assert_eq!(summary.epochs_done, 6);
        if cfg!(target_os = "linux") {
            // This test process holds libtorch and the dataset: tens of MiB at least.
            let rss = summary.peak_rss_mib.expect("VmHWM on Linux");
            assert!(rss > 10.0 && rss < 65536.0, "peak RSS {rss} MiB");
        }
        assert_eq!(seen.len(), 6);
        let first = seen.first().unwrap().train_loss;
        let last = seen.last().unwrap().train_loss;
        assert!(
            last < first,
            "{preset}: train loss {first} -> {last} did not fall"
        );
        for r in &seen {
            let m = r.metrics.truth().expect("synthetic data have a truth");
            assert!(m.nll.is_finite() && m.nll > 0.0, "{preset}: {m:?}");
            for v in [m.rate_r2, m.state_r2, m.latent_r2] {
                assert!(
                    v.is_finite() && (-10.0..=1.0).contains(&v),
                    "{preset}: {m:?}"
                );
            }
        }
        for f in [
            files::CONFIG,
            files::METRICS,
            files::SUMMARY,
            files::BEST,
            files::LAST,
        ] {
            assert!(dir.path().join(f).exists(), "{preset}: no {f}");
        }
        let rows = MetricsCsv::read(&dir.path().join(files::METRICS)).unwrap();
        assert_eq!(rows, seen);
        let reported = summary.reported.unwrap();
        assert_eq!(
            reported.epochs, 1,
            "500 of 3000 epochs, scaled to a 6-epoch run"
        );
        assert!(reported.nll.is_finite());
    }
}

#[test]
fn an_interrupted_run_resumes_bit_identically() {
    let data = tiny_dataset();
    let cfg = tiny_config("gru", &data, 5);
    let straight = tempfile::tempdir().unwrap();
    train(&cfg, &data, &opts(straight.path()), &mut |_| {}).unwrap();

    let resumed = tempfile::tempdir().unwrap();
    let mut first = opts(resumed.path());
    first.stop_after = Some(2);
    let s = train(&cfg, &data, &first, &mut |_| {}).unwrap();
    assert_eq!(s.status, RunStatus::Interrupted);
    assert_eq!(s.epochs_done, 2);
    // A kill after the checkpoint leaves a half-written row behind.
    std::fs::OpenOptions::new()
        .append(true)
        .open(resumed.path().join(files::METRICS))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"2,70,1.0"))
        .unwrap();
    let s = train(&cfg, &data, &opts(resumed.path()), &mut |_| {}).unwrap();
    assert_eq!(s.status, RunStatus::Completed);
    assert_eq!(s.epochs_done, 5);

    for f in [files::LAST, files::BEST] {
        let a = tensors(&straight.path().join(f));
        let b = tensors(&resumed.path().join(f));
        let mut keys: Vec<&String> = a.keys().collect();
        keys.sort();
        assert_eq!(keys.len(), b.len(), "{f}: different tensors");
        let differ: Vec<&&String> = keys
            .iter()
            .filter(|k| k.as_str() != "__progress.wall_seconds" && a[**k] != b[**k])
            .collect();
        assert!(
            differ.is_empty(),
            "{f}: tensors differ after resuming: {differ:?}"
        );
    }
    let a = MetricsCsv::read(&straight.path().join(files::METRICS)).unwrap();
    let b = MetricsCsv::read(&resumed.path().join(files::METRICS)).unwrap();
    assert_eq!(a.len(), 5);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.epoch, x.train_loss.to_bits()),
            (y.epoch, y.train_loss.to_bits())
        );
        assert_eq!(x.metrics, y.metrics);
    }
}

#[test]
fn a_diverging_run_is_marked_and_keeps_its_files() {
    let data = tiny_dataset();
    let mut cfg = tiny_config("ablation4", &data, 4);
    cfg.train.optimizer.lr = 1e30;
    let dir = tempfile::tempdir().unwrap();
    let s = train(&cfg, &data, &opts(dir.path()), &mut |_| {}).unwrap();
    assert_eq!(s.status, RunStatus::Diverged, "{s:?}");
    assert!(
        s.message.as_deref().unwrap_or("").contains("non-finite"),
        "{s:?}"
    );
    let summary = std::fs::read_to_string(dir.path().join(files::SUMMARY)).unwrap();
    assert!(summary.contains("\"diverged\""), "{summary}");
    assert!(dir.path().join(files::METRICS).exists());
}

#[test]
fn bad_configs_and_mismatched_directories_are_refused() {
    let data = tiny_dataset();
    let mut cfg = tiny_config("gru", &data, 2);
    let err = cfg.set("train.optimizer.lrr=0.1").unwrap_err().to_string();
    assert!(err.contains("lrr"), "{err}");
    let err = cfg.set("train.optimizer.lr=-1").unwrap_err().to_string();
    assert!(err.contains("train.optimizer.lr"), "{err}");
    cfg.set("train.optimizer.lr=0.002").unwrap();
    assert_eq!(cfg.train.optimizer.lr, 0.002);
    let err = RunConfig::preset("lstm", None, data.spec(), 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("lstm") && err.contains("node"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    train(&cfg, &data, &opts(dir.path()), &mut |_| {}).unwrap();
    let mut other = cfg.clone();
    other.seed = 9;
    let err = train(&other, &data, &opts(dir.path()), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("another configuration"), "{err}");

    let mut wrong_data = cfg.clone();
    wrong_data.set("dataset.seed=4").unwrap();
    let err = train(
        &wrong_data,
        &data,
        &opts(tempfile::tempdir().unwrap().path()),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("dataset"), "{err}");
}

/// The hand-written CPU kernels and libtorch's operators train the same
/// model: the same seed gives the same first-epoch loss up to f32 rounding.
#[test]
fn hand_kernels_and_libtorch_agree_on_the_first_epoch() {
    let data = tiny_dataset();
    for preset in ["gru", "node"] {
        let cfg = tiny_config(preset, &data, 2);
        let mut losses = Vec::new();
        for kernels in [Kernels::Hand, Kernels::Libtorch] {
            let dir = tempfile::tempdir().unwrap();
            let mut o = opts(dir.path());
            o.kernels = kernels;
            let mut first = None;
            train(&cfg, &data, &o, &mut |r| {
                first.get_or_insert((r.train_loss, r.metrics.nll()));
            })
            .unwrap();
            losses.push(first.unwrap());
        }
        let (a, b) = (losses[0], losses[1]);
        assert!(
            (a.0 - b.0).abs() < 1e-4 * b.0.abs(),
            "{preset}: train {a:?} vs {b:?}"
        );
        assert!(
            (a.1 - b.1).abs() < 1e-3 * b.1.abs(),
            "{preset}: valid {a:?} vs {b:?}"
        );
    }
}
