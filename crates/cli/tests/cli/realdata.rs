//! The shared NWB session written by pynwb from known latent dynamics
//! (`../shared/reference/realdata/reach_a.nwb` and its truth; skipped when
//! `../shared` is absent): imported with the walkthrough's command, a
//! neural ODE trained on it scores a positive co-smoothing bits/spike
//! below the oracle's (the true rates binned the same way).
//!
//! The long comparison — GRU against NODE at the true dimensionality, 1000
//! epochs each, scored against the binned true latents — is ignored by
//! default: `cargo test --release -p latentdyn --test cli realdata:: -- --ignored --nocapture`.

use std::path::{Path, PathBuf};
use std::process::Command;

use latentdyn_analysis::{bits_per_spike, latent_r2, state_r2};
use ndarray::{Array1, Array2, Array3, Axis};
use ndarray_npy::NpzReader;

const EXE: &str = env!("CARGO_BIN_EXE_latentdyn");
const BIN_MS: usize = 20;
const WINDOW_START_MS: f64 = -250.0;

fn session() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/realdata/reach_a.nwb");
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("note: {} not found; skipping", p.display());
        None
    }
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(EXE)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{args:?}: {t}");
    t
}

fn import(dir: &Path, nwb: &Path) {
    let t = ok(
        dir,
        &[
            "data",
            "import",
            nwb.to_str().unwrap(),
            "--bin-ms",
            "20",
            "--align",
            "move_onset_time",
            "--window=-250:450",
            "--heldout-column",
            "heldout",
            "--behavior",
            "processing/behavior/hand_kinematics/hand_vel",
            "--condition",
            "condition_id",
            "--out",
            "datasets/imported",
        ],
    );
    assert!(t.contains("184 trials × 35 bins × 64 units"), "{t}");
}

/// The truth on the recording's bins: expected counts (the 1 ms rates
/// summed over each bin) and the mean latent of each bin, every trial.
fn binned_truth(nwb: &Path, align: &[f64], bins: usize) -> (Array3<f64>, Array3<f64>) {
    let truth = nwb.with_extension("nwb.truth.npz");
    let mut z = NpzReader::new(std::fs::File::open(&truth).unwrap()).unwrap();
    let latents: Array2<f32> = z.by_name("latents").unwrap();
    let c: Array2<f64> = z.by_name("c").unwrap();
    let base: Array1<f64> = z.by_name("base").unwrap();
    let lens: Array1<i64> = z.by_name("trial_len_ms").unwrap();
    let starts = latentdyn_data::nwb_trials_column(nwb, "start_time").unwrap();
    let (units, dim) = (c.nrows(), c.ncols());
    let mut counts = Array3::zeros((align.len(), bins, units));
    let mut lat = Array3::zeros((align.len(), bins, dim));
    let mut first = 0usize;
    for (k, (&a, &s)) in align.iter().zip(&starts).enumerate() {
        let offset = ((a - s) * 1000.0 + WINDOW_START_MS).round() as usize;
        for b in 0..bins {
            for m in 0..BIN_MS {
                let row = first + offset + b * BIN_MS + m;
                assert!(
                    row < first + lens[k] as usize,
                    "trial {k} is shorter than its window"
                );
                let x = latents.row(row).mapv(f64::from);
                for u in 0..units {
                    let rate_hz = (base[u] + x.dot(&c.row(u))).exp();
                    counts[[k, b, u]] += rate_hz * 1e-3;
                }
                for d in 0..dim {
                    lat[[k, b, d]] += x[d] / BIN_MS as f64;
                }
            }
        }
        first += lens[k] as usize;
    }
    (counts, lat)
}

/// The recording's arrays the scores need.
struct Rec {
    spikes: Array3<f64>,
    heldout: Vec<usize>,
    align: Vec<f64>,
}

fn read_rec(dir: &Path) -> Rec {
    let mut r =
        NpzReader::new(std::fs::File::open(dir.join("datasets/imported/reach_a.npz")).unwrap())
            .unwrap();
    let spikes: Array3<u32> = r.by_name("spikes").unwrap();
    let heldout: Array1<u8> = r.by_name("heldout").unwrap();
    let align: Array1<f64> = r.by_name("align_times").unwrap();
    Rec {
        spikes: spikes.mapv(f64::from),
        heldout: (0..heldout.len()).filter(|&u| heldout[u] == 1).collect(),
        align: align.to_vec(),
    }
}

