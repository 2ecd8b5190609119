//! Structural check of a finished grid directory, for CI after the smoke
//! grid: every cell completed with finite metrics, its fixed points and
//! figures written, the report present. It asserts nothing about the
//! numbers themselves (a 300-epoch run is not expected to match the study).

use std::path::Path;

use anyhow::{bail, Context, Result};

const RUN_FILES: [&str; 6] = [
    "config.json",
    "summary.json",
    "metrics.csv",
    "best.safetensors",
    "last.safetensors",
    "fixed_points.json",
];
const FIGURES: [&str; 3] = ["trajectories", "eigenvalues", "flow"];
const FINITE: [&str; 4] = ["nll", "rate_r2", "state_r2", "latent_r2"];

/// Checks `<grid>/results.csv` (exactly `cells` runs) and the files each run
/// and the report should have; returns a one-line summary.
pub fn check(grid: &Path, cells: usize) -> Result<String> {
    let csv_path = grid.join("results.csv");
    let text = std::fs::read_to_string(&csv_path)
        .with_context(|| format!("reading {}", csv_path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .with_context(|| format!("{}: no column `{name}`", csv_path.display()))
    };
    let (status, dir, fp_model) = (col("status")?, col("dir")?, col("fp_model")?);
    let finite: Vec<(usize, &str)> = FINITE
        .iter()
        .map(|n| col(n).map(|i| (i, *n)))
        .collect::<Result<_>>()?;
    let rows: Vec<Vec<&str>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').collect())
        .collect();
    if rows.len() != cells {
        bail!(
            "{}: {} runs, expected {cells}",
            csv_path.display(),
            rows.len()
        );
    }
    let mut problems = Vec::new();
    for r in &rows {
        if r.len() != header.len() {
            problems.push(format!(
                "a row has {} fields, not {}",
                r.len(),
                header.len()
            ));
            continue;
        }
        let run = Path::new(r[dir]);
        if r[status] != "completed" {
            problems.push(format!("{}: status {}", run.display(), r[status]));
        }
        for &(i, name) in &finite {
            if !r[i].parse::<f64>().is_ok_and(f64::is_finite) {
                problems.push(format!("{}: {name} = {}", run.display(), r[i]));
            }
        }
        if r[fp_model].parse::<usize>().is_err() {
            problems.push(format!("{}: no fixed-point analysis", run.display()));
        }
        for f in RUN_FILES {
            if !run.join(f).is_file() {
                problems.push(format!("{}: {f} missing", run.display()));
            }
        }
        for stem in FIGURES {
            for ext in ["png", "svg"] {
                let f = run.join("figures").join(format!("{stem}.{ext}"));
                if std::fs::metadata(&f).map_or(true, |m| m.len() == 0) {
                    problems.push(format!("{} missing or empty", f.display()));
                }
            }
        }
    }
    let html_path = grid.join("report").join("index.html");
    match std::fs::read_to_string(&html_path) {
        Ok(html) if html.contains("</html>") && html.contains("<img") => {}
        Ok(_) => problems.push(format!("{} has no figures", html_path.display())),
        Err(e) => problems.push(format!("{}: {e}", html_path.display())),
    }
    if !problems.is_empty() {
        bail!(
            "grid {} is incomplete:\n  {}",
            grid.display(),
            problems.join("\n  ")
        );
    }
    Ok(format!(
        "{} runs completed with finite metrics, fixed points, figures and {}",
        rows.len(),
        html_path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "dataset,model,latent,seed,status,epochs_done,epochs,nll,rate_r2,\
state_r2,latent_r2,fp_model,fp_true,fp_matched,fp_missing,fp_spurious,fp_location_error,\
fp_eigenvalue_error,peak_rss_mib,wall_seconds,dir";

    /// A grid directory with one complete run; returns (tempdir, run dir).
    fn fixture() -> (std::path::PathBuf, std::path::PathBuf) {
        let root = std::env::temp_dir().join(format!(
            "latentdyn-smoke-check-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        let run = root.join("arneodo").join("node-L3-s0");
        std::fs::create_dir_all(run.join("figures")).unwrap();
        for f in RUN_FILES {
            std::fs::write(run.join(f), "x").unwrap();
        }
        for stem in FIGURES {
            for ext in ["png", "svg"] {
                std::fs::write(run.join("figures").join(format!("{stem}.{ext}")), "x").unwrap();
            }
        }
        std::fs::create_dir_all(root.join("report")).unwrap();
        std::fs::write(
            root.join("report").join("index.html"),
            "<html><img src=\"a.png\"></html>",
        )
        .unwrap();
        (root, run)
    }

    fn write_csv(root: &Path, run: &Path, status: &str, nll: &str, fp: &str) {
        std::fs::write(
            root.join("results.csv"),
            format!(
                "{HEADER}\narneodo,node,3,0,{status},300,300,{nll},0.5,0.6,0.7,{fp},3,1,2,2,0.2,0.03,600,262.6,{}\n",
                run.display()
            ),
        )
        .unwrap();
    }

    #[test]
    fn a_complete_grid_passes_and_each_defect_is_named() {
        let (root, run) = fixture();
        write_csv(&root, &run, "completed", "1.56", "3");
        check(&root, 1).expect("complete grid");
        assert!(check(&root, 2)
            .unwrap_err()
            .to_string()
            .contains("expected 2"));

        write_csv(&root, &run, "diverged", "NaN", "");
        let e = check(&root, 1).unwrap_err().to_string();
        assert!(e.contains("status diverged"), "{e}");
        assert!(e.contains("nll = NaN"), "{e}");
        assert!(e.contains("no fixed-point analysis"), "{e}");

        write_csv(&root, &run, "completed", "1.56", "3");
        std::fs::remove_file(run.join("figures").join("flow.png")).unwrap();
        std::fs::remove_file(run.join("best.safetensors")).unwrap();
        let e = check(&root, 1).unwrap_err().to_string();
        assert!(e.contains("flow.png missing"), "{e}");
        assert!(e.contains("best.safetensors missing"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
