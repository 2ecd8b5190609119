//! A trained run's fixed points, aligned to the true system's, and its
//! figures: what `latentdyn fixed-points RUN`, `latentdyn figures RUN` and
//! the grid report compute for each run.
//!
//! The results land in the run directory: `fixed_points.json` and
//! `figures/` (trajectories, eigenvalues, flow; SVG and PNG). A run's
//! analysis is fresh while `fixed_points.json` is newer than
//! `best.safetensors`, so reports only analyse new or retrained runs.

use std::path::{Path, PathBuf};

use latentdyn_analysis::{
    align_fixed_points, find_fixed_points, AffineMap, AlignmentSummary, FinderConfig,
    FinderProfile, FixedPointSearch, Flow, NODE_BIN_DT,
};
use latentdyn_data::{
    file_sha256, generate_with_progress, load_data_file, Complex, Data, DataError, DataSpec,
    Dataset, DatasetRef, DatasetSpec, STUDY_DATASETS_ENV,
};
use latentdyn_models::{array3_to_tensor, tensor_to_array3};
use latentdyn_train::{files, load_run, DataFile, RunConfig};
use ndarray::{Array2, Array3, Axis};
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::figures;
use crate::ExperimentError;

/// The file in a run directory that holds its [`RunFixedPoints`].
pub const FIXED_POINTS: &str = "fixed_points.json";
/// The folder in a run directory that holds its figures.
pub const FIGURES: &str = "figures";

/// Everything `fixed_points.json` holds for a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFixedPoints {
    /// The run's name.
    pub run: String,
    /// The dataset's name.
    pub dataset: String,
    /// The model's fixed points.
    pub model: FixedPointSearch,
    /// The true system's, when it has a vector field here.
    pub truth: Option<FixedPointSearch>,
    /// The model's points matched to the truth.
    pub alignment: Option<AlignmentSummary>,
    /// Weights `[L, true dim]` of the inferred → true affine map.
    pub to_true_weights: Option<Vec<Vec<f64>>>,
    /// Bias of that map.
    pub to_true_bias: Option<Vec<f64>>,
    /// The same model searched as the study's figure script searched it
    /// ([`FinderProfile::Study`]); `None` in records written before it
    /// existed or when the run has no `last.safetensors`.
    #[serde(default)]
    pub study: Option<ProfileSearch>,
    /// A recording's bin width in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin_ms: Option<f64>,
    /// On a recording with a bin width: each model point's eigenvalues as
    /// continuous-time rates in 1/s ([`per_second`]), in the points' order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_second: Option<Vec<Vec<Complex>>>,
}

/// One fixed-point search of a model under a named profile, with where its
/// starts came from and its alignment to the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSearch {
    /// The finder profile.
    pub profile: FinderProfile,
    /// The checkpoint searched (`best.safetensors`, `last.safetensors`).
    pub checkpoint: String,
    /// Which trials' inferred latents the starts were drawn from.
    pub trials: String,
    /// The search.
    pub model: FixedPointSearch,
    /// Its points matched to the truth (map fitted on the same trials).
    pub alignment: Option<AlignmentSummary>,
}

/// What the figures and the alignment need from a run, in memory.
#[derive(Debug)]
pub struct RunAnalysis {
    /// The saved record.
    pub record: RunFixedPoints,
    /// Inferred latents, `[samples·time, L]`.
    pub inferred: Array2<f64>,
    /// True latents, `[samples·time, true dim]`.
    pub true_latents: Array2<f64>,
    /// Time steps per trial.
    pub steps: usize,
    /// Inferred → true map.
    pub to_true: Option<AffineMap>,
    /// Each trial's condition (a recording's), for colouring figures.
    pub conditions: Option<Vec<i64>>,
}

/// `[trials, time, dim]` → `[trials·time, dim]`, trial-major.
pub fn flatten(a: &Array3<f64>) -> Array2<f64> {
    let (s, t, l) = a.dim();
    Array2::from_shape_fn((s * t, l), |(i, j)| a[[i / t, i % t, j]])
}

/// What [`ensure_dataset_with`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    /// The file in the directory was the dataset of the spec.
    Found,
    /// The dataset was generated and saved; `why` says what was wrong with
    /// the file that was there (`None`: there was none, or `force`).
    Generated {
        /// Why the existing file was not used.
        why: Option<String>,
    },
}

