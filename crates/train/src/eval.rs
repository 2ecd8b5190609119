//! Evaluating a finished (or running) run: the best checkpoint's metrics on
//! the validation and test splits, and its posterior (initial conditions,
//! latents, rates) on any split.

use std::path::Path;

use latentdyn_data::Data;
use latentdyn_models::{tensor_to_array3, SequentialAutoencoder};
use ndarray::{Array2, Array3};
use serde::{Deserialize, Serialize};
use tch::{nn::VarStore, Device};

use crate::checkpoint::load_params;
use crate::config::RunConfig;
use crate::record::Scores;
use crate::run_dir::{files, RunDir};
use crate::trainer::{metrics_on, split, RecordingScoring};
use crate::TrainError;

/// A run's model loaded from one of its checkpoints.
#[derive(Debug)]
pub struct LoadedRun {
    /// The run's configuration.
    pub config: RunConfig,
    /// The model's variables (on `device`).
    pub vs: VarStore,
    /// The model.
    pub model: SequentialAutoencoder,
}

/// Loads `config.json` and `checkpoint` (a file name inside `run_dir`, e.g.
/// [`files::BEST`]) into a fresh model for the run's data (its held-in
/// units in, all units out).
pub fn load_run(run_dir: &Path, checkpoint: &str, device: Device) -> Result<LoadedRun, TrainError> {
    let run = RunDir::new(run_dir);
    let config = run.config()?;
    let mut vs = VarStore::new(device);
    let model = SequentialAutoencoder::with_io(
        &vs.root(),
        &config.model,
        config.dataset.held_in_units() as i64,
        config.dataset.units() as i64,
    )?;
    load_params(&run, checkpoint, &mut vs)?;
    Ok(LoadedRun { config, vs, model })
}

/// Metrics of the best checkpoint on the validation and test splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The run's name (`<preset>-L<latent>-s<seed>`).
    pub run: String,
    /// The dataset's name.
    pub dataset: String,
    /// The checkpoint evaluated.
    pub checkpoint: String,
    /// The epoch it was saved at (0-based, as `metrics.csv` counts; `None`
    /// when the run's summary or progress does not say).
    #[serde(default)]
    pub checkpoint_epoch: Option<usize>,
    /// Validation split.
    pub valid: Scores,
    /// Test split.
    pub test: Scores,
}

/// Evaluates `run_dir`'s best checkpoint on `data` (which must be the
/// run's data).
pub fn evaluate(run_dir: &Path, data: &Data, device: Device) -> Result<Evaluation, TrainError> {
    let run = load_checked(run_dir, data, device)?;
    let steps = data.spikes().dim().1;
    let scoring = RecordingScoring::of(data, device, None)?;
    let on = |idx: &[usize]| -> Result<Scores, TrainError> {
        let s = split(data, idx, device, true)?;
        match metrics_on(
            &run.model,
            &s,
            steps,
            run.config.train.nll_basis,
            scoring.as_ref(),
        )? {
            Some((_, m)) => Ok(m),
            None => Err(TrainError::Checkpoint {
                path: run_dir.join(files::BEST),
                reason: "the model's outputs are not finite".into(),
            }),
        }
    };
    let best_epoch = RunDir::new(run_dir)
        .summary()
        .and_then(|s| s.best_epoch)
        .or_else(|| {
            // An unfinished run: the lowest validation NLL so far is the best.
            crate::record::MetricsCsv::read(&run_dir.join(files::METRICS))
                .ok()?
                .iter()
                .min_by(|a, b| a.metrics.nll().total_cmp(&b.metrics.nll()))
                .map(|r| r.epoch)
        });
    Ok(Evaluation {
        run: run.config.run_name(),
        dataset: data.name(),
        checkpoint: files::BEST.into(),
        checkpoint_epoch: best_epoch,
        valid: on(data.valid_idx())?,
        test: on(data.test_idx())?,
    })
}

/// The best checkpoint of `run_dir`, after checking that `data` are the
/// run's (content hash and spec).
fn load_checked(run_dir: &Path, data: &Data, device: Device) -> Result<LoadedRun, TrainError> {
    RunDir::new(run_dir).check_dataset(data)?;
    let run = load_run(run_dir, files::BEST, device)?;
    if data.spec() != run.config.dataset {
        return Err(TrainError::Config {
            field: "dataset".into(),
            reason: format!(
                "the run was trained on {}, not {}",
                run.config.dataset.name(),
                data.name()
            ),
        });
    }
    Ok(run)
}

/// What the model infers for the trials of one split (eval mode, best
/// checkpoint).
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// The trials, indices into the data.
    pub trials: Vec<usize>,
    /// Initial conditions, `[trial, L]`.
    pub z0: Array2<f64>,
    /// Latent trajectories, `[trial, bin, L]`.
    pub latents: Array3<f64>,
    /// Rates in expected counts per bin, every unit, `[trial, bin, unit]`.
    pub rates: Array3<f64>,
}

impl Posterior {
    /// Writes `trials`, `z0`, `latents` and `rates` (and, from `data`, the
    /// trials' `spikes` and, for a recording, their `conditions`) to an
    /// uncompressed `.npz` at `path`, atomically; `numpy.load` reads it.
    pub fn save_npz(&self, data: &Data, path: &Path) -> Result<(), TrainError> {
        use ndarray_npy::NpzWriter;
        crate::io::atomic_write_with(path, |tmp| {
            let err = |e: ndarray_npy::WriteNpzError| std::io::Error::other(e.to_string());
            let file = std::fs::File::create(tmp)?;
            let mut npz = NpzWriter::new(std::io::BufWriter::new(file));
            let trials = ndarray::Array1::from_iter(self.trials.iter().map(|&i| i as i64));
            npz.add_array("trials", &trials).map_err(err)?;
            npz.add_array("z0", &self.z0).map_err(err)?;
            npz.add_array("latents", &self.latents).map_err(err)?;
            npz.add_array("rates", &self.rates).map_err(err)?;
            let spikes = data.spikes().select(ndarray::Axis(0), &self.trials);
            npz.add_array("spikes", &spikes).map_err(err)?;
            if let Some(c) = data.recording().and_then(|r| r.conditions.as_ref()) {
                let picked = ndarray::Array1::from_iter(self.trials.iter().map(|&i| c[i]));
                npz.add_array("conditions", &picked).map_err(err)?;
            }
            let w = npz.finish().map_err(err)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()
        })
    }
}

/// The posterior of `run_dir`'s best checkpoint on the trials of `split`
/// (`train`, `valid` or `test`) of `data` (which must be the run's data).
pub fn infer(
    run_dir: &Path,
    data: &Data,
    split_name: &str,
    device: Device,
) -> Result<Posterior, TrainError> {
    let run = load_checked(run_dir, data, device)?;
    let trials = data
        .split_idx(split_name)
        .map_err(|e| TrainError::Config {
            field: "split".into(),
            reason: e.to_string(),
        })?
        .to_vec();
    let s = split(data, &trials, device, false)?;
    let out = tch::no_grad(|| run.model.forward_t(&s.input, false))?;
    let z0 = tensor_to_array3(&out.z0.unsqueeze(1))?;
    let z0 = z0.index_axis_move(ndarray::Axis(1), 0);
    let latents = tensor_to_array3(&out.latents)?;
    let rates = tensor_to_array3(&out.log_rates)?.mapv(f64::exp);
    Ok(Posterior {
        trials,
        z0,
        latents,
        rates,
    })
}
