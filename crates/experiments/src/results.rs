//! Results: one row per run (`results.csv`), mean ± std per grid cell, and
//! the comparison with the study's published values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use latentdyn_analysis::NllBasis;
use latentdyn_train::{files, RunConfig, RunDir, RunState, RunStatus};
use serde::{Deserialize, Serialize};

use crate::ExperimentError;

/// One training run's reported numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// Dataset preset name (or the dataset's file name for non-preset data).
    pub dataset: String,
    /// Model preset.
    pub model: String,
    /// Latent size.
    pub latent: usize,
    /// Seed.
    pub seed: u64,
    /// Completed, diverged, or interrupted (killed, stopped or still training).
    pub status: RunStatus,
    /// Epochs done / configured.
    pub epochs_done: usize,
    /// Epochs configured.
    pub epochs: usize,
    /// Median validation NLL over the last epochs (NaN if none).
    pub nll: f64,
    /// Median rate R².
    pub rate_r2: f64,
    /// Median state R².
    pub state_r2: f64,
    /// Median latent R².
    pub latent_r2: f64,
    /// A run on a recording: its scores in place of the truth's R² (which
    /// are then NaN, and written as empty cells).
    pub recording: Option<RecordingRow>,
    /// The basis of `nll` (full, or without the Stirling term).
    pub nll_basis: NllBasis,
    /// Trials per optimiser step (≥ the training split: one step an epoch).
    pub batch_size: usize,
    /// The reporting window: medians over this many last epochs.
    pub report_last: usize,
    /// The fixed-point analysis, once the run has been analysed (our
    /// profile: best checkpoint, every trial).
    pub fixed_points: Option<FixedPointRow>,
    /// The same with the study's figure profile (last checkpoint,
    /// validation trials), once analysed.
    pub fixed_points_study: Option<FixedPointRow>,
    /// Peak resident memory of the process that finished the run, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Wall time, seconds.
    pub wall_seconds: f64,
    /// The run directory.
    pub dir: PathBuf,
}

/// The medians a run on a recording reports (`None`: the recording cannot
/// give that score).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RecordingRow {
    /// Co-smoothing bits per spike of the held-out units.
    pub co_bps: Option<f64>,
    /// Bits per spike of the held-in units.
    pub heldin_bps: Option<f64>,
    /// Behaviour decoding R².
    pub velocity_r2: Option<f64>,
    /// PSTH R².
    pub psth_r2: Option<f64>,
}

/// A run's fixed points in numbers (from its `fixed_points.json`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FixedPointRow {
    /// Fixed points of the model.
    pub model: usize,
    /// Fixed points of the true system (`None`: no true vector field).
    pub truth: Option<usize>,
    /// Model points matched to a true one.
    pub matched: Option<usize>,
    /// True points without a match.
    pub missing: Option<usize>,
    /// Model points without a match.
    pub spurious: Option<usize>,
    /// Mean location error of the matched pairs, true units.
    pub location_error: Option<f64>,
    /// Mean eigenvalue error of the matched pairs (one-bin map).
    pub eigenvalue_error: Option<f64>,
}

impl FixedPointRow {
    /// The numbers of one analysis (our profile).
    pub fn of(r: &crate::analyse::RunFixedPoints) -> Self {
        Self::of_search(&r.model, r.truth.as_ref(), r.alignment.as_ref())
    }

    /// The numbers of the study-profile search, when the record has one.
    pub fn of_study(r: &crate::analyse::RunFixedPoints) -> Option<Self> {
        let s = r.study.as_ref()?;
        Some(Self::of_search(
            &s.model,
            r.truth.as_ref(),
            s.alignment.as_ref(),
        ))
    }

    fn of_search(
        model: &latentdyn_analysis::FixedPointSearch,
        truth: Option<&latentdyn_analysis::FixedPointSearch>,
        a: Option<&latentdyn_analysis::AlignmentSummary>,
    ) -> Self {
        Self {
            model: model.points.len(),
            truth: truth.map(|t| t.points.len()),
            matched: a.map(|a| a.pairs.len()),
            missing: a.map(|a| a.missing.len()),
            spurious: a.map(|a| a.spurious.len()),
            location_error: a.and_then(|a| a.mean_location_error),
            eigenvalue_error: a.and_then(|a| a.mean_eigenvalue_error),
        }
    }
}

const STUDY_DATASETS: [(&str, &str, usize); 6] = [
    ("arneodo", "Arneodo", 10),
    ("lorenz", "Lorenz", 10),
    ("rossler", "Rossler", 10),
    ("arneodo100", "Arneodo", 100),
    ("mackeyglass100", "MackeyGlass", 100),
    ("macarthur100", "MacArthur", 100),
];

/// A run's dataset label: the file's reference when it trained on a file
/// (`study:lorenz`, a path), else the study preset whose spec it is, else
/// the spec's name.
fn dataset_label(cfg: &RunConfig) -> String {
    if let Some(f) = &cfg.data_file {
        // A file's stem (a name safe in file names); `study:<preset>` as it is.
        return match latentdyn_data::DatasetRef::parse(&f.source) {
            Ok(r @ latentdyn_data::DatasetRef::File(_)) => r.dir_name(),
            _ => f.source.clone(),
        };
    }
    STUDY_DATASETS
        .iter()
        .find(|(name, _, _)| {
            latentdyn_data::DatasetSpec::preset(name)
                .is_ok_and(|s| cfg.dataset.synthetic() == Some(&s))
        })
        .map_or_else(|| cfg.dataset.name(), |(name, _, _)| (*name).to_owned())
}