/// The generated dataset of `spec` in `dir` (`<dir>/<spec name>.npz`),
/// loaded, or generated and saved first unless a file with the same spec
/// is already there: one load (or one generation) per call.
pub fn ensure_dataset(spec: &DatasetSpec, dir: &Path) -> Result<Dataset, ExperimentError> {
    ensure_dataset_with(spec, dir, false, &|_| {}).map(|(d, _)| d)
}

/// [`ensure_dataset`], regenerating when `force`, with `progress(fraction)`
/// called while a dataset is generated (for a progress bar); says whether
/// the file was found or made. Calls for the same file take turns (so
/// parallel runs sharing a missing dataset generate it once); calls for
/// different files run in parallel.
pub fn ensure_dataset_with(
    spec: &DatasetSpec,
    dir: &Path,
    force: bool,
    progress: &dyn Fn(f64),
) -> Result<(Dataset, Ensured), ExperimentError> {
    std::fs::create_dir_all(dir).map_err(|source| ExperimentError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(format!("{}.npz", spec.name()));
    let turn = file_turn(&path);
    let _guard = turn.lock().unwrap_or_else(|e| e.into_inner());
    // An imported file under the same name is not the generated dataset.
    let why = if force || !path.exists() {
        None
    } else {
        match Dataset::load(&path) {
            Ok(d) if &d.spec == spec && d.metadata.provenance.is_none() => {
                return Ok((d, Ensured::Found))
            }
            Ok(d) if d.metadata.provenance.is_some() => {
                Some("it is an imported file, not the generated dataset".to_owned())
            }
            Ok(_) => Some("its metadata differ from the spec".to_owned()),
            Err(e) => Some(format!("it is unreadable ({e})")),
        }
    };
    let d = generate_with_progress(spec, progress)?;
    d.save(dir)?;
    Ok((d, Ensured::Generated { why }))
}

/// One lock per dataset file, shared by every caller in the process.
fn file_turn(path: &Path) -> std::sync::Arc<std::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    static TURNS: Mutex<Option<HashMap<PathBuf, Arc<Mutex<()>>>>> = Mutex::new(None);
    let mut turns = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(
        turns
            .get_or_insert_with(HashMap::new)
            .entry(path.to_path_buf())
            .or_default(),
    )
}

/// The spec of a dataset reference (a recording's shape, for a recording)
/// and, for a file (the study's or any other), the file's reference and
/// SHA-256. A missing file is an error that says where it was looked for
/// and how to provide it.
pub fn resolve_dataset(
    r: &DatasetRef,
    datasets: &Path,
) -> Result<(DataSpec, Option<DataFile>), ExperimentError> {
    let Some(path) = locate(r, datasets)? else {
        let spec = r.preset_spec().ok_or_else(|| DataError::UnknownPreset {
            name: r.as_string(),
            valid: vec![],
        })?;
        return Ok((spec.into(), None));
    };
    let sha256 = file_sha256(&path)?;
    let spec = match r.preset_spec() {
        Some(spec) => spec.into(),
        None => load_data_file(&path)?.spec(),
    };
    Ok((
        spec,
        Some(DataFile {
            source: r.as_string(),
            sha256,
        }),
    ))
}

/// The file a reference reads (`None` for a generated preset); a missing
/// file is an error that says where it was looked for and how to provide it.
pub fn locate(r: &DatasetRef, datasets: &Path) -> Result<Option<PathBuf>, ExperimentError> {
    let Some(path) = r.file(datasets) else {
        return Ok(None);
    };
    if path.is_dir() {
        return Err(DataError::Corrupt {
            path,
            field: "(path)".into(),
            reason: "is a directory; give a dataset file (.npz or .json of latentdyn's format, \
                     or the study's .h5)"
                .into(),
        }
        .into());
    }
    if !path.is_file() {
        let what = match r {
            DatasetRef::Study(_) => format!(
                "the study's own dataset file for {r}: copy it from the study repository's \
                 datasets/ folder to {}, or point ${STUDY_DATASETS_ENV} at the folder that holds it",
                path.parent().unwrap_or(Path::new(".")).display()
            ),
            _ => "a dataset file".to_string(),
        };
        return Err(DataError::Missing { path, what }.into());
    }
    Ok(Some(path))
}

