//! A recording through the binary, as a user meets it: `data import` of an
//! NWB session, `data show`, `train`, `eval`, `infer`, `fixed-points` and
//! `figures`, on a small fixture of our own; a recording file changed
//! after training is refused; bad import flags fail with a clear message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{fails, ok, EXE};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/tests/fixtures/nwb")
        .join(name)
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(EXE)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn import_tiny(dir: &Path) -> String {
    let nwb = fixture("tiny.nwb");
    ok(run(
        dir,
        &[
            "data",
            "import",
            nwb.to_str().unwrap(),
            "--bin-ms",
            "50",
            "--align",
            "move",
            "--window=-100:200",
            "--heldout-column",
            "heldout",
            "--behavior",
            "processing/behavior/hand/vel",
            "--condition",
            "condition_id",
            "--out",
            "rec",
        ],
    ))
}

#[test]
fn import_train_eval_infer_fixed_points_and_figures_on_a_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let t = import_tiny(dir);
    assert!(
        t.contains("3 trials × 6 bins × 3 units (50 ms bins)"),
        "{t}"
    );
    assert!(t.contains("held out         1 units"), "{t}");
    assert!(t.contains("1 unit(s) without a spike"), "{t}");

    // A reader that closes the pipe at once ends the command quietly.
    let mut child = Command::new(EXE)
        .current_dir(dir)
        .args(["data", "show", "rec/tiny.npz", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        matches!(out.status.code(), Some(0) | Some(141)),
        "{:?}",
        out.status
    );

    let t = ok(run(dir, &["data", "show", "rec/tiny.npz", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&t).unwrap();
    assert_eq!(v["metadata"]["format"], "latentdyn-recording");
    assert_eq!(v["metadata"]["nwb"]["summary"]["spikes_binned"], 10);
    assert_eq!(v["summary"]["heldout_units"], 1);

    for model in ["gru", "node"] {
        let out = format!("run-{model}");
        let t = ok(run(
            dir,
            &[
                "train",
                "--data",
                "rec/tiny.npz",
                "--model",
                model,
                "--latent",
                "2",
                "--epochs",
                "2",
                "--threads",
                "1",
                "--set",
                "model.encoder_size=8",
                "--out",
                &out,
            ],
        ));
        assert!(t.contains("co-bps") || t.contains("held-in"), "{t}");
        let cfg: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(&out).join("config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(cfg["dataset"]["recording"], "tiny");
        assert_eq!(cfg["data_file"]["source"], "rec/tiny.npz");

        let t = ok(run(dir, &["eval", &out, "--no-fixed-points"]));
        assert!(t.contains("co-bps") && !t.contains("fixed points"), "{t}");
        let t = ok(run(dir, &["eval", &out]));
        assert!(t.contains("co-bps") && t.contains("no ground truth"), "{t}");
        assert!(!t.contains("NaN"), "{t}");

        let t = ok(run(
            dir,
            &["infer", &out, "--split", "test", "--out", "post.npz"],
        ));
        assert!(t.contains("post.npz"), "{t}");
        let npz = dir.join("post.npz");
        let mut r = ndarray_npy::NpzReader::new(std::fs::File::open(&npz).unwrap()).unwrap();
        let rates: ndarray::Array3<f64> = r.by_name("rates").unwrap();
        let z0: ndarray::Array2<f64> = r.by_name("z0").unwrap();
        let trials: ndarray::Array1<i64> = r.by_name("trials").unwrap();
        assert_eq!(rates.dim(), (1, 6, 3));
        assert_eq!(z0.dim(), (1, 2));
        assert_eq!(trials.len(), 1);

        let t = ok(run(dir, &["fixed-points", &out]));
        assert!(t.contains("no ground truth"), "{t}");
        let fp: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(&out).join("fixed_points.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(fp["bin_ms"], 50.0);
        assert!(fp["truth"].is_null());
        let t = ok(run(dir, &["figures", &out]));
        assert!(
            t.contains("trajectories.svg") && t.contains("learning.svg"),
            "{t}"
        );
    }

    // The recording changed after training: refused, before it is parsed.
    std::fs::copy(fixture("tiny.nwb"), dir.join("rec/tiny.npz")).unwrap();
    let t = fails(run(dir, &["eval", "run-gru"]));
    assert!(t.contains("sha256"), "{t}");
}

#[test]
fn bad_import_flags_fail_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let nwb = fixture("tiny.nwb");
    let nwb = nwb.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--window=-100"], "START:END"),
        (&["--window=-100:210", "--bin-ms", "50"], "whole number"),
        (&["--align", "nope"], "nope"),
        (&["--heldout-column", "missing_col"], "missing_col"),
    ];
    for (flags, want) in cases {
        let mut args = vec!["data", "import", nwb, "--out", "rec"];
        args.extend_from_slice(flags);
        let t = fails(run(dir, &args));
        assert!(t.contains(want), "{flags:?}: {t}");
    }
    let t = fails(run(dir, &["data", "import", "no-such.nwb"]));
    assert!(t.contains("no-such.nwb"), "{t}");
}

#[test]
fn a_grid_over_a_recording_reports_co_smoothing_in_place_of_the_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    import_tiny(dir);
    std::fs::write(
        dir.join("rec.toml"),
        "name = \"rec\"\ndescription = \"tiny recording\"\nepochs = 2\n\n[[groups]]\n\
         datasets = [\"rec/tiny.npz\"]\nmodels = [\"gru\", \"node\"]\nlatents = [1, 2]\n\
         seeds = [0]\nset = [\"model.encoder_size=8\"]\n",
    )
    .unwrap();
    let t = ok(run(
        dir,
        &[
            "ablate",
            "--grid",
            "rec.toml",
            "--out",
            "g",
            "--workers",
            "1",
        ],
    ));
    assert!(t.contains("recordings (no ground truth"), "{t}");
    assert!(t.contains("(v) on a recording"), "{t}");
    let csv = std::fs::read_to_string(dir.join("g/rec/results.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(r[col("dataset")], "tiny");
        // No truth: empty, never NaN or 0.
        assert_eq!(r[col("rate_r2")], "", "{r:?}");
        assert_eq!(r[col("state_r2")], "", "{r:?}");
        assert!(r[col("co_bps")].parse::<f64>().is_ok() || r[col("co_bps")].is_empty());
        assert!(r[col("heldin_bps")].parse::<f64>().is_ok(), "{r:?}");
    }
    assert!(!csv.contains("NaN"), "{csv}");
    let html = std::fs::read_to_string(dir.join("g/rec/report/index.html")).unwrap();
    assert!(html.contains("<h2>Recordings</h2>") && html.contains("co-bps"));
    assert!(!html.contains("NaN"), "the report shows NaN");
}
