//! The grid runner end to end, through the real binary: a tiny grid runs to
//! completion; a grid killed with SIGKILL mid-run and started again finishes
//! without redoing finished cells or losing epochs, with the same numbers as
//! an uninterrupted run; shards merged by `latentdyn report` give the same
//! results as one run; the SLURM script names every cell once.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_latentdyn");
const EPOCHS: usize = 6;

fn grid_file(dir: &Path) -> PathBuf {
    let path = dir.join("tiny.toml");
    let set = r#"set = ["dataset.n_samples=60", "dataset.n_timesteps=20", "train.batch_size=16", "model.encoder_size=8"]"#;
    std::fs::write(
        &path,
        format!(
            "name = \"tiny\"\ndescription = \"test grid\"\nepochs = {EPOCHS}\n\
             [[groups]]\ndatasets = [\"arneodo\"]\nmodels = [\"gru\"]\nlatents = [2]\nseeds = [0, 1]\n{set}\n\
             [[groups]]\ndatasets = [\"arneodo\"]\nmodels = [\"node\"]\nlatents = [2]\nseeds = [0]\n{set}\n"
        ),
    )
    .unwrap();
    path
}

fn ablate(grid: &Path, root: &Path, datasets: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(EXE);
    cmd.args(["ablate", "--grid"])
        .arg(grid)
        .arg("--out")
        .arg(root)
        .arg("--datasets")
        .arg(datasets)
        .args(["--workers", "2", "--device", "cpu"])
        .args(extra);
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    crate::support::ok(cmd.output().expect("latentdyn runs"))
}

/// results.csv without the peak-memory, wall-time and directory columns
/// (the rest, fixed points included, must not depend on how the grid ran).
fn results(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            c[..c.len() - 3].join(",")
        })
        .collect()
}

