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
    FixedPointSearch, Flow, NODE_BIN_DT,
};
use latentdyn_data::{generate, Dataset, DatasetSpec};
use latentdyn_models::{array3_to_tensor, tensor_to_array3};
use latentdyn_train::{files, load_run};
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
}

/// `[trials, time, dim]` → `[trials·time, dim]`, trial-major.
pub fn flatten(a: &Array3<f64>) -> Array2<f64> {
    let (s, t, l) = a.dim();
    Array2::from_shape_fn((s * t, l), |(i, j)| a[[i / t, i % t, j]])
}

/// `<dir>/<spec name>.npz`, generated (and saved) unless a file with the
/// same spec is already there.
pub fn ensure_dataset(spec: &DatasetSpec, dir: &Path) -> Result<PathBuf, ExperimentError> {
    // Runs analysed in parallel share datasets: one checks (and generates)
    // at a time, so a missing dataset is generated once.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(dir).map_err(|source| ExperimentError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(format!("{}.npz", spec.name()));
    let ok = Dataset::load(&path)
        .map(|d| &d.spec == spec)
        .unwrap_or(false);
    if !ok {
        generate(spec)?.save(dir)?;
    }
    Ok(path)
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

/// Loads a run (an f64 copy of its best checkpoint), infers the latents of
/// every trial of its dataset (looked up, or generated, in `datasets`),
/// finds the model's fixed points and the true system's, and aligns them.
pub fn analyse_run(
    run_dir: &Path,
    datasets: &Path,
    seed: u64,
) -> Result<RunAnalysis, ExperimentError> {
    let mut run = load_run(run_dir, files::BEST, Device::Cpu)?;
    run.vs.double();
    let path = ensure_dataset(&run.config.dataset, datasets)?;
    let data = Dataset::load(&path)?;
    if data.spikes.dim().2 as i64 != run.model.channels() {
        return Err(bad_run(
            run_dir,
            format!(
                "the model reads {} channels but dataset {} has {}",
                run.model.channels(),
                data.spec.name(),
                data.spikes.dim().2
            ),
        ));
    }
    let steps = data.spikes.dim().1;
    let spikes = data.spikes.mapv(f64::from);
    let latents = tch::no_grad(|| -> Result<Array3<f64>, ExperimentError> {
        let mut parts = Vec::new();
        for chunk in spikes.axis_chunks_iter(Axis(0), 500) {
            let t = array3_to_tensor(chunk, Device::Cpu)?;
            let out = run.model.forward_t(&t, false)?;
            parts.push(tensor_to_array3(&out.latents)?);
        }
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        ndarray::concatenate(Axis(0), &views)
            .map_err(|e| bad_run(run_dir, format!("joining the latents: {e}")))
    })?;
    let inferred = flatten(&latents);
    if inferred.iter().any(|v| !v.is_finite()) {
        return Err(bad_run(
            run_dir,
            "the model's latents are not finite".into(),
        ));
    }
    let true_latents = flatten(&data.latents);
    let cfg = FinderConfig {
        seed,
        ..FinderConfig::default()
    };
    let flow = Flow::of_dynamics(run.model.dynamics.as_ref(), NODE_BIN_DT)?;
    let model = find_fixed_points(&flow, inferred.view(), &cfg)?;
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
    };
    Ok(RunAnalysis {
        record,
        inferred,
        true_latents,
        steps,
        to_true,
    })
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
/// eigenvalues and flow field into `out`, SVG and PNG; returns the files.
pub fn run_figures(
    run_dir: &Path,
    a: &RunAnalysis,
    out: &Path,
    trials: usize,
) -> Result<Vec<PathBuf>, ExperimentError> {
    let empty = Vec::new();
    let fig = figures::RunFigures {
        title: &a.record.run,
        inferred: a.inferred.view(),
        true_latents: a.true_latents.view(),
        steps: a.steps,
        model_points: &a.record.model.points,
        true_points: a.record.truth.as_ref().map_or(&empty, |t| &t.points),
        to_true: a.to_true.as_ref(),
        trials,
    };
    let mut written = figures::trajectories(&fig, out)?;
    written.extend(figures::eigenvalues(&fig, out)?);
    // A fresh f64 copy of the model for the flow (the analysis never mutates the caller's).
    let mut run = load_run(run_dir, files::BEST, Device::Cpu)?;
    run.vs.double();
    let flow = Flow::of_dynamics(run.model.dynamics.as_ref(), NODE_BIN_DT)?;
    let velocity = |x: &Array2<f64>| -> Result<Array2<f64>, latentdyn_analysis::AnalysisError> {
        tch::no_grad(|| flow.residual_array(x))
    };
    written.extend(figures::flow_field(&fig, &velocity, out)?);
    Ok(written)
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
