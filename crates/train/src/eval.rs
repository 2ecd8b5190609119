//! Evaluating a finished (or running) run: the best checkpoint's metrics on
//! the validation and test splits.

use std::path::Path;

use latentdyn_analysis::Metrics;
use latentdyn_data::Dataset;
use latentdyn_models::SequentialAutoencoder;
use serde::{Deserialize, Serialize};
use tch::{nn::VarStore, Device};

use crate::checkpoint::load_params;
use crate::config::RunConfig;
use crate::run_dir::{files, RunDir};
use crate::trainer::{metrics_on, split};
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
/// [`files::BEST`]) into a fresh model for data with `channels` channels.
pub fn load_run(run_dir: &Path, checkpoint: &str, device: Device) -> Result<LoadedRun, TrainError> {
    let run = RunDir::new(run_dir);
    let config = run.config()?;
    let mut vs = VarStore::new(device);
    let model =
        SequentialAutoencoder::new(&vs.root(), &config.model, config.dataset.obs_dim as i64)?;
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
    /// Validation split.
    pub valid: Metrics,
    /// Test split.
    pub test: Metrics,
}

/// Evaluates `run_dir`'s best checkpoint on `data` (which must be the
/// run's dataset).
pub fn evaluate(run_dir: &Path, data: &Dataset, device: Device) -> Result<Evaluation, TrainError> {
    RunDir::new(run_dir).check_dataset(data)?;
    let run = load_run(run_dir, files::BEST, device)?;
    if data.spec != run.config.dataset {
        return Err(TrainError::Config {
            field: "dataset".into(),
            reason: format!(
                "the run was trained on {}, not {}",
                run.config.dataset.name(),
                data.spec.name()
            ),
        });
    }
    let steps = data.spikes.dim().1;
    let on = |idx: &[usize]| -> Result<Metrics, TrainError> {
        let s = split(data, idx, device, true)?;
        match metrics_on(&run.model, &s, steps, run.config.train.nll_basis)? {
            Some((_, m)) => Ok(m),
            None => Err(TrainError::Checkpoint {
                path: run_dir.join(files::BEST),
                reason: "the model's outputs are not finite".into(),
            }),
        }
    };
    Ok(Evaluation {
        run: run.config.run_name(),
        dataset: data.spec.name(),
        checkpoint: files::BEST.into(),
        valid: on(&data.valid_idx)?,
        test: on(&data.test_idx)?,
    })
}