/// The data a run trains on, loaded: its file when it has one (refused
/// when the file's SHA-256 or spec is not the run's), otherwise its spec's
/// generated dataset in `datasets` (generated there first when missing).
pub fn load_run_dataset(cfg: &RunConfig, datasets: &Path) -> Result<Data, ExperimentError> {
    let Some(file) = &cfg.data_file else {
        let Some(spec) = cfg.dataset.synthetic() else {
            return Err(ExperimentError::Run {
                path: datasets.to_path_buf(),
                reason: format!(
                    "run {} is on recording {} but its config names no data file",
                    cfg.run_name(),
                    cfg.dataset.name()
                ),
            });
        };
        return ensure_dataset(spec, datasets).map(Data::Synthetic);
    };
    let r = DatasetRef::parse(&file.source)?;
    let path = locate(&r, datasets)?.unwrap_or_default();
    // The hash first: a changed file is refused before it is parsed.
    let sha = file_sha256(&path)?;
    if sha != file.sha256 {
        return Err(DataError::MetadataMismatch {
            path,
            field: "sha256".into(),
            expected: format!("{} (the file run was trained on)", file.sha256),
            found: format!("{sha}: another file now stands at {}", r),
        }
        .into());
    }
    let data = load_data_file(&path)?;
    if data.spec() != cfg.dataset {
        return Err(DataError::MetadataMismatch {
            path,
            field: "spec".into(),
            expected: cfg.dataset.name(),
            found: data.name(),
        }
        .into());
    }
    Ok(data)
}

fn bad_run(dir: &Path, reason: String) -> ExperimentError {
    ExperimentError::Run {
        path: dir.to_path_buf(),
        reason,
    }
}

/// Model points farther than 10 % of the true attractor's RMS radius from a
/// true point do not match it.
pub fn match_radius(true_latents: &Array2<f64>) -> f64 {
    let mean = true_latents.mean_axis(Axis(0));
    let n = true_latents.nrows().max(1) as f64;
    let ms = match mean {
        Some(m) => (true_latents - &m).mapv(|v| v * v).sum() / n,
        None => 0.0,
    };
    0.1 * ms.sqrt()
}

/// An f64 copy of a run's best checkpoint, its data (checked against the
/// run: content hash, channels in and out) and the inferred latents of
/// every trial, `[trials·time, L]`: what every analysis starts from.
fn load_and_infer(
    run_dir: &Path,
    datasets: &Path,
) -> Result<(latentdyn_train::LoadedRun, Data, Array2<f64>), ExperimentError> {
    let mut run = load_run(run_dir, files::BEST, Device::Cpu)?;
    run.vs.double();
    let data = load_run_dataset(&run.config, datasets)?;
    latentdyn_train::RunDir::new(run_dir).check_dataset(&data)?;
    if data.held_in().len() as i64 != run.model.channels()
        || data.spikes().dim().2 as i64 != run.model.out_channels()
    {
        return Err(bad_run(
            run_dir,
            format!(
                "the model reads {} and predicts {} channels but {} has {} held-in of {}",
                run.model.channels(),
                run.model.out_channels(),
                data.name(),
                data.held_in().len(),
                data.spikes().dim().2
            ),
        ));
    }
    let all: Vec<usize> = (0..data.spikes().dim().0).collect();
    let latents = infer_latents(run_dir, &run.model, &encoder_input(&data, &all))?;
    Ok((run, data, flatten(&latents)))
}

/// [`analyse_run`], or, when the run's `fixed_points.json` is fresh (newer
/// than its best checkpoint), that record with the latents inferred again:
/// what the figures need, without the searches (tens of seconds).
pub fn analysis_for_figures(
    run_dir: &Path,
    datasets: &Path,
) -> Result<RunAnalysis, ExperimentError> {
    let Some(record) = analysis_is_fresh(run_dir)
        .then(|| load_fixed_points(run_dir))
        .flatten()
    else {
        return analyse_run(run_dir, datasets, 0);
    };
    let (_, data, inferred) = load_and_infer(run_dir, datasets)?;
    let steps = data.spikes().dim().1;
    let to_true = match (&record.to_true_weights, &record.to_true_bias) {
        (Some(w), Some(b)) if !w.is_empty() => {
            let cols = w[0].len();
            let weights = Array2::from_shape_fn((w.len(), cols), |(i, j)| w[i][j]);
            Some(AffineMap {
                weights,
                bias: ndarray::Array1::from(b.clone()),
            })
        }
        _ => None,
    };
    let (true_latents, conditions) = match &data {
        Data::Synthetic(d) => (flatten(&d.latents), None),
        Data::Recording(r) => (Array2::zeros((inferred.nrows(), 0)), r.conditions.clone()),
    };
    Ok(RunAnalysis {
        record,
        inferred,
        true_latents,
        steps,
        to_true,
        conditions,
    })
}