/// Reads every run under each root (`<root>/<dataset>/<run>/`), skipping
/// directories without a `config.json`. Several roots (shards) merge.
pub fn collect(roots: &[PathBuf]) -> Result<Vec<RunRow>, ExperimentError> {
    let mut rows = Vec::new();
    for root in roots {
        let Ok(datasets) = std::fs::read_dir(root) else {
            return Err(ExperimentError::Io {
                path: root.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            });
        };
        let mut dirs: Vec<PathBuf> = datasets
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .flat_map(|d| {
                std::fs::read_dir(d)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.ok().map(|e| e.path()))
            })
            .filter(|p| p.join(files::CONFIG).is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            rows.push(read_row(&dir)?);
        }
    }
    rows.sort_by(|a, b| {
        (&a.dataset, &a.model, a.latent, a.seed).cmp(&(&b.dataset, &b.model, b.latent, b.seed))
    });
    // The same cell in two directories (merged shards, copies): one copy
    // when both hold the same run (configuration and every epoch's metrics
    // alike), an error naming both otherwise.
    let mut out: Vec<RunRow> = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(prev) = out.last() {
            if (&prev.dataset, &prev.model, prev.latent, prev.seed)
                == (&r.dataset, &r.model, r.latent, r.seed)
            {
                if !same_run(&prev.dir, &r.dir) {
                    return Err(ExperimentError::Run {
                        path: r.dir.clone(),
                        reason: format!(
                            "holds cell {} {} L{} s{} as {} does, but another run of it \
                             (its configuration or metrics differ); merge directories of \
                             one grid only, or move one copy away",
                            r.dataset,
                            r.model,
                            r.latent,
                            r.seed,
                            prev.dir.display()
                        ),
                    });
                }
                continue;
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// Whether two run directories hold the same run: equal configurations
/// and byte-identical `metrics.csv`.
fn same_run(a: &Path, b: &Path) -> bool {
    let (ra, rb) = (RunDir::new(a), RunDir::new(b));
    let same_cfg = matches!((ra.config(), rb.config()), (Ok(x), Ok(y)) if x == y);
    let metrics = |d: &RunDir| std::fs::read(d.file(files::METRICS)).ok();
    same_cfg && metrics(&ra) == metrics(&rb)
}

fn read_row(dir: &Path) -> Result<RunRow, ExperimentError> {
    let run = RunDir::new(dir);
    let cfg = run.config()?;
    let state = run.state();
    let summary = match &state {
        RunState::Completed(s) | RunState::Diverged(s) => Some(s.clone()),
        _ => run.summary(),
    };
    // An unfinished (killed, or still training) run reports the medians of
    // the epochs it has, so a report on a grid in progress shows them.
    let reported = match &state {
        RunState::Completed(s) | RunState::Diverged(s) => s.reported.clone(),
        _ => latentdyn_train::MetricsCsv::read(&run.file(files::METRICS))
            .ok()
            .and_then(|h| latentdyn_train::reported(&h, cfg.train.report_last)),
    };
    let status = match &state {
        RunState::Completed(_) => RunStatus::Completed,
        RunState::Diverged(_) => RunStatus::Diverged,
        _ => RunStatus::Interrupted,
    };
    let r = reported.as_ref();
    let (done, nll, rate, state_r2, latent) = (
        state.epochs_done(),
        r.map_or(f64::NAN, |r| r.nll),
        r.and_then(|r| r.rate_r2).unwrap_or(f64::NAN),
        r.and_then(|r| r.state_r2).unwrap_or(f64::NAN),
        r.and_then(|r| r.latent_r2).unwrap_or(f64::NAN),
    );
    let wall = summary.as_ref().map_or(0.0, |s| s.wall_seconds);
    let analysis = crate::analyse::analysis_is_fresh(dir)
        .then(|| crate::analyse::load_fixed_points(dir))
        .flatten();
    Ok(RunRow {
        dataset: dataset_label(&cfg),
        model: cfg.preset.clone(),
        latent: cfg.model.latent_size,
        seed: cfg.seed,
        status,
        epochs_done: done,
        epochs: cfg.train.epochs,
        nll,
        rate_r2: rate,
        state_r2,
        latent_r2: latent,
        recording: matches!(cfg.dataset, latentdyn_data::DataSpec::Recording(_)).then(|| {
            RecordingRow {
                co_bps: r.and_then(|r| r.co_bps),
                heldin_bps: r.and_then(|r| r.heldin_bps),
                velocity_r2: r.and_then(|r| r.velocity_r2),
                psth_r2: r.and_then(|r| r.psth_r2),
            }
        }),
        nll_basis: cfg.train.nll_basis,
        batch_size: cfg.train.batch_size,
        report_last: cfg.train.report_last,
        fixed_points: analysis.as_ref().map(FixedPointRow::of),
        fixed_points_study: analysis.as_ref().and_then(FixedPointRow::of_study),
        peak_rss_mib: summary.as_ref().and_then(|s| s.peak_rss_mib),
        wall_seconds: wall,
        dir: dir.to_path_buf(),
    })
}

/// The basis as `results.csv` writes it: `full` or `without-stirling`.
fn nll_basis_name(b: NllBasis) -> &'static str {
    match b {
        NllBasis::Full => "full",
        NllBasis::WithoutStirling => "without-stirling",
    }
}

/// The columns of `results.csv`, as [`write_runs_csv`] writes them and
/// [`read_runs_csv`] reads them back.
pub const RESULTS_HEADER: &str = "dataset,model,latent,seed,status,epochs_done,epochs,nll,\
     rate_r2,state_r2,latent_r2,co_bps,heldin_bps,velocity_r2,psth_r2,nll_basis,batch_size,\
     report_last,fp_model,fp_true,fp_matched,fp_missing,fp_spurious,fp_location_error,\
     fp_eigenvalue_error,fp_study_model,fp_study_matched,fp_study_missing,fp_study_spurious,\
     peak_rss_mib,wall_seconds,dir";

/// The rows of a `results.csv` that [`write_runs_csv`] wrote: the runs of
/// directories that are not at hand (an earlier session's, another
/// machine's shard), for `latentdyn report --rows`. What the file does not
/// hold stays empty: the study profile's location and eigenvalue errors.
/// Errors name the file, the line and the column.
pub fn read_runs_csv(path: &Path) -> Result<Vec<RunRow>, ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, reason: String| ExperimentError::Results {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if header.trim_end() != RESULTS_HEADER {
        return Err(bad(
            1,
            format!("not a latentdyn results.csv (its header is not `{RESULTS_HEADER}`)"),
        ));
    }
    let columns: Vec<&str> = RESULTS_HEADER.split(',').collect();
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        if line.trim().is_empty() {
            continue;
        }
        // `dir` is last, so a comma in a path stays in it.
        let cells: Vec<&str> = line.splitn(columns.len(), ',').collect();
        if cells.len() != columns.len() {
            return Err(bad(
                n,
                format!("{} columns, the header has {}", cells.len(), columns.len()),
            ));
        }
        let cell = |name: &str| -> &str {
            let k = columns
                .iter()
                .position(|c| *c == name)
                .expect("a column of the header");
            cells[k]
        };
        let parse_err = |name: &str, what: &str| {
            bad(
                n,
                format!("column `{name}`: `{}` is not {what}", cell(name)),
            )
        };
        let int = |name: &str| -> Result<usize, ExperimentError> {
            cell(name)
                .parse()
                .map_err(|_| parse_err(name, "a whole number"))
        };
        let opt_int = |name: &str| -> Result<Option<usize>, ExperimentError> {
            match cell(name) {
                "" => Ok(None),
                _ => int(name).map(Some),
            }
        };
        let float = |name: &str| -> Result<f64, ExperimentError> {
            cell(name).parse().map_err(|_| parse_err(name, "a number"))
        };
        let opt_float = |name: &str| -> Result<Option<f64>, ExperimentError> {
            match cell(name) {
                "" => Ok(None),
                _ => float(name).map(Some),
            }
        };
        let status = match cell("status") {
            "completed" => RunStatus::Completed,
            "interrupted" => RunStatus::Interrupted,
            "diverged" => RunStatus::Diverged,
            _ => return Err(parse_err("status", "completed, interrupted or diverged")),
        };
        let nll_basis = match cell("nll_basis") {
            "full" => NllBasis::Full,
            "without-stirling" => NllBasis::WithoutStirling,
            _ => return Err(parse_err("nll_basis", "full or without-stirling")),
        };
        // The writer leaves a recording's R² cells empty (it has no truth).
        let recording = match cell("rate_r2") {
            "" => Some(RecordingRow {
                co_bps: opt_float("co_bps")?,
                heldin_bps: opt_float("heldin_bps")?,
                velocity_r2: opt_float("velocity_r2")?,
                psth_r2: opt_float("psth_r2")?,
            }),
            _ => None,
        };
        let truth = |name: &str| -> Result<f64, ExperimentError> {
            Ok(opt_float(name)?.unwrap_or(f64::NAN))
        };
        let fp_true = opt_int("fp_true")?;
        // Our profile's columns are `fp_*`; the study profile's `fp_study_*`
        // (the file holds no errors for it).
        let fixed = |prefix: &str, errors: bool| -> Result<_, ExperimentError> {
            let col = |c: &str| format!("{prefix}{c}");
            let Some(model) = opt_int(&col("model"))? else {
                return Ok(None);
            };
            let error = |c: &str| match errors {
                true => opt_float(&col(c)),
                false => Ok(None),
            };
            Ok(Some(FixedPointRow {
                model,
                truth: fp_true,
                matched: opt_int(&col("matched"))?,
                missing: opt_int(&col("missing"))?,
                spurious: opt_int(&col("spurious"))?,
                location_error: error("location_error")?,
                eigenvalue_error: error("eigenvalue_error")?,
            }))
        };
        let fixed_points = fixed("fp_", true)?;
        let fixed_points_study = fixed("fp_study_", false)?;
        let latent = int("latent")?;
        let seed = cell("seed")
            .parse()
            .map_err(|_| parse_err("seed", "a whole number"))?;
        if cell("dataset").is_empty() || cell("model").is_empty() {
            return Err(bad(n, "the dataset and the model must be named".into()));
        }
        rows.push(RunRow {
            dataset: cell("dataset").to_owned(),
            model: cell("model").to_owned(),
            latent,
            seed,
            status,
            epochs_done: int("epochs_done")?,
            epochs: int("epochs")?,
            nll: float("nll")?,
            rate_r2: truth("rate_r2")?,
            state_r2: truth("state_r2")?,
            latent_r2: truth("latent_r2")?,
            recording,
            nll_basis,
            batch_size: int("batch_size")?,
            report_last: int("report_last")?,
            fixed_points,
            fixed_points_study,
            peak_rss_mib: opt_float("peak_rss_mib")?,
            wall_seconds: float("wall_seconds")?,
            dir: PathBuf::from(cell("dir")),
        });
    }
    Ok(rows)
}

