//! `latentdyn ablate`: run a grid of training runs in parallel, resumably,
//! and report on it.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use latentdyn_experiments::grid::shard;
use latentdyn_experiments::runner::ensure_datasets;
use latentdyn_experiments::{
    run_cells, slurm, CellState, Event, Grid, RunnerOptions, WorkerCommand,
};
use latentdyn_models::DeviceChoice;

use super::report::report;

/// Arguments of `latentdyn ablate`.
#[derive(Args, Debug)]
pub struct AblateArgs {
    /// Grid: smoke (default), quick, paper, or a grid .toml file.
    #[arg(long, default_value = "smoke")]
    grid: String,
    /// Where the runs go: `<out>/<grid>/`, with the grid's results.csv and
    /// report/ (`--root` is its old name).
    #[arg(long, default_value = "runs", alias = "root")]
    out: PathBuf,
    /// Where datasets are written and looked up.
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
    /// Run only shard i of N (`--shard 0/4`), for splitting a grid across machines.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Parallel workers (default: one per core, or one per GPU).
    #[arg(long)]
    workers: Option<usize>,
    /// auto (every GPU when present, else the CPU), cpu, cuda (every GPU;
    /// in `train` it means cuda:0) or cuda:N (GPU N only), spelt as `train
    /// --device` takes them.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Write a SLURM job-array script to this file, and exit: task i of N
    /// runs `--shard i/N` (N from --tasks).
    #[arg(long, value_name = "FILE")]
    emit_slurm: Option<PathBuf>,
    /// The SLURM script's array tasks, the N of each task's `--shard i/N`
    /// (`--shards` is its old name).
    #[arg(
        long,
        default_value_t = 8,
        alias = "shards",
        value_name = "N",
        requires = "emit_slurm"
    )]
    tasks: usize,
    /// Only list the cells and their state.
    #[arg(long)]
    dry_run: bool,
}