/// Loads a run (an f64 copy of its best checkpoint), infers the latents of
/// every trial of its dataset (looked up, or generated, in `datasets`),
/// finds the model's fixed points and the true system's, and aligns them.
pub fn analyse_run(
    run_dir: &Path,
    datasets: &Path,
    seed: u64,
) -> Result<RunAnalysis, ExperimentError> {
    let (run, data, inferred) = load_and_infer(run_dir, datasets)?;
    let steps = data.spikes().dim().1;
    let cfg = FinderConfig {
        seed,
        ..FinderConfig::default()
    };
    let flow = Flow::of_dynamics(run.model.dynamics.as_ref(), NODE_BIN_DT)?;
    let model = find_fixed_points(&flow, inferred.view(), &cfg)?;
    let Data::Synthetic(data) = data else {
        // A recording: the model's points alone, with rates per second.
        let per_second = data.bin_seconds().map(|dt| {
            let tau = model_time_per_bin(&run.config);
            model
                .points
                .iter()
                .map(|p| per_second(&p.eigenvalues, model.kind, tau, dt))
                .collect()
        });
        let record = RunFixedPoints {
            run: run.config.run_name(),
            dataset: data.name(),
            model,
            truth: None,
            alignment: None,
            to_true_weights: None,
            to_true_bias: None,
            study: None,
            bin_ms: data.bin_seconds().map(|s| s * 1000.0),
            per_second,
        };
        return Ok(RunAnalysis {
            record,
            true_latents: Array2::zeros((inferred.nrows(), 0)),
            inferred,
            steps,
            to_true: None,
            conditions: data.recording().and_then(|r| r.conditions.clone()),
        });
    };
    let true_latents = flatten(&data.latents);
    let system = data.metadata.system;
    let dt = data.metadata.sampling.dt_actual;
    let (truth, alignment, to_true) = match Flow::of_system(system, dt) {
        Ok(tflow) => {
            let tcfg = FinderConfig {
                seed,
                ..FinderConfig::true_system()
            };
            let truth = find_fixed_points(&tflow, true_latents.view(), &tcfg)?;
            let to_true = AffineMap::fit(inferred.view(), true_latents.view())?;
            let align = align_fixed_points(
                &model.points,
                &truth.points,
                &to_true,
                match_radius(&true_latents),
            )?;
            (Some(truth), Some(align), Some(to_true))
        }
        Err(_) => (None, None, None),
    };
    let study = study_search(run_dir, &data, truth.as_ref(), seed)?;
    let record = RunFixedPoints {
        run: run.config.run_name(),
        dataset: data.spec.name(),
        model,
        truth,
        alignment,
        to_true_weights: to_true
            .as_ref()
            .map(|m| m.weights.outer_iter().map(|r| r.to_vec()).collect()),
        to_true_bias: to_true.as_ref().map(|m| m.bias.to_vec()),
        study,
        bin_ms: None,
        per_second: None,
    };
    Ok(RunAnalysis {
        record,
        inferred,
        true_latents,
        steps,
        to_true,
        conditions: None,
    })
}

/// What the encoder reads for `trials`: every unit of synthetic data, a
/// recording's held-in units; f64 counts.
pub fn encoder_input(data: &Data, trials: &[usize]) -> Array3<f64> {
    data.spikes()
        .select(Axis(0), trials)
        .select(Axis(2), &data.held_in())
        .mapv(f64::from)
}

/// The model time one bin lasts: a neural ODE's `1 / (bins − 1)` of its
/// configured bins, one step of a map.
fn model_time_per_bin(cfg: &RunConfig) -> f64 {
    match &cfg.model.dynamics {
        latentdyn_models::DynamicsConfig::Node(n) => 1.0 / (n.bins.max(2) - 1) as f64,
        _ => 1.0,
    }
}