/// The rows of run directories merged with rows read back from earlier
/// `results.csv` files (in the order given), one row per cell (dataset,
/// model, latent, seed): a run directory's row replaces any earlier row
/// of its cell; among earlier rows, a completed one replaces one that is
/// not, and otherwise the later file's replaces the earlier's. Sorted as
/// [`collect`] sorts.
pub fn merge_rows(from_dirs: Vec<RunRow>, earlier: Vec<RunRow>) -> Vec<RunRow> {
    type Key = (String, String, usize, u64);
    let key = |r: &RunRow| -> Key { (r.dataset.clone(), r.model.clone(), r.latent, r.seed) };
    let mut by_cell: BTreeMap<Key, RunRow> = BTreeMap::new();
    for r in earlier {
        let done = |r: &RunRow| r.status == RunStatus::Completed;
        match by_cell.get(&key(&r)) {
            Some(prev) if done(prev) && !done(&r) => {}
            _ => {
                by_cell.insert(key(&r), r);
            }
        }
    }
    for r in from_dirs {
        by_cell.insert(key(&r), r);
    }
    by_cell.into_values().collect()
}

/// `results.csv`: one row per run, written atomically.
pub fn write_runs_csv(rows: &[RunRow], path: &Path) -> Result<(), ExperimentError> {
    let mut text = format!("{RESULTS_HEADER}\n");
    fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
        v.map_or_else(String::new, |v| v.to_string())
    }
    fn optf(v: Option<f64>, digits: usize) -> String {
        v.map_or_else(String::new, |v| format!("{v:.digits$}"))
    }
    for r in rows {
        let fp = r.fixed_points.as_ref();
        let st = r.fixed_points_study.as_ref();
        // A recording has no truth: its R² cells are empty, not NaN.
        let truth = |v: f64| match r.recording {
            Some(_) => String::new(),
            None => format!("{v:.6}"),
        };
        let rec = |f: fn(&RecordingRow) -> Option<f64>| optf(r.recording.as_ref().and_then(f), 6);
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{:.6},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.1},{}\n",
            r.dataset,
            r.model,
            r.latent,
            r.seed,
            r.status,
            r.epochs_done,
            r.epochs,
            r.nll,
            truth(r.rate_r2),
            truth(r.state_r2),
            truth(r.latent_r2),
            rec(|x| x.co_bps),
            rec(|x| x.heldin_bps),
            rec(|x| x.velocity_r2),
            rec(|x| x.psth_r2),
            nll_basis_name(r.nll_basis),
            r.batch_size,
            r.report_last,
            opt(fp.map(|f| f.model)),
            opt(fp.and_then(|f| f.truth)),
            opt(fp.and_then(|f| f.matched)),
            opt(fp.and_then(|f| f.missing)),
            opt(fp.and_then(|f| f.spurious)),
            optf(fp.and_then(|f| f.location_error), 6),
            optf(fp.and_then(|f| f.eigenvalue_error), 6),
            opt(st.map(|f| f.model)),
            opt(st.and_then(|f| f.matched)),
            opt(st.and_then(|f| f.missing)),
            opt(st.and_then(|f| f.spurious)),
            optf(r.peak_rss_mib, 0),
            r.wall_seconds,
            r.dir.display()
        ));
    }
    latentdyn_train::io::atomic_write(path, text.as_bytes())?;
    Ok(())
}