/// The GPUs a grid's workers use for `--device SPEC` (0: the CPU) and, for
/// `cuda:N`, that one GPU's index; `visible` counts the CUDA devices. The
/// spelling is `train --device`'s (`DeviceChoice`), with one difference:
/// `cuda` (or `gpu`) here means every GPU, not the first.
fn grid_devices(spec: &str, visible: impl Fn() -> usize) -> Result<(usize, Option<usize>)> {
    let every = matches!(spec.trim().to_ascii_lowercase().as_str(), "cuda" | "gpu");
    let choice: DeviceChoice = if every {
        DeviceChoice::Auto
    } else {
        // Its message starts "device `SPEC`: …".
        spec.parse().map_err(|e| anyhow::anyhow!("--{e}"))?
    };
    match choice {
        DeviceChoice::Cpu => Ok((0, None)),
        DeviceChoice::Auto => {
            let n = visible();
            if every && n == 0 {
                bail!("--device {spec}: no CUDA device is visible");
            }
            Ok((n, None))
        }
        DeviceChoice::Cuda(n) => match visible() {
            0 => bail!("--device {spec}: no CUDA device is visible"),
            count if n >= count => bail!(
                "--device {spec}: {count} CUDA device(s) visible, so N is 0 to {}",
                count - 1
            ),
            _ => Ok((1, Some(n))),
        },
    }
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}`: expected INDEX/COUNT, e.g. 0/4"))?;
    let (i, n): (usize, usize) = (
        i.trim()
            .parse()
            .map_err(|_| format!("`{i}` is not a shard index"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("`{n}` is not a shard count"))?,
    );
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: need 0 <= INDEX < COUNT"));
    }
    Ok((i, n))
}

/// Runs `latentdyn ablate`.
pub fn run(args: AblateArgs) -> Result<()> {
    let grid = Grid::resolve(&args.grid)?;
    let exe = std::env::current_exe().context("locating the latentdyn binary")?;
    if let Some(path) = &args.emit_slurm {
        if args.tasks == 0 {
            bail!("--tasks 0: a SLURM array needs at least one task");
        }
        let mut extra = vec![
            "--out".to_owned(),
            args.out.display().to_string(),
            "--datasets".to_owned(),
            args.datasets.display().to_string(),
        ];
        if args.device != "auto" {
            extra.extend(["--device".to_owned(), args.device.clone()]);
        }
        let text = slurm::script(
            &grid,
            &args.grid,
            args.tasks,
            &exe.display().to_string(),
            &extra,
        );
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        println!(
            "wrote {} ({} cells in {} array tasks); submit with `sbatch {}`",
            path.display(),
            grid.cells().len(),
            args.tasks,
            path.display()
        );
        return Ok(());
    }
    let mut cells = grid.cells();
    if let Some((i, n)) = args.shard {
        cells = shard(cells, i, n);
    }
    let root = args.out.join(&grid.name);
    grid.save_into(&root)
        .with_context(|| format!("recording the grid in {}", root.display()))?;
    let visible = || usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
    let (gpus, only) = grid_devices(&args.device, visible)?;
    let mut opts = RunnerOptions::sized(
        root.clone(),
        args.datasets.clone(),
        WorkerCommand {
            program: exe,
            args: vec!["train".into()],
        },
        cells.len(),
        gpus,
        args.workers,
    );
    if let Some(n) = only {
        opts.devices = vec![format!("cuda:{n}")];
    }
    println!(
        "{}",
        super::common::wrap(&format!("grid `{}`: {}", grid.name, grid.description))
    );
    let count = |n: usize, one: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    };
    println!(
        "{}",
        super::common::wrap(&format!(
            "grid `{}`: {}{} -> {} ({} × {}, {})",
            grid.name,
            count(cells.len(), "cell"),
            args.shard
                .map_or(String::new(), |(i, n)| format!(" (shard {i}/{n})")),
            root.display(),
            count(opts.workers, "worker"),
            count(opts.threads_per_worker, "thread"),
            opts.devices.join(", ")
        ))
    );
    if args.dry_run {
        for c in &cells {
            let state = latentdyn_experiments::runner::cell_state(&c.dir(&root)?);
            println!("  {:<40} {}", c.label(), state_word(&state));
        }
        return Ok(());
    }
    let started = Instant::now();
    let ds = ensure_datasets(&cells, &args.datasets)?;
    println!(
        "{} dataset(s) ready in {}",
        ds.len(),
        args.datasets.display()
    );
    let bar = ProgressBar::new(cells.len() as u64);
    let style = |template: &str| {
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> ")
    };
    // No ETA until a cell of this session has ended: before that it is a guess.
    bar.set_style(style("[{bar:24}] {pos}/{len} cells {msg} ({elapsed})"));
    bar.enable_steady_tick(Duration::from_millis(500));
    let counts = Mutex::new((0usize, 0usize)); // (running, failed)
    let outcomes = run_cells(&cells, &opts, &|event| {
        let mut c = counts.lock().expect("counts");
        match event {
            Event::Planned { done, .. } => {
                bar.set_position(done as u64);
                // Cells done before this session say nothing of its speed.
                bar.reset_eta();
            }
            Event::Started { cell } => {
                c.0 += 1;
                // Outside the bar, so that logs (no terminal) show it too.
                bar.suspend(|| println!("started  {}", cell.label()));
            }
            Event::Finished {
                cell,
                state,
                seconds,
            } => {
                c.0 = c.0.saturating_sub(1);
                if !state.is_final() {
                    c.1 += 1;
                }
                bar.inc(1);
                bar.set_style(style(
                    "[{bar:24}] {pos}/{len} cells {msg} ({elapsed}, ETA {eta})",
                ));
                let line = format!(
                    "{:<8} {} ({seconds:.0} s){}",
                    state_word(&state),
                    cell.label(),
                    match &state {
                        CellState::Failed(m) => format!("\n{m}"),
                        CellState::Diverged(s) =>
                            format!(": {}", s.message.clone().unwrap_or_default()),
                        _ => String::new(),
                    }
                );
                bar.suspend(|| println!("{line}"));
            }
        }
        bar.set_message(format!("running {}, failed {}", c.0, c.1));
    })?;
    bar.finish_and_clear();
    let failed = outcomes.iter().filter(|(_, s)| !s.is_final()).count();
    println!(
        "grid `{}`: {} cells, {} failed, in {:.0} s",
        grid.name,
        outcomes.len(),
        failed,
        started.elapsed().as_secs_f64()
    );
    report(std::slice::from_ref(&root), &root, &args.datasets, true)?;
    if failed > 0 {
        bail!("{failed} cell(s) failed; rerun the same command to retry them (finished cells are kept)");
    }
    Ok(())
}

fn state_word(s: &CellState) -> &'static str {
    match s {
        CellState::Completed(_) => "done",
        CellState::Diverged(_) => "diverged",
        CellState::Failed(_) => "FAILED",
        CellState::Pending => "pending",
    }
}

#[cfg(test)]
mod tests {
    use super::grid_devices;

    /// `--device` is spelt as `train` spells it, except that `cuda` means
    /// every GPU; a missing or out-of-range GPU is refused by name.
    #[test]
    fn grid_devices_follow_train_spelling() {
        let none = || 0;
        let two = || 2;
        assert_eq!(grid_devices("cpu", two).unwrap(), (0, None));
        assert_eq!(grid_devices("auto", none).unwrap(), (0, None));
        assert_eq!(grid_devices("auto", two).unwrap(), (2, None));
        assert_eq!(grid_devices("CUDA", two).unwrap(), (2, None));
        assert_eq!(grid_devices(" gpu ", two).unwrap(), (2, None));
        assert_eq!(grid_devices("cuda:1", two).unwrap(), (1, Some(1)));
        assert_eq!(grid_devices("Cuda:0", two).unwrap(), (1, Some(0)));
        let err = |spec: &str, visible: fn() -> usize| {
            grid_devices(spec, visible).unwrap_err().to_string()
        };
        assert!(err("cuda", none).contains("no CUDA device is visible"));
        assert!(err("cuda:0", none).contains("no CUDA device is visible"));
        assert!(err("cuda:2", two).contains("2 CUDA device(s) visible, so N is 0 to 1"));
        let bad = err("cuda:x", two);
        assert!(
            bad.starts_with("--device `cuda:x`") && bad.contains("not a number"),
            "{bad}"
        );
        assert!(err("tpu", two).contains("expected auto, cpu, cuda or cuda:N"));
    }
}