/// Continuous-time eigenvalues in 1/s of a fixed point's one-bin
/// eigenvalues `eigs`, for bins of `bin_seconds`: for a map, the principal
/// logarithm `ln λ / Δt` (real part: growth rate, imaginary part: angular
/// frequency; |λ| is floored at 1e-300); for a vector field linearised as
/// `I + h·J` ([`latentdyn_analysis::FlowKind::Field`]), J's eigenvalue
/// `(λ − 1)/h` per model time unit, times the model time per bin `tau`,
/// over Δt.
pub fn per_second(
    eigs: &[Complex],
    kind: latentdyn_analysis::FlowKind,
    tau: f64,
    bin_seconds: f64,
) -> Vec<Complex> {
    eigs.iter()
        .map(|l| match kind {
            latentdyn_analysis::FlowKind::Map => {
                let modulus = (l.re * l.re + l.im * l.im).sqrt().max(1e-300);
                Complex {
                    re: modulus.ln() / bin_seconds,
                    im: l.im.atan2(l.re) / bin_seconds,
                }
            }
            latentdyn_analysis::FlowKind::Field { dt } => Complex {
                re: (l.re - 1.0) / dt * tau / bin_seconds,
                im: l.im / dt * tau / bin_seconds,
            },
        })
        .collect()
}

/// The inferred latents `[trials, time, L]` of `spikes` (f64, eval mode,
/// 500 trials at a time); an error when any is not finite.
fn infer_latents(
    run_dir: &Path,
    model: &latentdyn_models::SequentialAutoencoder,
    spikes: &Array3<f64>,
) -> Result<Array3<f64>, ExperimentError> {
    let latents = tch::no_grad(|| -> Result<Array3<f64>, ExperimentError> {
        let mut parts = Vec::new();
        for chunk in spikes.axis_chunks_iter(Axis(0), 500) {
            let t = array3_to_tensor(chunk, Device::Cpu)?;
            let out = model.forward_t(&t, false)?;
            parts.push(tensor_to_array3(&out.latents)?);
        }
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        ndarray::concatenate(Axis(0), &views)
            .map_err(|e| bad_run(run_dir, format!("joining the latents: {e}")))
    })?;
    if latents.iter().any(|v| !v.is_finite()) {
        return Err(bad_run(
            run_dir,
            "the model's latents are not finite".into(),
        ));
    }
    Ok(latents)
}

/// The study's figure search ([`FinderProfile::Study`]): its settings, on
/// `last.safetensors`, from the validation trials' latents in eval mode,
/// aligned to the truth through a map fitted on those trials. `None` when
/// the run has no last checkpoint.
fn study_search(
    run_dir: &Path,
    data: &Dataset,
    truth: Option<&FixedPointSearch>,
    seed: u64,
) -> Result<Option<ProfileSearch>, ExperimentError> {
    if !run_dir.join(files::LAST).is_file() {
        return Ok(None);
    }
    let mut run = load_run(run_dir, files::LAST, Device::Cpu)?;
    run.vs.double();
    let valid = data.spikes.select(Axis(0), &data.valid_idx).mapv(f64::from);
    let inferred = flatten(&infer_latents(run_dir, &run.model, &valid)?);
    let true_latents = flatten(&data.latents.select(Axis(0), &data.valid_idx));
    let cfg = FinderConfig {
        seed,
        ..FinderProfile::Study.config()
    };
    let flow = Flow::of_dynamics(run.model.dynamics.as_ref(), NODE_BIN_DT)?;
    let model = find_fixed_points(&flow, inferred.view(), &cfg)?;
    let alignment = match truth {
        Some(truth) => {
            let to_true = AffineMap::fit(inferred.view(), true_latents.view())?;
            Some(align_fixed_points(
                &model.points,
                &truth.points,
                &to_true,
                match_radius(&true_latents),
            )?)
        }
        None => None,
    };
    Ok(Some(ProfileSearch {
        profile: FinderProfile::Study,
        checkpoint: files::LAST.into(),
        trials: format!("the {} validation trials", data.valid_idx.len()),
        model,
        alignment,
    }))
}

/// Writes `<run_dir>/fixed_points.json` atomically.
pub fn save_fixed_points(
    run_dir: &Path,
    record: &RunFixedPoints,
) -> Result<PathBuf, ExperimentError> {
    let out = run_dir.join(FIXED_POINTS);
    latentdyn_train::io::write_json(&out, record)?;
    Ok(out)
}

