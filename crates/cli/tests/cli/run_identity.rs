//! What a run directory may be trusted for, through the binary as a user
//! meets it: an edited grid does not pass off old runs as its own, a
//! finished run is not retrained (with or without its last checkpoint) and
//! its summary is left alone, a changed checkpoint is refused, merged
//! directories with different copies of a cell are an error, `--out` does
//! not overwrite a folder that holds no run, a report on a killed grid
//! shows the epochs it has, bad sizes and names fail first, and a grid's
//! workers end with a runner killed by SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{fails, ok, EXE};
use std::time::{Duration, Instant};

const TINY: [&str; 4] = [
    "dataset.n_samples=60",
    "dataset.n_timesteps=20",
    "train.batch_size=16",
    "model.encoder_size=8",
];

fn cmd(dir: &Path) -> Command {
    let mut c = Command::new(EXE);
    c.current_dir(dir);
    c
}

fn train(dir: &Path, out: &str, epochs: usize, extra: &[&str]) -> Output {
    let mut c = cmd(dir);
    c.args(["train", "--model", "gru", "--latent", "2", "--threads", "1"])
        .args(["--epochs", &epochs.to_string(), "--out", out]);
    for s in TINY {
        c.args(["--set", s]);
    }
    c.args(extra).output().unwrap()
}

fn grid(dir: &Path, name: &str, epochs: usize, seeds: &str) -> PathBuf {
    let path = dir.join(format!("{name}-{epochs}.toml"));
    let set = TINY.map(|s| format!("\"{s}\"")).join(", ");
    std::fs::write(
        &path,
        format!(
            "name = \"{name}\"\ndescription = \"test\"\nepochs = {epochs}\n[[groups]]\n\
             datasets = [\"arneodo\"]\nmodels = [\"gru\"]\nlatents = [2]\nseeds = [{seeds}]\nset = [{set}]\n"
        ),
    )
    .unwrap();
    path
}

fn ablate(dir: &Path, grid: &Path, root: &str) -> Command {
    let mut c = cmd(dir);
    c.args(["ablate", "--grid"]).arg(grid).args([
        "--out",
        root,
        "--workers",
        "1",
        "--device",
        "cpu",
    ]);
    c
}

#[test]
fn finished_runs_are_kept_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(train(dir, "run", 3, &[]));
    let summary = std::fs::read(dir.join("run/summary.json")).unwrap();
    let metrics = std::fs::read(dir.join("run/metrics.csv")).unwrap();

    // Rerun: nothing trains, nothing is rewritten (peak memory included).
    let again = ok(train(dir, "run", 3, &[]));
    assert!(again.contains("already completed"), "{again}");
    // Without its last checkpoint (deleted to save disk): still not retrained.
    std::fs::remove_file(dir.join("run/last.safetensors")).unwrap();
    ok(train(dir, "run", 3, &[]));
    assert_eq!(
        std::fs::read(dir.join("run/summary.json")).unwrap(),
        summary
    );
    assert_eq!(std::fs::read(dir.join("run/metrics.csv")).unwrap(), metrics);

    // More epochs on a finished run: the differing field and --fresh named.
    let e = fails(train(dir, "run", 5, &[]));
    assert!(
        e.contains("train.epochs: 3 → 5") && e.contains("--fresh"),
        "{e}"
    );

    // A flipped bit in the best checkpoint: eval refuses it.
    let best = dir.join("run/best.safetensors");
    let mut b = std::fs::read(&best).unwrap();
    let n = b.len();
    b[n - 3] ^= 0x10;
    std::fs::write(&best, &b).unwrap();
    let e = fails(cmd(dir).args(["eval", "run"]).output().unwrap());
    assert!(
        e.contains("SHA-256") && e.contains("best.safetensors"),
        "{e}"
    );
    // A deleted one is not "not finished an epoch yet".
    std::fs::remove_file(&best).unwrap();
    let e = fails(cmd(dir).args(["eval", "run"]).output().unwrap());
    assert!(
        e.contains("deleted") && e.contains("completed after 3 epochs"),
        "{e}"
    );

    // Another seed's arrays under this dataset's name and an old-style
    // metadata file (no content hash): the run's own record refuses them.
    ok(train(dir, "seed1", 1, &["--set", "dataset.seed=1"]));
    let ds = dir.join("datasets");
    let npz = |seed: u64| ds.join(format!("Arneodo10_60S_20T_35P_{seed}seed_poisson.npz"));
    std::fs::copy(npz(1), npz(0)).unwrap();
    let json = npz(0).with_extension("json");
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    meta.as_object_mut().unwrap().remove("content_sha256");
    std::fs::write(&json, serde_json::to_string(&meta).unwrap()).unwrap();
    std::fs::write(&best, b"x").unwrap();
    let e = fails(cmd(dir).args(["eval", "run"]).output().unwrap());
    assert!(
        e.contains("was trained on") && e.contains("content SHA-256"),
        "{e}"
    );
    std::fs::remove_file(&best).unwrap();

    // --fresh starts over and removes what was derived from the old run.
    std::fs::write(dir.join("run/eval.json"), "{}").unwrap();
    ok(train(dir, "run", 2, &["--fresh"]));
    assert!(!dir.join("run/eval.json").exists());
}