/// Mean, sample standard deviation and count, the study's reduction over
/// seeds (pandas' `std`, n − 1 in the denominator).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation over seeds (ddof = 1, as pandas' default);
    /// NaN for fewer than two values, where it is undefined.
    pub std: f64,
    /// How many values the mean is over.
    #[serde(default)]
    pub n: usize,
}

impl MeanStd {
    /// Of the finite values (mean NaN when there are none, std NaN when
    /// there are fewer than two).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        let n = v.len();
        if n == 0 {
            return Self {
                mean: f64::NAN,
                std: f64::NAN,
                n,
            };
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let std = if n < 2 {
            f64::NAN
        } else {
            (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64).sqrt()
        };
        Self { mean, std, n }
    }

    /// The standard deviation where it is defined, 0 otherwise (for error
    /// bars and bands).
    pub fn spread(&self) -> f64 {
        if self.std.is_finite() {
            self.std
        } else {
            0.0
        }
    }

    /// `0.912 ± 0.004` over several values, `0.912 (n = 1)` over one,
    /// `—` over none.
    pub fn display(&self, digits: usize) -> String {
        if !self.mean.is_finite() {
            return "—".into();
        }
        if self.std.is_finite() {
            format!("{:.digits$} ± {:.digits$}", self.mean, self.std)
        } else {
            format!("{:.digits$} (n = {})", self.mean, self.n)
        }
    }

    /// Whether `ours` falls within this published value's mean ± max(2·std, 0.03),
    /// the study's matching rule.
    pub fn accepts(&self, ours: f64) -> bool {
        ours.is_finite() && (ours - self.mean).abs() <= (2.0 * self.std).max(0.03)
    }
}

/// The study dataset a label stands for: `study:lorenz` → `lorenz`; other
/// labels unchanged.
pub fn study_dataset(label: &str) -> &str {
    label.strip_prefix("study:").unwrap_or(label)
}

/// One published cell (`configs/published_results.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Published {
    /// Our dataset preset name.
    pub dataset: String,
    /// Our model preset name.
    pub model: String,
    /// Latent size.
    pub latent: usize,
    /// Validation NLL.
    pub nll: MeanStd,
    /// Rate R².
    pub rate_r2: MeanStd,
    /// State R².
    pub state_r2: MeanStd,
}

/// The study's published values, shipped in `configs/published_results.csv`.
pub const PUBLISHED_CSV: &str = include_str!("../../../configs/published_results.csv");

/// Parses the published table, mapping the study's names to ours
/// (`ablation0_baseline` → `ablation0`; MacArthur's `node` → `node-discrete`).
pub fn published() -> Result<Vec<Published>, ExperimentError> {
    let bad = |line: usize, reason: String| ExperimentError::Grid {
        grid: "configs/published_results.csv".into(),
        reason: format!("line {line}: {reason}"),
    };
    let mut out = Vec::new();
    for (i, line) in PUBLISHED_CSV.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let c: Vec<&str> = line.split(',').collect();
        if c.len() != 12 {
            return Err(bad(i + 1, format!("{} columns, expected 12", c.len())));
        }
        let obs: usize = c[1].parse().map_err(|_| bad(i + 1, "obs_dim".into()))?;
        let dataset = STUDY_DATASETS
            .iter()
            .find(|(_, sys, o)| *sys == c[0] && *o == obs)
            .map(|(n, _, _)| (*n).to_owned())
            .ok_or_else(|| bad(i + 1, format!("unknown dataset {} {obs}", c[0])))?;
        let model = match c[2] {
            "node" if dataset == "macarthur100" => "node-discrete".to_owned(),
            m => m.split('_').next().unwrap_or(m).to_owned(),
        };
        let f = |j: usize| -> Result<f64, ExperimentError> {
            c[j].parse().map_err(|_| bad(i + 1, format!("column {j}")))
        };
        let seeds: usize = c[4].parse().map_err(|_| bad(i + 1, "n_seeds".into()))?;
        out.push(Published {
            dataset,
            model,
            latent: c[3].parse().map_err(|_| bad(i + 1, "latent_size".into()))?,
            nll: MeanStd {
                mean: f(6)?,
                std: f(7)?,
                n: seeds,
            },
            rate_r2: MeanStd {
                mean: f(8)?,
                std: f(9)?,
                n: seeds,
            },
            state_r2: MeanStd {
                mean: f(10)?,
                std: f(11)?,
                n: seeds,
            },
        });
    }
    Ok(out)
}

/// A recording cell's scores over its seeds (runs without a score are left
/// out of its mean).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RecordingCell {
    /// Co-smoothing bits per spike.
    pub co_bps: MeanStd,
    /// Held-in bits per spike.
    pub heldin_bps: MeanStd,
    /// Behaviour decoding R².
    pub velocity_r2: MeanStd,
    /// PSTH R².
    pub psth_r2: MeanStd,
}

