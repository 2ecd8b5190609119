//! One training run of a sequential autoencoder, exactly as the study
//! trained them: batches of 650, reshuffled each epoch, Adam with coupled L2
//! weight decay, the growing loss horizon, every validation metric each
//! epoch, best and last checkpoints, and a run that resumes bit-identically.
//!
//! One loop serves every dynamics ([`train`]); the GRU, NODE and discrete
//! cells differ only inside `latentdyn_models::Dynamics`.
//!
//! A run directory holds `config.json` (everything needed to rerun it),
//! `metrics.csv` (one row per epoch), `summary.json` (status and the study's
//! reported numbers), `best.safetensors` (parameters at the lowest
//! validation NLL) and `last.safetensors` (parameters, optimiser state and
//! bookkeeping after the last finished epoch — what a resumed run starts
//! from). Every file is written atomically. [`run_dir`] owns the
//! directory (its file names, its state, its lock), [`checkpoint`] writes
//! and reads the two checkpoints, [`trainer`] is the loop.

pub mod adam;
pub mod checkpoint;
pub mod config;
pub mod eval;
pub mod io;
pub mod record;
pub mod run_dir;
pub mod schedule;
pub mod trainer;

use std::path::PathBuf;

pub use adam::{Adam, AdamConfig};
pub use checkpoint::{load_params, save_params};
pub use config::{DataFile, PresetFile, RunConfig, TrainConfig, PRESETS, STUDY_EPOCHS};
pub use eval::{evaluate, infer, load_run, Evaluation, LoadedRun, Posterior};
pub use record::{EpochRecord, MetricsCsv, Scores, COLUMNS, RECORDING_COLUMNS};
pub use run_dir::{config_differences, files, RunDir, RunLock, RunState};
pub use schedule::Horizon;
pub use trainer::{median, reported, train, Reported, RunOptions, RunStatus, Summary};

/// Everything that can go wrong in a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file exists but cannot be understood.
    #[error("{path}: corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint does not fit the model or optimiser.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What does not fit.
        reason: String,
    },
    /// A configuration value is unknown, out of range or inconsistent.
    #[error("config field `{field}`: {reason}")]
    Config {
        /// The dotted field path.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The model refused its input or config.
    #[error(transparent)]
    Model(#[from] latentdyn_models::ModelError),
    /// The dataset is unusable.
    #[error(transparent)]
    Data(#[from] latentdyn_data::DataError),
    /// A metric could not be computed.
    #[error(transparent)]
    Analysis(#[from] latentdyn_analysis::AnalysisError),
    /// libtorch reported an error.
    #[error("libtorch: {0}")]
    Tch(#[from] tch::TchError),
}