/// Reads `<run_dir>/fixed_points.json`, if the run has been analysed.
pub fn load_fixed_points(run_dir: &Path) -> Option<RunFixedPoints> {
    latentdyn_train::io::read_json(&run_dir.join(FIXED_POINTS)).ok()
}

/// Whether `fixed_points.json` exists and is at least as new as the best
/// checkpoint it was computed from.
pub fn analysis_is_fresh(run_dir: &Path) -> bool {
    let modified = |name: &str| std::fs::metadata(run_dir.join(name)).and_then(|m| m.modified());
    match (modified(FIXED_POINTS), modified(files::BEST)) {
        (Ok(fp), Ok(best)) => fp >= best && load_fixed_points(run_dir).is_some(),
        _ => false,
    }
}

/// Draws a run's trajectories (with fixed points, truth beside the model),
/// eigenvalues, flow field and learning curves into `out`, SVG and PNG;
/// returns the files.
pub fn run_figures(
    run_dir: &Path,
    a: &RunAnalysis,
    out: &Path,
    trials: usize,
) -> Result<Vec<PathBuf>, ExperimentError> {
    let empty = Vec::new();
    // A fresh f64 copy of the model for the flow (the analysis never mutates the caller's).
    let mut run = load_run(run_dir, files::BEST, Device::Cpu)?;
    run.vs.double();
    let fig = figures::RunFigures {
        title: &a.record.run,
        model: &run.config.preset,
        inferred: a.inferred.view(),
        true_latents: a.true_latents.view(),
        steps: a.steps,
        model_points: &a.record.model.points,
        true_points: a.record.truth.as_ref().map_or(&empty, |t| &t.points),
        to_true: a.to_true.as_ref(),
        trials,
        conditions: a.conditions.as_deref(),
    };
    let mut written = figures::trajectories(&fig, out)?;
    written.extend(figures::eigenvalues(&fig, out)?);
    let flow = Flow::of_dynamics(run.model.dynamics.as_ref(), NODE_BIN_DT)?;
    // Displacement per bin for both kinds: a field's f(x) times its bin's dt.
    let per_bin = match flow.kind() {
        latentdyn_analysis::FlowKind::Field { dt } => dt,
        latentdyn_analysis::FlowKind::Map => 1.0,
    };
    let velocity = |x: &Array2<f64>| -> Result<Array2<f64>, latentdyn_analysis::AnalysisError> {
        tch::no_grad(|| flow.residual_array(x)).map(|v| v * per_bin)
    };
    written.extend(figures::flow_field(&fig, &velocity, out)?);
    let history = latentdyn_train::MetricsCsv::read(&run_dir.join(files::METRICS))?;
    if !history.is_empty() {
        written.extend(figures::learning_curves(
            &a.record.run,
            &run.config.preset,
            &history,
            run.config.train.epochs,
            out,
        )?);
    }
    Ok(written)
}

/// Draws a run's learning curves into its `figures/` when they are missing
/// (runs analysed before the figure existed); a run without finished epochs
/// has none to draw.
pub fn ensure_learning_curves(run_dir: &Path) -> Result<(), ExperimentError> {
    let out = run_dir.join(FIGURES);
    if out.join("learning.png").is_file() {
        return Ok(());
    }
    let run = latentdyn_train::RunDir::new(run_dir);
    let cfg = run.config()?;
    let history = latentdyn_train::MetricsCsv::read(&run.file(files::METRICS))?;
    if !history.is_empty() {
        figures::learning_curves(
            &cfg.run_name(),
            &cfg.preset,
            &history,
            cfg.train.epochs,
            &out,
        )?;
    }
    Ok(())
}

/// Analyses a finished run unless its analysis is fresh: writes
/// `fixed_points.json` and the figures under `figures/`. Returns the record.
pub fn analyse_and_save(
    run_dir: &Path,
    datasets: &Path,
) -> Result<RunFixedPoints, ExperimentError> {
    if analysis_is_fresh(run_dir) {
        if let Some(r) = load_fixed_points(run_dir) {
            return Ok(r);
        }
    }
    let a = analyse_run(run_dir, datasets, 0)?;
    run_figures(run_dir, &a, &run_dir.join(FIGURES), 12)?;
    save_fixed_points(run_dir, &a.record)?;
    Ok(a.record)
}