/// One grid cell over its seeds, beside the published value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// Dataset.
    pub dataset: String,
    /// Model.
    pub model: String,
    /// Latent size.
    pub latent: usize,
    /// Runs with reported numbers (completed or interrupted with epochs).
    pub n: usize,
    /// Diverged runs (not in the means).
    pub diverged: usize,
    /// Runs not finished yet (killed or still training; not in the means).
    pub unfinished: usize,
    /// Ours: NLL.
    pub nll: MeanStd,
    /// Ours: rate R².
    pub rate_r2: MeanStd,
    /// Ours: state R².
    pub state_r2: MeanStd,
    /// A recording's cell: co-smoothing and decoding over its runs.
    pub recording: Option<RecordingCell>,
    /// Model fixed points matched to the truth, over the analysed runs.
    pub fp_matched: MeanStd,
    /// Spurious model fixed points, over the analysed runs.
    pub fp_spurious: MeanStd,
    /// Fixed points of the true system (`None`: not analysed or no truth).
    pub fp_truth: Option<usize>,
    /// The published cell, when the study has one.
    pub published: Option<Published>,
    /// Epochs its finished runs trained (the fewest among them; 0 when none
    /// has finished).
    pub epochs: usize,
    /// The basis of its NLL.
    pub nll_basis: NllBasis,
    /// The reporting window its numbers are medians over (epochs; the
    /// study's 500, 100 for the ablation).
    pub report_last: usize,
}

impl CellSummary {
    /// A recording cell's held-in NLL, co-bps, held-in bps, velocity R²
    /// and PSTH R², each by `fmt`, `—` where no run has the score; `None`
    /// for a cell of synthetic data. What both reports' recording tables show.
    pub fn recording_columns(&self, fmt: impl Fn(&MeanStd) -> String) -> Option<[String; 5]> {
        let r = self.recording.as_ref()?;
        let f = |m: &MeanStd| {
            if m.n == 0 {
                "—".to_owned()
            } else {
                fmt(m)
            }
        };
        Some([
            f(&self.nll),
            f(&r.co_bps),
            f(&r.heldin_bps),
            f(&r.velocity_r2),
            f(&r.psth_r2),
        ])
    }

    /// Whether it has finished runs and they trained as long as the study's
    /// (3000 epochs), so that its numbers can be set beside the published ones.
    pub fn comparable(&self) -> bool {
        self.n > 0 && self.epochs == latentdyn_train::STUDY_EPOCHS
    }

    /// Within the published band for (NLL, rate R², state R²); `None`
    /// without a published value, or when the runs are shorter than the
    /// study's and so not comparable.
    pub fn within(&self) -> Option<[bool; 3]> {
        if !self.comparable() {
            return None;
        }
        let p = self.published.as_ref()?;
        Some([
            p.nll.accepts(self.nll.mean),
            p.rate_r2.accepts(self.rate_r2.mean),
            p.state_r2.accepts(self.state_r2.mean),
        ])
    }
}

/// Groups runs by (dataset, model, L) and sets each beside the published value.
pub fn summarise(rows: &[RunRow]) -> Result<Vec<CellSummary>, ExperimentError> {
    let published = published()?;
    let mut groups: BTreeMap<(String, String, usize), Vec<&RunRow>> = BTreeMap::new();
    for r in rows {
        groups
            .entry((r.dataset.clone(), r.model.clone(), r.latent))
            .or_default()
            .push(r);
    }
    Ok(groups
        .into_iter()
        .map(|((dataset, model, latent), runs)| {
            // A cell's numbers are over its finished runs: an unfinished
            // run's medians are of the epochs it has, not of the study's tail.
            let ok: Vec<&&RunRow> = runs
                .iter()
                .filter(|r| r.status == RunStatus::Completed && r.nll.is_finite())
                .collect();
            let fp: Vec<FixedPointRow> = ok.iter().filter_map(|r| r.fixed_points).collect();
            let count = |s: RunStatus| runs.iter().filter(|r| r.status == s).count();
            CellSummary {
                n: ok.len(),
                diverged: count(RunStatus::Diverged),
                unfinished: count(RunStatus::Interrupted),
                nll: MeanStd::of(ok.iter().map(|r| r.nll)),
                rate_r2: MeanStd::of(ok.iter().map(|r| r.rate_r2)),
                state_r2: MeanStd::of(ok.iter().map(|r| r.state_r2)),
                // A recording's cell even before a run of it finished.
                recording: runs.iter().find_map(|r| r.recording).map(|_| {
                    let of = |f: fn(&RecordingRow) -> Option<f64>| {
                        MeanStd::of(ok.iter().filter_map(|r| r.recording.as_ref().and_then(f)))
                    };
                    RecordingCell {
                        co_bps: of(|x| x.co_bps),
                        heldin_bps: of(|x| x.heldin_bps),
                        velocity_r2: of(|x| x.velocity_r2),
                        psth_r2: of(|x| x.psth_r2),
                    }
                }),
                fp_matched: MeanStd::of(fp.iter().filter_map(|f| f.matched).map(|m| m as f64)),
                fp_spurious: MeanStd::of(fp.iter().filter_map(|f| f.spurious).map(|m| m as f64)),
                fp_truth: fp.iter().find_map(|f| f.truth),
                published: published
                    .iter()
                    .find(|p| {
                        p.dataset == study_dataset(&dataset)
                            && p.model == model
                            && p.latent == latent
                    })
                    .cloned(),
                epochs: ok.iter().map(|r| r.epochs_done).min().unwrap_or(0),
                nll_basis: ok.first().map_or(NllBasis::Full, |r| r.nll_basis),
                report_last: runs.first().map_or(0, |r| r.report_last),
                dataset,
                model,
                latent,
            }
        })
        .collect())
}

/// The NLL basis most cells use and, when some cells differ, a note for the
/// rows marked `†`.
pub fn basis_note(cells: &[CellSummary]) -> Option<String> {
    let other = cells
        .iter()
        .filter(|c| c.nll_basis != NllBasis::Full)
        .map(|c| format!("{} {} L{}", c.dataset, c.model, c.latent))
        .collect::<Vec<_>>();
    if other.is_empty() || other.len() == cells.len() {
        return None;
    }
    Some(format!(
        "† NLL without the Stirling term, the basis of the published Lorenz runs (the other \
         rows include it): {}",
        other.join("; ")
    ))
}