fn run_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .flat_map(|d| {
            std::fs::read_dir(d.path())
                .unwrap()
                .flatten()
                .map(|e| e.path())
        })
        .filter(|p| p.join("cell.json").exists())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn grid_runs_resumes_after_sigkill_and_shards_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let grid = grid_file(tmp.path());
    let datasets = tmp.path().join("datasets");

    // 1. Uninterrupted.
    let straight = tmp.path().join("straight");
    let text = run_ok(&mut ablate(&grid, &straight, &datasets, &[]));
    assert!(text.contains("3 cells, 0 failed"), "{text}");
    let reference = results(&straight.join("tiny/results.csv"));
    assert_eq!(reference.len(), 4, "{reference:?}");
    assert!(
        reference[1..].iter().all(|r| r.contains(",completed,6,6,")),
        "{reference:?}"
    );
    let html = std::fs::read_to_string(straight.join("tiny/report/index.html")).unwrap();
    assert!(
        html.contains("Selected runs"),
        "no per-run figures in the report"
    );
    // Every finished run was analysed: fixed points counted, figures drawn.
    let header: Vec<&str> = reference[0].split(',').collect();
    let fp = header.iter().position(|h| *h == "fp_model").unwrap();
    for row in &reference[1..] {
        let c: Vec<&str> = row.split(',').collect();
        assert!(c[fp].parse::<usize>().is_ok(), "no fixed points in {row}");
    }
    for dir in run_dirs(&straight.join("tiny")) {
        for f in [
            "fixed_points.json",
            "figures/trajectories.png",
            "figures/flow.svg",
        ] {
            assert!(dir.join(f).is_file(), "{} has no {f}", dir.display());
        }
    }

    // 2. Killed mid-run, then started again.
    let killed = tmp.path().join("killed");
    let mut cmd = ablate(&grid, &killed, &datasets, &[]);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rows: usize = run_dirs(&killed.join("tiny"))
            .iter()
            .map(|d| {
                std::fs::read_to_string(d.join("metrics.csv"))
                    .map(|t| t.lines().count().saturating_sub(1))
                    .unwrap_or(0)
            })
            .sum();
        if rows >= 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the grid made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pgid = child.id().to_string();
    Command::new("kill")
        .args(["-9", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    let _ = child.wait();
    let finished_before: Vec<(PathBuf, std::time::SystemTime)> = run_dirs(&killed.join("tiny"))
        .into_iter()
        .filter_map(|d| {
            let s = std::fs::read_to_string(d.join("summary.json")).ok()?;
            s.contains("\"completed\"").then(|| {
                (
                    d.clone(),
                    std::fs::metadata(d.join("summary.json"))
                        .unwrap()
                        .modified()
                        .unwrap(),
                )
            })
        })
        .collect();
    assert!(
        finished_before.len() < 3,
        "the kill came after the grid had finished"
    );
    run_ok(&mut ablate(&grid, &killed, &datasets, &[]));
    for (dir, mtime) in &finished_before {
        let now = std::fs::metadata(dir.join("summary.json"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(*mtime, now, "{} was trained again", dir.display());
    }
    for dir in run_dirs(&killed.join("tiny")) {
        let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        let epochs: Vec<usize> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(epochs, (0..EPOCHS).collect::<Vec<_>>(), "{}", dir.display());
    }
    assert_eq!(results(&killed.join("tiny/results.csv")), reference);

    // 3. Two shards on "two machines", merged.
    let (a, b) = (tmp.path().join("shard-a"), tmp.path().join("shard-b"));
    run_ok(&mut ablate(&grid, &a, &datasets, &["--shard", "0/2"]));
    run_ok(&mut ablate(&grid, &b, &datasets, &["--shard", "1/2"]));
    let merged = tmp.path().join("merged");
    run_ok(
        Command::new(EXE)
            .arg("report")
            .arg(a.join("tiny"))
            .arg(b.join("tiny"))
            .arg("--out")
            .arg(&merged)
            .arg("--datasets")
            .arg(&datasets),
    );
    assert_eq!(results(&merged.join("results.csv")), reference);

    // 4. A shard whose directories are gone stands in by its results.csv
    //    (`--rows`), beside the other shard's directories, or alone.
    let kept = tmp.path().join("shard-b.csv");
    std::fs::copy(b.join("tiny/results.csv"), &kept).unwrap();
    std::fs::remove_dir_all(&b).unwrap();
    let from_rows = tmp.path().join("from-rows");
    let text = run_ok(
        Command::new(EXE)
            .arg("report")
            .arg(a.join("tiny"))
            .arg("--rows")
            .arg(&kept)
            .arg("--out")
            .arg(&from_rows)
            .arg("--datasets")
            .arg(&datasets),
    );
    assert_eq!(results(&from_rows.join("results.csv")), reference);
    assert!(text.contains("3 runs ->"), "{text}");
    let only_rows = tmp.path().join("only-rows");
    run_ok(
        Command::new(EXE)
            .arg("report")
            .arg("--rows")
            .arg(a.join("tiny/results.csv"))
            .arg("--rows")
            .arg(&kept)
            .arg("--out")
            .arg(&only_rows)
            .arg("--datasets")
            .arg(&datasets),
    );
    assert_eq!(results(&only_rows.join("results.csv")), reference);
    assert!(only_rows.join("report/index.html").is_file());
}

#[test]
fn slurm_script_is_valid_bash_naming_every_cell_once() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("job.sh");
    run_ok(
        Command::new(EXE)
            .args(["ablate", "--grid", "paper", "--tasks", "10", "--emit-slurm"])
            .arg(&script),
    );
    let text = std::fs::read_to_string(&script).unwrap();
    let out = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cells: Vec<&str> = text.lines().filter(|l| l.starts_with("# cell ")).collect();
    assert_eq!(cells.len(), 445);
    let mut labels: Vec<&str> = cells
        .iter()
        .map(|l| l.splitn(4, ' ').nth(3).unwrap())
        .collect();
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), 445);
    assert!(text.contains("--shard \"${SLURM_ARRAY_TASK_ID}/10\""));
}

#[test]
fn unknown_grids_and_bad_shards_are_refused() {
    let out = Command::new(EXE)
        .args(["ablate", "--grid", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown grid") && err.contains("smoke"),
        "{err}"
    );
    let out = Command::new(EXE)
        .args(["ablate", "--shard", "3/2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard 3/2"));
    // `report --rows`: a file that is not a results.csv names itself and
    // its line; rows alone need --out.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("notes.csv");
    std::fs::write(&bad, "a,b\n1,2\n").unwrap();
    let out = Command::new(EXE)
        .arg("report")
        .arg("--rows")
        .arg(&bad)
        .arg("--out")
        .arg(tmp.path().join("r"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && !err.contains("panicked"), "{err}");
    assert!(
        err.contains("notes.csv, line 1") && err.contains("not a latentdyn results.csv"),
        "{err}"
    );
    let out = Command::new(EXE)
        .arg("report")
        .arg("--rows")
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("needs --out"),
        "{err}"
    );
}
