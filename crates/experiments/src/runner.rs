//! The grid runner: cells in parallel, each a training run in its own
//! directory and its own process; resumable and shardable.
//!
//! - A cell whose `summary.json` says `completed` or `diverged` is done and
//!   skipped; any other cell is (re)started, and the training run resumes
//!   from its own `last.safetensors`. Killing the grid at any moment loses at
//!   most the epoch in flight of each running cell.
//! - Each cell runs in a child process (`latentdyn train --config …`):
//!   libtorch's random generator is process-global, a crash or a diverging
//!   run cannot take the grid down, and threads are set per worker so that
//!   workers × threads = cores.
//! - A diverged or failed cell is recorded and the grid goes on.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use latentdyn_train::{RunDir, RunState, Summary};

use crate::grid::Cell;
use crate::ExperimentError;

/// The program a worker runs for a cell: `program args… --config <dir>/config.json
/// --out <dir> --datasets <dir> --threads <n> --device <d>`.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    /// The executable (usually the `latentdyn` binary itself).
    pub program: PathBuf,
    /// Arguments before the per-cell ones (usually `["train"]`).
    pub args: Vec<String>,
}

/// How to run a grid.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// Run directories go under here (`runs/<grid>`).
    pub root: PathBuf,
    /// Datasets are read from and generated into here.
    pub datasets: PathBuf,
    /// Parallel workers.
    pub workers: usize,
    /// libtorch threads per worker.
    pub threads_per_worker: usize,
    /// Devices handed to workers in turn (`cpu`, or `cuda:0`, `cuda:1`, …).
    pub devices: Vec<String>,
    /// What a worker runs.
    pub worker: WorkerCommand,
}

impl RunnerOptions {
    /// Workers and threads sized to the machine: on CPU, one worker per core
    /// (at most one per cell) with the cores shared out; on GPUs, one worker
    /// per GPU.
    pub fn sized(
        root: PathBuf,
        datasets: PathBuf,
        worker: WorkerCommand,
        cells: usize,
        gpus: usize,
        requested_workers: Option<usize>,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (workers, devices) = if gpus > 0 {
            let w = requested_workers.unwrap_or(gpus).max(1);
            (w, (0..gpus).map(|i| format!("cuda:{i}")).collect())
        } else {
            let w = requested_workers.unwrap_or(cores).clamp(1, cells.max(1));
            (w, vec!["cpu".to_owned()])
        };
        let threads_per_worker = (cores / workers).max(1);
        Self {
            root,
            datasets,
            workers,
            threads_per_worker,
            devices,
            worker,
        }
    }
}

/// Where a cell stands.
#[derive(Debug, Clone, PartialEq)]
pub enum CellState {
    /// Finished all its epochs.
    Completed(Summary),
    /// Stopped on a non-finite loss; recorded, not retried.
    Diverged(Summary),
    /// The worker failed (message: the end of its log).
    Failed(String),
    /// Not started, or interrupted (it resumes).
    Pending,
}

impl CellState {
    /// Done for good (completed or diverged)?
    pub fn is_final(&self) -> bool {
        matches!(self, CellState::Completed(_) | CellState::Diverged(_))
    }
}

/// What the runner reports while it works.
#[derive(Debug, Clone)]
// A few events per cell: their size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// The plan: how many cells are already done, and how many will run.
    Planned {
        /// Cells already final.
        done: usize,
        /// Cells to run.
        to_run: usize,
    },
    /// A worker started a cell.
    Started {
        /// The cell.
        cell: Cell,
    },
    /// A cell ended.
    Finished {
        /// The cell.
        cell: Cell,
        /// How it ended.
        state: CellState,
        /// Wall time of this attempt.
        seconds: f64,
    },
}

/// The state of a cell from its directory ([`RunDir::state`]).
pub fn cell_state(dir: &Path) -> CellState {
    let run = RunDir::new(dir);
    match run.state() {
        // A completed run whose best checkpoint changed is not done: its
        // worker reports why (retrain with --fresh).
        RunState::Completed(s) if run.verify(latentdyn_train::files::BEST).is_ok() => {
            CellState::Completed(s)
        }
        RunState::Completed(_) => CellState::Pending,
        RunState::Diverged(s) => CellState::Diverged(s),
        RunState::NotStarted | RunState::Unfinished { .. } => CellState::Pending,
    }
}

/// The cells whose directories hold a run of another configuration than
/// the cell asks for (the grid changed since they ran, or the root holds
/// another grid's runs), each with the fields that differ.
pub fn changed_cells(
    cells: &[Cell],
    root: &Path,
    datasets: &Path,
) -> Result<Vec<(Cell, Vec<String>)>, ExperimentError> {
    let mut out = Vec::new();
    for c in cells {
        let run = RunDir::new(c.dir(root)?);
        if !run.holds_a_run() {
            continue;
        }
        let diff = run.differences(&c.run_config(datasets)?)?;
        if !diff.is_empty() {
            out.push((c.clone(), diff));
        }
    }
    Ok(out)
}