/// Where a table's numbers come from, in words (one line): each run's
/// median over its reporting window (naming the windows the cells use),
/// then mean ± sample std over seeds.
pub fn source_note<'a>(cells: impl IntoIterator<Item = &'a CellSummary>) -> String {
    let mut ablation = Vec::new();
    let mut rest = Vec::new();
    for c in cells {
        if c.report_last > 0 {
            if c.model.starts_with("ablation") {
                ablation.push(c.report_last);
            } else {
                rest.push(c.report_last);
            }
        }
    }
    for w in [&mut ablation, &mut rest] {
        w.sort_unstable();
        w.dedup();
    }
    let mut all: Vec<usize> = ablation.iter().chain(&rest).copied().collect();
    all.sort_unstable();
    all.dedup();
    let windows = match (all.as_slice(), ablation.as_slice(), rest.as_slice()) {
        ([], ..) => "reporting window".to_owned(),
        ([w], ..) => format!("last {w} validation epochs"),
        (_, [a], [o]) => format!("last {o} validation epochs (ablation: {a})"),
        (many, ..) => format!(
            "last {} validation epochs (by cell)",
            many.iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join(" / ")
        ),
    };
    format!("each run's median over its {windows}, then mean ± std over seeds")
}

/// [`source_note`] on two lines for the plain-text tables.
fn source_lines<'a>(cells: impl IntoIterator<Item = &'a CellSummary>) -> String {
    source_note(cells).replacen(", then", ",\n  then", 1)
}

/// The mark of a comparison: `✓` within the published band, `✗` outside,
/// `·` not compared (runs shorter than the study's), blank without a
/// published value.
fn comparison_mark(ok: Option<bool>, published: bool) -> &'static str {
    match ok {
        Some(true) => "✓",
        Some(false) => "✗",
        None if published => "·",
        None => " ",
    }
}

/// A cell's heading line in the plain-text tables: dataset, model (an
/// ablation named by what it takes away), L and how many seeds.
fn cell_heading(c: &CellSummary) -> String {
    let mut h = format!(
        "{} · {} · L = {} · {}",
        c.dataset,
        crate::plots::model_label(&c.model),
        c.latent,
        match c.n {
            1 => "1 seed".to_owned(),
            n => format!("{n} seeds"),
        }
    );
    h.push('\n');
    if c.diverged > 0 {
        // Its own line: appended to a long heading it would wrap and read
        // as a metric row.
        h.push_str(&format!(
            "  ({} diverged run(s), not in the mean)\n",
            c.diverged
        ));
    }
    h
}

/// The summary as plain text that fits 80 columns: a heading per cell and a
/// line per metric, our mean ± std beside the published, `✓` within the
/// band, `✗` outside, `·` where the runs are shorter than the study's and
/// are not compared; footnotes say so, and mark (`†`) NLLs on another basis
/// than the rest.
pub fn table(all: &[CellSummary]) -> String {
    let cells: Vec<CellSummary> = all
        .iter()
        .filter(|c| c.recording.is_none())
        .cloned()
        .collect();
    let recordings: Vec<&CellSummary> = all.iter().filter(|c| c.recording.is_some()).collect();
    let mut out = recording_table(&recordings);
    if cells.is_empty() && !recordings.is_empty() {
        return out;
    }
    let cells = &cells[..];
    out.push_str(&format!(
        "results: {}\n  {:<37} {:<16} {}\n",
        source_lines(cells),
        "",
        "ours",
        "published"
    ));
    let note = basis_note(cells);
    for c in cells {
        out.push_str(&cell_heading(c));
        let within = c.within();
        let dagger = if note.is_some() && c.nll_basis != NllBasis::Full {
            "†"
        } else {
            ""
        };
        let p = c.published.as_ref();
        let lines = [
            (
                format!("NLL{dagger} (nats/bin/neuron, lower better)"),
                &c.nll,
                p.map(|p| &p.nll),
            ),
            (
                "rate R² (higher better)".to_owned(),
                &c.rate_r2,
                p.map(|p| &p.rate_r2),
            ),
            (
                "state R² (higher better)".to_owned(),
                &c.state_r2,
                p.map(|p| &p.state_r2),
            ),
        ];
        for (i, (name, ours, theirs)) in lines.into_iter().enumerate() {
            let theirs_text = theirs.map_or_else(|| "—".to_owned(), |t| t.display(3));
            out.push_str(&format!(
                "  {name:<37} {:<16} {theirs_text:<14} {}\n",
                ours.display(3),
                comparison_mark(within.map(|w| w[i]), theirs.is_some())
            ));
        }
    }
    let short: Vec<usize> = cells
        .iter()
        .filter(|c| c.published.is_some() && !c.comparable() && c.n > 0)
        .map(|c| c.epochs)
        .collect();
    if let Some(&e) = short.iter().max() {
        out.push_str(&format!(
            "· not compared: {e} of the study's {} epochs (published values shown for\n  \
             orientation only)\n",
            latentdyn_train::STUDY_EPOCHS
        ));
    }
    if cells.iter().any(|c| c.within().is_some()) {
        out.push_str("✓ within the published mean ± max(2 std, 0.03); ✗ outside it\n");
    }
    let unfinished: usize = cells.iter().map(|c| c.unfinished).sum();
    if unfinished > 0 {
        out.push_str(&format!(
            "{unfinished} run(s) not finished yet are left out of the cells (their epochs so\n  \
             far are in results.csv)\n"
        ));
    }
    if let Some(n) = note {
        out.push_str(&n);
        out.push('\n');
    }
    out
}

