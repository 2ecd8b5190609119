//! `latentdyn ablate --emit-slurm`: a SLURM job-array script whose tasks run
//! the shards of a grid, one shard per array task.

use crate::grid::{shard, Grid};

/// The script: `#SBATCH --array=0-(shards-1)`, each task running
/// `<exe> ablate --grid <grid_arg> --shard $SLURM_ARRAY_TASK_ID/<shards>`.
/// Comment lines `# cell <shard> <label>` list which task trains which cell,
/// each cell exactly once.
pub fn script(grid: &Grid, grid_arg: &str, shards: usize, exe: &str, extra: &[String]) -> String {
    let shards = shards.max(1);
    let mut s = String::new();
    s.push_str("#!/usr/bin/env bash\n");
    s.push_str(&format!("#SBATCH --job-name=latentdyn-{}\n", grid.name));
    s.push_str(&format!("#SBATCH --array=0-{}\n", shards - 1));
    s.push_str("#SBATCH --output=latentdyn-%A_%a.log\n");
    // The tasks write under the same --out (a shared file system); the
    // report reads it from there, with the same datasets folder.
    let flag = |name: &str| {
        extra
            .iter()
            .position(|a| a == name)
            .and_then(|i| extra.get(i + 1))
            .cloned()
    };
    let root = std::path::Path::new(&flag("--out").unwrap_or_else(|| "runs".into()))
        .join(&grid.name)
        .display()
        .to_string();
    let datasets = flag("--datasets")
        .map(|d| format!(" --datasets {}", shell_quote(&d)))
        .unwrap_or_default();
    s.push_str(&format!(
        "# Grid `{}`: {} cells in {shards} shards. When every task has ended, write the\n\
         # results and the report with\n\
         #   {} report {}{datasets}\n",
        grid.name,
        grid.cells().len(),
        shell_quote(exe),
        shell_quote(&root),
    ));
    for i in 0..shards {
        for c in shard(grid.cells(), i, shards) {
            s.push_str(&format!("# cell {i} {}\n", c.label()));
        }
    }
    s.push_str("set -euo pipefail\n");
    let extra: String = extra
        .iter()
        .map(|a| format!(" {}", shell_quote(a)))
        .collect();
    s.push_str(&format!(
        "{} ablate --grid {} --shard \"${{SLURM_ARRAY_TASK_ID}}/{shards}\"{extra}\n",
        shell_quote(exe),
        shell_quote(grid_arg)
    ));
    s
}

/// Single-quotes `s` for bash when it holds anything but safe characters.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=+,".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_merge_hint_uses_the_root_and_datasets_given() {
        let g = Grid::preset("smoke").unwrap();
        let extra = ["--out", "/scratch/me/runs", "--datasets", "/scratch/ds"].map(String::from);
        let s = script(&g, "smoke", 2, "/opt/latentdyn", &extra);
        assert!(
            s.contains("#   /opt/latentdyn report /scratch/me/runs/smoke --datasets /scratch/ds"),
            "{s}"
        );
        let s = script(&g, "smoke", 2, "latentdyn", &[]);
        assert!(s.contains("#   latentdyn report runs/smoke\n"), "{s}");
    }

    #[test]
    fn every_cell_appears_exactly_once_and_bash_accepts_it() {
        let grid = Grid::preset("paper").unwrap();
        let text = script(
            &grid,
            "paper",
            16,
            "/opt/latent dyn/latentdyn",
            &["--workers".into(), "4".into()],
        );
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for line in text.lines().filter_map(|l| l.strip_prefix("# cell ")) {
            let (shard, label) = line.split_once(' ').unwrap();
            assert!(shard.parse::<usize>().unwrap() < 16);
            *seen.entry(label.to_owned()).or_default() += 1;
        }
        assert_eq!(seen.len(), grid.cells().len());
        assert!(seen.values().all(|&n| n == 1));
        assert!(text.contains("#SBATCH --array=0-15"));
        assert!(text.contains("'/opt/latent dyn/latentdyn' ablate --grid paper"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.sh");
        std::fs::write(&path, &text).unwrap();
        match std::process::Command::new("bash")
            .arg("-n")
            .arg(&path)
            .output()
        {
            Ok(out) => assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("bash not available ({e}); syntax check skipped"),
        }
    }
}
