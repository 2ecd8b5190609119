//! The study's chaotic systems and the synthetic spiking datasets built from them.
//!
//! - [`SystemKind`] / [`System`]: Arneodo, Lorenz, Rossler, MackeyGlass and
//!   MacArthur with dysts' parameters, initial conditions and periods; analytic
//!   vector fields, Jacobians, fixed points and one-bin eigenvalues.
//! - [`DatasetSpec`]: what to generate (the study's six presets or any other).
//! - [`generate`]: the study's pipeline — one long trajectory, a seeded readout
//!   whose columns are sorted by the first row, per-channel standardisation,
//!   `exp`, Poisson spikes, reshape into trials, a seeded 64/16/20 split.
//! - [`Dataset`]: the result, saved as `.npz` + `.json` and loaded with validation.
//! - [`Recording`]: binned counts without truth (an NWB import, [`import_nwb`],
//!   or any `.npz` of counts), with held-out units, behaviour and conditions;
//!   [`Data`] is either, and [`load_data_file`] reads any of their files.
//!
//! Randomness is platform-independent and split into per-purpose streams
//! (see [`random`]): the same spec always gives byte-identical files.
//! This crate does not touch libtorch.

mod data;
mod dataset;
mod eig;
mod error;
mod h5;
mod mackey_glass;
mod nwb;
mod pipeline;
pub mod random;
mod recording;
mod simulate;
mod source;
mod spec;
mod study_file;
mod systems;

pub use data::{load_data_file, Data, DataSpec};
pub use dataset::{
    Dataset, Integrator, Metadata, Provenance, Sampling, Seeds, Summary, FORMAT, FORMAT_VERSION,
};
pub use eig::{eigenvalues3, Complex};
pub use error::DataError;
pub use mackey_glass::{history_value, integrate_scalar, HISTORY_SPREAD};
pub use nwb::{
    import_nwb, nwb_trials_column, BinnedRecording, Heldout, ImportOptions, ImportSummary,
};
pub use pipeline::{
    column_mean_std, generate, generate_many, generate_with_progress, readout_matrix, split_indices,
};
pub use recording::{
    NwbImport, Recording, RecordingMetadata, RecordingShape, RecordingSummary, RECORDING_FORMAT,
    RECORDING_FORMAT_VERSION,
};
pub use simulate::{
    integrate, integrator_options, linspace, simulate, LatentInfo, MackeyGlassInfo, SVec,
    Trajectory, ATOL, RTOL,
};
pub use source::{
    file_sha256, process_alive, study_dir, DatasetRef, STUDY_DATASETS_ENV, STUDY_FILE_PRESETS,
};
pub use spec::DatasetSpec;
pub use study_file::{load_dataset_file, load_study_h5};
pub use systems::{Arneodo, Lorenz, MacArthur, MackeyGlass, Rossler, System, SystemKind};