/// The cells of runs on recordings, which have no truth and no published
/// values, as plain text in 80 columns: held-in NLL, co-smoothing
/// bits/spike, held-in bits/spike, behaviour decoding and PSTH R² (mean ±
/// std over seeds; `—` where the recording cannot give the score). Empty
/// when there are none.
pub fn recording_table(cells: &[&CellSummary]) -> String {
    if cells.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "recordings (no ground truth: scored by co-smoothing and decoding):\n  {}\n",
        source_lines(cells.iter().copied())
    );
    for c in cells {
        let Some(values) = c.recording_columns(|m| m.display(4)) else {
            continue;
        };
        out.push_str(&cell_heading(c));
        let names = [
            "held-in NLL (nats/bin/neuron, lower better)",
            "co-smoothing (bits/spike, higher better)",
            "held-in (bits/spike, higher better)",
            "velocity R² (higher better)",
            "PSTH R² (higher better)",
        ];
        for (name, v) in names.iter().zip(values) {
            out.push_str(&format!("  {name:<44} {v}\n"));
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_table_parses_and_maps_names() {
        let p = published().unwrap();
        assert_eq!(p.len(), 89);
        let node3 = p
            .iter()
            .find(|p| p.dataset == "arneodo" && p.model == "node" && p.latent == 3)
            .unwrap();
        assert_eq!(node3.rate_r2.mean, 0.9119);
        assert!(p.iter().any(|p| p.model == "ablation3"));
        assert!(p
            .iter()
            .any(|p| p.dataset == "macarthur100" && p.model == "node-discrete"));
        assert!(!p
            .iter()
            .any(|p| p.dataset == "macarthur100" && p.model == "node"));
    }

    fn csv_row(dataset: &str, model: &str, seed: u64, status: RunStatus) -> RunRow {
        RunRow {
            dataset: dataset.into(),
            model: model.into(),
            latent: 3,
            seed,
            status,
            epochs_done: 3000,
            epochs: 3000,
            nll: 1.368919,
            rate_r2: 0.909622,
            state_r2: 0.927549,
            latent_r2: 0.924784,
            recording: None,
            nll_basis: NllBasis::Full,
            batch_size: 650,
            report_last: 500,
            fixed_points: None,
            fixed_points_study: None,
            peak_rss_mib: None,
            wall_seconds: 2869.0,
            dir: PathBuf::from(format!("runs/survey/{dataset}/{model}-L3-s{seed}")),
        }
    }

    /// What `write_runs_csv` writes, `read_runs_csv` reads back: writing
    /// the rows read gives the same text, for completed runs with both
    /// fixed-point profiles, a recording's run (no truth: empty R² cells),
    /// an interrupted run with a NaN NLL, and a path with a comma in it.
    #[test]
    fn results_csv_reads_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = csv_row("study:arneodo", "node", 0, RunStatus::Completed);
        a.fixed_points = Some(FixedPointRow {
            model: 3,
            truth: Some(3),
            matched: Some(2),
            missing: Some(1),
            spurious: Some(1),
            location_error: Some(0.193478),
            eigenvalue_error: Some(0.047581),
        });
        a.fixed_points_study = Some(FixedPointRow {
            model: 3,
            truth: Some(3),
            matched: Some(2),
            missing: Some(1),
            spurious: Some(1),
            location_error: None,
            eigenvalue_error: None,
        });
        a.peak_rss_mib = Some(502.0);
        let mut rec = csv_row("reach_a", "gru", 1, RunStatus::Completed);
        (rec.rate_r2, rec.state_r2, rec.latent_r2) = (f64::NAN, f64::NAN, f64::NAN);
        rec.recording = Some(RecordingRow {
            co_bps: Some(0.148),
            heldin_bps: Some(0.2),
            velocity_r2: None,
            psth_r2: Some(0.5),
        });
        let mut stopped = csv_row("study:lorenz", "gru", 2, RunStatus::Interrupted);
        stopped.nll = f64::NAN;
        stopped.epochs_done = 12;
        stopped.nll_basis = NllBasis::WithoutStirling;
        stopped.dir = PathBuf::from("/data/runs, copy/lorenz/gru-L3-s2");
        let rows = vec![a, rec, stopped];
        let first = dir.path().join("first.csv");
        write_runs_csv(&rows, &first).unwrap();
        let back = read_runs_csv(&first).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0].fixed_points, rows[0].fixed_points);
        assert_eq!(back[0].fixed_points_study, rows[0].fixed_points_study);
        assert_eq!(back[1].recording, rows[1].recording);
        assert!(back[1].rate_r2.is_nan() && back[2].nll.is_nan());
        assert_eq!(back[2].dir, rows[2].dir);
        assert_eq!(back[2].nll_basis, NllBasis::WithoutStirling);
        let second = dir.path().join("second.csv");
        write_runs_csv(&back, &second).unwrap();
        assert_eq!(
            std::fs::read_to_string(&first).unwrap(),
            std::fs::read_to_string(&second).unwrap()
        );
        // The survey's committed rows read back too (the file's own copy
        // in the repository).
        let survey = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results/survey.csv");
        let rows = read_runs_csv(&survey).unwrap();
        assert!(rows.len() >= 14 && rows.iter().all(|r| r.epochs == 3000));
    }

    #[test]
    fn a_damaged_results_csv_names_the_line_and_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.csv");
        write_runs_csv(
            &[
                csv_row("arneodo", "gru", 0, RunStatus::Completed),
                csv_row("arneodo", "node", 0, RunStatus::Completed),
            ],
            &good,
        )
        .unwrap();
        let text = std::fs::read_to_string(&good).unwrap();
        let damaged = |name: &str, edit: &dyn Fn(&str) -> String| {
            let p = dir.path().join(name);
            std::fs::write(&p, edit(&text)).unwrap();
            read_runs_csv(&p).unwrap_err().to_string()
        };
        let e = damaged("header.csv", &|t| t.replacen("dataset,", "set,", 1));
        assert!(
            e.contains("header.csv, line 1") && e.contains("not a latentdyn results.csv"),
            "{e}"
        );
        let e = damaged("number.csv", &|t| t.replace(",1.368919,", ",one,"));
        assert!(
            e.contains("line 2") && e.contains("column `nll`: `one` is not a number"),
            "{e}"
        );
        let e = damaged("status.csv", &|t| {
            let mut lines: Vec<String> = t.lines().map(String::from).collect();
            lines[2] = lines[2].replace(",completed,", ",done,");
            lines.join("\n")
        });
        assert!(
            e.contains("line 3") && e.contains("column `status`: `done`"),
            "{e}"
        );
        let e = damaged("short.csv", &|t| {
            let mut lines: Vec<String> = t.lines().map(String::from).collect();
            lines[1] = lines[1].split(',').take(5).collect::<Vec<_>>().join(",");
            lines.join("\n")
        });
        assert!(
            e.contains("line 2") && e.contains("5 columns, the header has 32"),
            "{e}"
        );
        let missing = read_runs_csv(&dir.path().join("absent.csv"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("absent.csv"), "{missing}");
    }

    /// A run directory's row replaces an earlier row of its cell; among
    /// earlier rows, completed beats unfinished, then the later file wins.
    #[test]
    fn merged_rows_keep_one_row_per_cell() {
        let mut old_done = csv_row("arneodo", "gru", 0, RunStatus::Completed);
        old_done.nll = 1.0;
        let mut later_stopped = csv_row("arneodo", "gru", 0, RunStatus::Interrupted);
        later_stopped.nll = 2.0;
        let mut a = csv_row("arneodo", "node", 0, RunStatus::Completed);
        a.nll = 3.0;
        let mut b = a.clone();
        b.nll = 4.0;
        let mut dir_row = csv_row("macarthur100", "gru", 0, RunStatus::Interrupted);
        dir_row.nll = 5.0;
        let mut earlier_done = dir_row.clone();
        earlier_done.status = RunStatus::Completed;
        earlier_done.nll = 6.0;
        let merged = merge_rows(
            vec![dir_row],
            vec![old_done, a, earlier_done, later_stopped, b],
        );
        let nll: Vec<(&str, &str, f64)> = merged
            .iter()
            .map(|r| (r.dataset.as_str(), r.model.as_str(), r.nll))
            .collect();
        assert_eq!(
            nll,
            [
                ("arneodo", "gru", 1.0),
                ("arneodo", "node", 4.0),
                ("macarthur100", "gru", 5.0)
            ]
        );
    }

    #[test]
    fn unfinished_runs_stay_out_of_the_cells() {
        let row = |seed: u64, status: RunStatus, done: usize, rate: f64| RunRow {
            epochs_done: done,
            rate_r2: rate,
            ..csv_row("study:arneodo", "node", seed, status)
        };
        let cells = summarise(&[
            row(0, RunStatus::Completed, 3000, 0.91),
            row(1, RunStatus::Interrupted, 800, 0.40),
        ])
        .unwrap();
        let c = &cells[0];
        assert_eq!((c.n, c.unfinished, c.rate_r2.mean), (1, 1, 0.91));
        // study:arneodo is compared with the published arneodo cell
        assert_eq!(c.within(), Some([true, true, true]));
        let only = summarise(&[row(1, RunStatus::Interrupted, 800, 0.40)]).unwrap();
        assert!(!only[0].comparable() && only[0].within().is_none());
        assert!(table(&only).contains("1 run(s) not finished yet"));
    }

    /// The source note names each window once: one window alone, the
    /// ablation's beside the rest's, or every window by cell when either
    /// side has more than one.
    #[test]
    fn source_note_names_the_windows_the_cells_use() {
        let cell = |model: &str, report_last: usize| {
            let row = RunRow {
                dataset: "study:arneodo".into(),
                model: model.into(),
                latent: 3,
                seed: 0,
                status: RunStatus::Completed,
                epochs_done: 3000,
                epochs: 3000,
                nll: 1.37,
                rate_r2: 0.9,
                state_r2: 0.9,
                latent_r2: 0.9,
                recording: None,
                nll_basis: NllBasis::Full,
                batch_size: 650,
                report_last,
                fixed_points: None,
                fixed_points_study: None,
                peak_rss_mib: None,
                wall_seconds: 1.0,
                dir: PathBuf::from("x"),
            };
            summarise(&[row]).unwrap().remove(0)
        };
        let note = |cells: &[CellSummary]| source_note(cells);
        let (node, gru) = (cell("node", 500), cell("gru", 500));
        let (ab0, ab1) = (cell("ablation0", 100), cell("ablation1", 100));
        assert_eq!(
            note(&[node.clone(), gru.clone()]),
            "each run's median over its last 500 validation epochs, then mean ± std over seeds"
        );
        assert!(note(&[node.clone(), ab0.clone(), ab1.clone()])
            .contains("last 500 validation epochs (ablation: 100),"));
        // Only ablations, all at 100: one window, nothing to tell apart.
        assert!(note(&[ab0.clone(), ab1]).contains("its last 100 validation epochs,"));
        // Two windows outside the ablation: by cell, every window named.
        let short = cell("gru", 50);
        assert!(note(&[short.clone(), node.clone(), ab0.clone()])
            .contains("last 50 / 100 / 500 validation epochs (by cell)"));
        assert!(note(&[short, node]).contains("last 50 / 500 validation epochs (by cell)"));
        // An ablation at the main window and another at 100: by cell.
        let ab_long = cell("ablation2", 500);
        assert!(note(&[gru, ab0, ab_long]).contains("last 100 / 500 validation epochs (by cell)"));
        assert_eq!(
            source_lines(&[cell("node", 500)]),
            "each run's median over its last 500 validation epochs,\n  then mean ± std over seeds"
        );
    }

    #[test]
    fn mean_std_and_the_matching_rule() {
        // Sample std (n − 1): of 1 and 3 it is √2, as pandas gives.
        let m = MeanStd::of([1.0, 3.0, f64::NAN]);
        assert_eq!((m.mean, m.n), (2.0, 2));
        assert!((m.std - 2f64.sqrt()).abs() < 1e-15);
        // pandas.Series([0.90, 0.91, 0.95]).std() = 0.026457513110645845
        let m = MeanStd::of([0.90, 0.91, 0.95]);
        assert!((m.std - 0.026457513110645845).abs() < 1e-15);
        let one = MeanStd::of([0.5]);
        assert!(one.std.is_nan() && one.spread() == 0.0);
        assert_eq!(one.display(3), "0.500 (n = 1)");
        assert_eq!(m.display(2), "0.92 ± 0.03");
        assert_eq!(MeanStd::of([]).display(3), "—");
        let p = MeanStd {
            mean: 0.9,
            std: 0.001,
            n: 5,
        };
        assert!(p.accepts(0.925) && !p.accepts(0.935) && !p.accepts(f64::NAN));
        let wide = MeanStd {
            mean: 0.5,
            std: 0.1,
            n: 5,
        };
        assert!(wide.accepts(0.69) && !wide.accepts(0.71));
    }
}