#[test]
fn a_folder_that_is_not_a_run_is_not_overwritten_and_sizes_fail_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("mine")).unwrap();
    std::fs::write(dir.join("mine/metrics.csv"), "my own data\n").unwrap();
    let e = fails(train(dir, "mine", 2, &[]));
    assert!(
        e.contains("not a run directory") && e.contains("metrics.csv"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("mine/metrics.csv")).unwrap(),
        "my own data\n"
    );

    for threads in ["0", "100000"] {
        let e = fails(
            cmd(dir)
                .args(["train", "--epochs", "1", "--threads", threads, "--out", "t"])
                .output()
                .unwrap(),
        );
        assert!(e.contains("threads"), "{threads}: {e}");
    }
    let e = fails(
        cmd(dir)
            .args([
                "train", "--model", "node", "--latent", "100000", "--epochs", "1", "--out", "big",
            ])
            .output()
            .unwrap(),
    );
    assert!(e.contains("latent_size"), "{e}");
}

#[test]
fn edited_grids_merges_and_killed_grids_are_told_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let g2 = grid(dir, "g", 2, "0");
    ok(ablate(dir, &g2, "r").output().unwrap());
    // A damaged best checkpoint in a finished cell: the rerun says so
    // instead of skipping the cell for good.
    let best = dir.join("r/g/arneodo/gru-L2-s0/best.safetensors");
    let good = std::fs::read(&best).unwrap();
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 2] ^= 4;
    std::fs::write(&best, &bad).unwrap();
    let e = fails(ablate(dir, &g2, "r").output().unwrap());
    assert!(e.contains("SHA-256") && e.contains("failed"), "{e}");
    std::fs::write(&best, &good).unwrap();
    ok(ablate(dir, &g2, "r").output().unwrap());

    // The same grid with more epochs does not report the old runs as its own.
    let g3 = grid(dir, "g", 3, "0");
    let e = fails(ablate(dir, &g3, "r").output().unwrap());
    assert!(
        e.contains("train.epochs: 2 → 3") && e.contains("another --out"),
        "{e}"
    );

    // Two roots with different runs of one cell cannot be merged.
    ok(ablate(dir, &g3, "s").output().unwrap());
    let e = fails(
        cmd(dir)
            .args(["report", "r/g", "s/g", "--no-analysis"])
            .output()
            .unwrap(),
    );
    assert!(
        e.contains("r/g/arneodo/gru-L2-s0") && e.contains("s/g/arneodo/gru-L2-s0"),
        "{e}"
    );
    // A root holding no runs is an error, not "0 runs".
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let e = fails(cmd(dir).args(["report", "empty"]).output().unwrap());
    assert!(e.contains("no training runs"), "{e}");

    // A killed run (no summary.json) reports the epochs it has.
    std::fs::remove_file(dir.join("s/g/arneodo/gru-L2-s0/summary.json")).unwrap();
    ok(cmd(dir)
        .args(["report", "s/g", "--no-analysis"])
        .output()
        .unwrap());
    let csv = std::fs::read_to_string(dir.join("s/g/results.csv")).unwrap();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!((row[4], row[5]), ("interrupted", "3"), "{csv}");
    assert!(row[7].parse::<f64>().unwrap().is_finite(), "{csv}");

    // Names that would leave --out are refused.
    let bad = dir.join("bad.toml");
    let text = std::fs::read_to_string(&g2)
        .unwrap()
        .replace("name = \"g\"", "name = \"../../escape\"");
    std::fs::write(&bad, text).unwrap();
    let e = fails(ablate(dir, &bad, "r").output().unwrap());
    assert!(e.contains("--out"), "{e}");
}