/// Generates (once) every dataset the cells need that is not already in
/// `dir` with the right contents, and checks that every dataset file they
/// name exists, so that workers only ever read them. Returns the generated
/// datasets' paths.
pub fn ensure_datasets(cells: &[Cell], dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
    let mut specs = Vec::new();
    let mut refs = Vec::new();
    for c in cells {
        let r = c.dataset_ref()?;
        if refs.contains(&r) {
            continue;
        }
        let (spec, file) = crate::analyse::resolve_dataset(&r, dir)?;
        if let (None, Some(spec)) = (&file, spec.synthetic()) {
            if !specs.contains(spec) {
                specs.push(*spec);
            }
        }
        refs.push(r);
    }
    specs
        .iter()
        .map(|spec| {
            crate::analyse::ensure_dataset(spec, dir)
                .map(|_| dir.join(format!("{}.npz", spec.name())))
        })
        .collect()
}

/// Runs every cell that is not final, `opts.workers` at a time, and returns
/// each cell's final state (in the order of `cells`).
pub fn run_cells(
    cells: &[Cell],
    opts: &RunnerOptions,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<Vec<(Cell, CellState)>, ExperimentError> {
    // A cell counts as done only when its directory holds the run the cell
    // asks for. The rule for one that does not: refuse the whole grid and
    // say which cells and fields differ; results are never replaced behind
    // the user's back.
    let changed = changed_cells(cells, &opts.root, &opts.datasets)?;
    if !changed.is_empty() {
        let list: Vec<String> = changed
            .iter()
            .map(|(c, d)| {
                format!(
                    "  {} ({}): {}",
                    c.label(),
                    c.dir(&opts.root)
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    d.join("; ")
                )
            })
            .collect();
        return Err(ExperimentError::Grid {
            grid: opts.root.display().to_string(),
            reason: format!(
                "{} cell(s) already hold a run of another configuration (the grid changed \
                 since they ran, or this root holds another grid's runs):\n{}\nrun the grid \
                 into another --out, or delete those directories to train them anew",
                changed.len(),
                list.join("\n")
            ),
        });
    }
    let mut states = Vec::with_capacity(cells.len());
    let mut queue = VecDeque::new();
    for (i, cell) in cells.iter().enumerate() {
        let dir = cell.dir(&opts.root)?;
        let state = cell_state(&dir);
        if !state.is_final() {
            queue.push_back(i);
        }
        states.push(state);
    }
    on_event(Event::Planned {
        done: cells.len() - queue.len(),
        to_run: queue.len(),
    });
    if !queue.is_empty() {
        ensure_datasets(cells, &opts.datasets)?;
    }
    let queue = Mutex::new(queue);
    let results = Mutex::new(Vec::<(usize, CellState)>::new());
    std::thread::scope(|scope| {
        for w in 0..opts.workers.max(1) {
            let device = opts.devices[w % opts.devices.len().max(1)].clone();
            let (queue, results) = (&queue, &results);
            scope.spawn(move || loop {
                let Some(i) = queue.lock().expect("queue").pop_front() else {
                    break;
                };
                let cell = &cells[i];
                on_event(Event::Started { cell: cell.clone() });
                let started = Instant::now();
                let state = run_one(cell, opts, &device)
                    .unwrap_or_else(|e| CellState::Failed(e.to_string()));
                on_event(Event::Finished {
                    cell: cell.clone(),
                    state: state.clone(),
                    seconds: started.elapsed().as_secs_f64(),
                });
                results.lock().expect("results").push((i, state));
            });
        }
    });
    for (i, state) in results.into_inner().expect("results") {
        states[i] = state;
    }
    Ok(cells.iter().cloned().zip(states).collect())
}

/// Runs one cell in a child process and reads how it ended.
fn run_one(cell: &Cell, opts: &RunnerOptions, device: &str) -> Result<CellState, ExperimentError> {
    let dir = cell.dir(&opts.root)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExperimentError::Io { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let cfg = cell.run_config(&opts.datasets)?;
    let cell_cfg = dir.join("cell.json");
    let text = serde_json::to_string_pretty(&cfg).expect("configs serialise");
    latentdyn_train::io::atomic_write(&cell_cfg, text.as_bytes())?;
    let log_path = dir.join("train.log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io(&log_path))?;
    let status = Command::new(&opts.worker.program)
        .args(&opts.worker.args)
        .arg("--config")
        .arg(&cell_cfg)
        .arg("--out")
        .arg(&dir)
        .arg("--datasets")
        .arg(&opts.datasets)
        .arg("--threads")
        .arg(opts.threads_per_worker.to_string())
        .arg("--device")
        .arg(device)
        .arg("--worker")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(io(&log_path))?)
        .stderr(log)
        .status()
        .map_err(io(&opts.worker.program))?;
    let state = cell_state(&dir);
    Ok(match state {
        CellState::Pending if status.success() => CellState::Failed(format!(
            "worker exited cleanly but {} is not final",
            dir.display()
        )),
        CellState::Pending => CellState::Failed(format!(
            "worker failed ({status}); the end of {}:\n{}",
            log_path.display(),
            tail(&log_path, 5)
        )),
        final_state => final_state,
    })
}

/// The last `n` lines of a text file (progress-bar carriage returns folded).
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.rsplit('\r').next().unwrap_or(l))
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