/// Trains `model` at L = 6 for `epochs` and returns its test posterior:
/// trial indices, rates, latents.
fn train_and_infer(
    dir: &Path,
    model: &str,
    epochs: usize,
) -> (Vec<usize>, Array3<f64>, Array3<f64>) {
    let out = format!("runs/{model}-{epochs}");
    ok(
        dir,
        &[
            "train",
            "--data",
            "datasets/imported/reach_a.npz",
            "--model",
            model,
            "--latent",
            "6",
            "--epochs",
            &epochs.to_string(),
            "--threads",
            "1",
            "--out",
            &out,
        ],
    );
    let post = format!("{out}/test.npz");
    ok(dir, &["infer", &out, "--split", "test", "--out", &post]);
    let mut r = NpzReader::new(std::fs::File::open(dir.join(&post)).unwrap()).unwrap();
    let trials: Array1<i64> = r.by_name("trials").unwrap();
    let rates: Array3<f64> = r.by_name("rates").unwrap();
    let latents: Array3<f64> = r.by_name("latents").unwrap();
    (trials.iter().map(|&i| i as usize).collect(), rates, latents)
}

fn co_bps(rates: &Array3<f64>, spikes: &Array3<f64>, heldout: &[usize]) -> f64 {
    bits_per_spike(
        rates.select(Axis(2), heldout).view(),
        spikes.select(Axis(2), heldout).view(),
    )
    .unwrap()
}

#[test]
fn a_node_fitted_to_the_session_scores_between_zero_and_the_oracle() {
    let Some(nwb) = session() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    import(dir, &nwb);
    let rec = read_rec(dir);
    let (oracle_counts, _) = binned_truth(&nwb, &rec.align, rec.spikes.dim().1);
    let (trials, rates, _) = train_and_infer(dir, "node", 300);
    let spikes = rec.spikes.select(Axis(0), &trials);
    let oracle = co_bps(
        &oracle_counts.select(Axis(0), &trials),
        &spikes,
        &rec.heldout,
    );
    let model = co_bps(&rates, &spikes, &rec.heldout);
    eprintln!("test split co-bps: oracle {oracle:.4}, NODE L6 after 300 epochs {model:.4}");
    assert!(
        oracle > model && model > 0.0,
        "oracle {oracle}, model {model}"
    );
}

#[test]
#[ignore = "trains two models for 1000 epochs each (about 15 minutes on two cores)"]
fn node_recovers_the_sessions_dimensionality_better_than_gru() {
    let Some(nwb) = session() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    import(dir, &nwb);
    let rec = read_rec(dir);
    let (oracle_counts, true_latents) = binned_truth(&nwb, &rec.align, rec.spikes.dim().1);
    let mut scores = Vec::new();
    for model in ["gru", "node"] {
        let (trials, rates, latents) = train_and_infer(dir, model, 1000);
        let spikes = rec.spikes.select(Axis(0), &trials);
        let truth = true_latents.select(Axis(0), &trials);
        let oracle = co_bps(
            &oracle_counts.select(Axis(0), &trials),
            &spikes,
            &rec.heldout,
        );
        let co = co_bps(&rates, &spikes, &rec.heldout);
        let s = state_r2(truth.view(), latents.view()).unwrap();
        let l = latent_r2(latents.view(), truth.view()).unwrap();
        let ev = ok(dir, &["eval", &format!("runs/{model}-1000")]);
        eprintln!(
            "{model} L6, 1000 epochs, test split: co-bps {co:.4} (oracle {oracle:.4}), \
             state R² {s:.4}, latent R² {l:.4}\n{ev}"
        );
        scores.push((s, l));
    }
    let (gru, node) = (scores[0], scores[1]);
    assert!(
        node.0 > gru.0 && node.1 > gru.1,
        "state / latent R²: GRU {gru:?}, NODE {node:?}"
    );
}