#[test]
fn workers_end_with_a_killed_runner_and_a_trained_directory_is_locked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let g = grid(dir, "long", 400, "0");
    let mut runner = ablate(dir, &g, "r").spawn().unwrap();
    let run = dir.join("r/long/arneodo/gru-L2-s0");
    let lock = run.join("train.lock");
    let start = Instant::now();
    while !lock.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the worker never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // While it trains, a second trainer in the same directory is refused.
    let cfg = run.join("cell.json");
    let e = fails(
        cmd(dir)
            .args(["train", "--config"])
            .arg(&cfg)
            .args(["--out", "r/long/arneodo/gru-L2-s0", "--threads", "1"])
            .output()
            .unwrap(),
    );
    assert!(e.contains("being trained by process"), "{e}");
    // SIGKILL the runner: its worker stops at the next epoch and lets go.
    runner.kill().unwrap();
    runner.wait().unwrap();
    let killed = Instant::now();
    while lock.exists() {
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "the worker outlived its runner"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
    assert!(
        summary.contains("interrupted") && summary.contains("ended"),
        "{summary}"
    );
}

#[test]
fn odd_inputs_get_clear_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A directory named as a dataset.
    std::fs::create_dir_all(dir.join("some/folder")).unwrap();
    let e = fails(
        cmd(dir)
            .args(["train", "--data", "some/folder", "--epochs", "1"])
            .output()
            .unwrap(),
    );
    assert!(e.contains("is a directory"), "{e}");
    // A one-bin dataset fails where it is asked for, not in the metrics.
    let e = fails(
        cmd(dir)
            .args([
                "data",
                "generate",
                "--system",
                "arneodo",
                "--n-timesteps",
                "1",
                "--n-samples",
                "10",
            ])
            .output()
            .unwrap(),
    );
    assert!(e.contains("n_timesteps"), "{e}");
    // --tasks 0 is refused instead of writing a one-task script.
    let e = fails(
        cmd(dir)
            .args(["ablate", "--emit-slurm", "job.sh", "--tasks", "0"])
            .output()
            .unwrap(),
    );
    assert!(
        e.contains("--tasks 0") && !dir.join("job.sh").exists(),
        "{e}"
    );
    // --config takes the TOML of configs/presets too.
    ok(train(dir, "json-run", 1, &[]));
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("json-run/config.json")).unwrap())
            .unwrap();
    let toml_text = toml::to_string(&cfg).unwrap();
    std::fs::write(dir.join("run.toml"), toml_text).unwrap();
    let out = ok(cmd(dir)
        .args([
            "train",
            "--config",
            "run.toml",
            "--out",
            "toml-run",
            "--threads",
            "1",
        ])
        .output()
        .unwrap());
    assert!(out.contains("completed after 1/1 epoch in"), "{out}");
    assert!(!std::fs::read(dir.join("toml-run/metrics.csv"))
        .unwrap()
        .is_empty());
    // eval of a read-only run still prints its numbers.
    ok(train(dir, "ro", 1, &[]));
    let mut perm = std::fs::metadata(dir.join("ro")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o555);
    std::fs::set_permissions(dir.join("ro"), perm.clone()).unwrap();
    let writable = std::fs::write(dir.join("ro/probe"), b"x").is_ok();
    let out = ok(cmd(dir).args(["eval", "ro"]).output().unwrap());
    assert!(out.contains("valid") && out.contains("test"), "{out}");
    if !writable {
        assert!(out.contains("could not save eval.json"), "{out}");
    }
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(dir.join("ro"), perm).unwrap();
}
