//! The study's HDF5 dataset files through the binary, as a user meets them:
//! `data show`, `data import`, `train --data FILE.h5` and `study:<preset>`,
//! `eval` of such a run, and a run whose file changed afterwards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::ok;

const EXE: &str = env!("CARGO_BIN_EXE_latentdyn");
const FIXTURE: &str = "Arneodo10_10S_70T_35P_0seed_poisson.h5";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/tests/fixtures")
}

fn run(args: &[&str], cwd: &Path, study_dir: Option<&Path>) -> Output {
    let mut c = Command::new(EXE);
    c.args(args).current_dir(cwd);
    match study_dir {
        Some(d) => c.env("LATENTDYN_STUDY_DATASETS", d),
        None => c.env_remove("LATENTDYN_STUDY_DATASETS"),
    };
    c.output().expect("latentdyn runs")
}

fn err(out: &Output) -> String {
    assert!(!out.status.success(), "succeeded unexpectedly");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_study_file_shows_imports_trains_and_evaluates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let h5 = dir.join(FIXTURE);
    std::fs::copy(fixtures().join(FIXTURE), &h5).unwrap();
    let h5s = h5.to_str().unwrap();

    let shown = ok(run(&["data", "show", h5s], dir, None));
    assert!(
        shown.contains("10 samples × 70 steps × 10 channels")
            && shown.contains("6 train / 2 valid / 2 test"),
        "{shown}"
    );
    assert!(
        shown.contains("source sha256") && shown.contains(FIXTURE),
        "{shown}"
    );

    let imported = ok(run(
        &["data", "import", h5s, "--out", "imported"],
        dir,
        None,
    ));
    assert!(
        imported.contains("imported/Arneodo10_10S_70T_35P_0seed_poisson.npz"),
        "{imported}"
    );
    let npz = dir.join("imported/Arneodo10_10S_70T_35P_0seed_poisson.npz");
    let again = ok(run(&["data", "show", npz.to_str().unwrap()], dir, None));
    assert!(again.contains("6 train / 2 valid / 2 test"), "{again}");

    let trained = ok(run(
        &[
            "train",
            "--data",
            h5s,
            "--model",
            "gru",
            "--latent",
            "3",
            "--epochs",
            "2",
            "--threads",
            "1",
            "--out",
            "run",
        ],
        dir,
        None,
    ));
    assert!(trained.contains("completed after 2/2 epochs"), "{trained}");
    let cfg = std::fs::read_to_string(dir.join("run/config.json")).unwrap();
    assert!(
        cfg.contains("\"data_file\"") && cfg.contains("\"sha256\""),
        "{cfg}"
    );

    let evaluated = ok(run(&["eval", "run", "--json"], dir, None));
    assert!(evaluated.contains("\"valid\""), "{evaluated}");

    // The file changes under the run: refused, naming the hash.
    let mut bytes = std::fs::read(&h5).unwrap();
    let n = bytes.len();
    bytes[n - 9] ^= 1;
    std::fs::write(&h5, &bytes).unwrap();
    let e = err(&run(&["eval", "run"], dir, None));
    assert!(e.contains("sha256") && e.contains(FIXTURE), "{e}");
}

#[test]
fn study_presets_say_where_their_file_belongs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let e = err(&run(
        &["data", "show", "study:arneodo", "--datasets", "ds"],
        dir,
        None,
    ));
    assert!(
        e.contains("ds/study/Arneodo10_2000S_70T_35P_0seed_poisson.h5")
            && e.contains("LATENTDYN_STUDY_DATASETS"),
        "{e}"
    );
    let e = err(&run(&["train", "--data", "study:henon"], dir, None));
    assert!(e.contains("study:arneodo"), "{e}");
    // A damaged file through the binary names the key.
    let bad = fixtures().join("nan").join(FIXTURE);
    let e = err(&run(&["data", "show", bad.to_str().unwrap()], dir, None));
    assert!(e.contains("train_latents"), "{e}");
}

#[test]
fn the_studys_own_files_train_as_study_presets() {
    let shared =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/study_datasets");
    if !shared.is_dir() {
        eprintln!("note: {} not found; skipping", shared.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = ok(run(
        &[
            "train",
            "--data",
            "study:lorenz",
            "--model",
            "node",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--set",
            "train.batch_size=1280",
            "--set",
            "train.nll_basis=without-stirling",
        ],
        dir,
        Some(&shared),
    ));
    assert!(out.contains("completed after 1/1 epoch in"), "{out}");
    let run_dir = dir.join("runs/study-lorenz/node-L3-s0");
    let cfg = std::fs::read_to_string(run_dir.join("config.json")).unwrap();
    assert!(
        cfg.contains("study:lorenz") && cfg.contains("without-stirling"),
        "{cfg}"
    );
    // Without the Stirling term the epoch-0 NLL of the published Lorenz runs
    // lay between 0.83 and 1.07; with it, ~1.3 higher.
    let csv = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let nll: f64 = row[4].parse().unwrap();
    assert!(
        (0.5..1.4).contains(&nll),
        "epoch-0 NLL without Stirling {nll}"
    );
}
