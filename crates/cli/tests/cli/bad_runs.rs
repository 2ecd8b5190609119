//! Bad input to the run-reading commands gets a clear error through the
//! binary: a directory that is not a run, a run without a checkpoint, and a
//! checkpoint of a model of another shape.

use std::path::Path;
use std::process::Command;

use crate::support::ok;

const EXE: &str = env!("CARGO_BIN_EXE_latentdyn");

fn fails(args: &[&str], dir: &Path) -> String {
    let out = Command::new(EXE)
        .args(args)
        .arg(dir)
        .arg("--datasets")
        .arg(dir.join("datasets"))
        .output()
        .expect("latentdyn runs");
    assert!(
        !out.status.success(),
        "{args:?} {} succeeded",
        dir.display()
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn run_commands_explain_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let datasets = tmp.path().join("datasets");

    // Not a run at all.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for cmd in [&["fixed-points"][..], &["eval"], &["figures"]] {
        let err = fails(cmd, &empty);
        assert!(
            err.contains("config.json") && err.contains("empty"),
            "{cmd:?}: {err}"
        );
    }

    // A tiny real run, then its checkpoint taken away.
    let run = tmp.path().join("run");
    ok(Command::new(EXE)
        .args(["data", "generate", "--system", "arneodo", "--obs-dim", "6"])
        .args(["--n-samples", "60", "--n-timesteps", "20", "--out"])
        .arg(&datasets)
        .output()
        .unwrap());
    let npz = datasets.join("Arneodo6_60S_20T_35P_0seed_poisson.npz");
    ok(Command::new(EXE)
        .args([
            "train",
            "--model",
            "gru",
            "--latent",
            "3",
            "--epochs",
            "2",
            "--threads",
            "1",
        ])
        .args([
            "--set",
            "train.batch_size=16",
            "--set",
            "model.encoder_size=8",
            "--data",
        ])
        .arg(&npz)
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap());
    let best = run.join("best.safetensors");
    let saved = std::fs::read(&best).unwrap();
    std::fs::remove_file(&best).unwrap();
    for cmd in [&["fixed-points"][..], &["eval"]] {
        let err = fails(cmd, &run);
        assert!(
            err.contains("best.safetensors") && err.contains("missing"),
            "{cmd:?}: {err}"
        );
    }

    // A checkpoint of another model: the config now says L = 4.
    std::fs::write(&best, saved).unwrap();
    let cfg_path = run.join("config.json");
    let cfg = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(
        &cfg_path,
        cfg.replace("\"latent_size\": 3", "\"latent_size\": 4"),
    )
    .unwrap();
    let err = fails(&["eval"], &run);
    assert!(
        err.contains("shape") && err.contains("best.safetensors"),
        "{err}"
    );
}
