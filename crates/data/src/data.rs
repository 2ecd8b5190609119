//! [`Data`]: what a model trains on — a synthetic dataset, with its truth,
//! or a recording, without — behind one set of accessors, and
//! [`load_data_file`], which reads any of their files.

use std::path::Path;

use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::recording::is_recording_metadata;
use crate::{load_dataset_file, DataError, Dataset, DatasetSpec, Recording, RecordingShape};

/// Spike counts to train on, and what else is known about them.
#[derive(Debug, Clone, PartialEq)]
// A recording is about as large as a dataset; neither is boxed.
#[allow(clippy::large_enum_variant)]
pub enum Data {
    /// Simulated from a known system: true latents and rates exist.
    Synthetic(Dataset),
    /// Recorded: no truth, maybe held-out units, behaviour, conditions.
    Recording(Recording),
}

/// What a run records of its data in `config.json`: a synthetic dataset's
/// spec, or a recording's name and sizes. Written as the spec's or the
/// shape's own fields, so runs written before recordings existed read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DataSpec {
    /// A synthetic dataset (generated, or the study's file).
    Synthetic(DatasetSpec),
    /// A recording.
    Recording(RecordingShape),
}

impl DataSpec {
    /// The dataset's or recording's name.
    pub fn name(&self) -> String {
        match self {
            DataSpec::Synthetic(s) => s.name(),
            DataSpec::Recording(r) => r.recording.clone(),
        }
    }

    /// The synthetic spec, if it is one.
    pub fn synthetic(&self) -> Option<&DatasetSpec> {
        match self {
            DataSpec::Synthetic(s) => Some(s),
            DataSpec::Recording(_) => None,
        }
    }

    /// Units (channels) the readout predicts.
    pub fn units(&self) -> usize {
        match self {
            DataSpec::Synthetic(s) => s.obs_dim,
            DataSpec::Recording(r) => r.units,
        }
    }

    /// Units the encoder reads (all but the held-out ones).
    pub fn held_in_units(&self) -> usize {
        match self {
            DataSpec::Synthetic(s) => s.obs_dim,
            DataSpec::Recording(r) => r.units - r.heldout_units,
        }
    }

    /// Checks that a synthetic spec can be generated (a recording's shape
    /// is checked when its file is read).
    pub fn validate(&self) -> Result<(), DataError> {
        match self {
            DataSpec::Synthetic(s) => s.validate(),
            DataSpec::Recording(_) => Ok(()),
        }
    }
}

impl From<DatasetSpec> for DataSpec {
    fn from(s: DatasetSpec) -> Self {
        DataSpec::Synthetic(s)
    }
}

impl From<Dataset> for Data {
    fn from(d: Dataset) -> Self {
        Data::Synthetic(d)
    }
}

impl From<Recording> for Data {
    fn from(r: Recording) -> Self {
        Data::Recording(r)
    }
}

impl Data {
    /// Spike counts, `[trial, bin, unit]`.
    pub fn spikes(&self) -> &Array3<u32> {
        match self {
            Data::Synthetic(d) => &d.spikes,
            Data::Recording(r) => &r.spikes,
        }
    }

    /// Training trials.
    pub fn train_idx(&self) -> &[usize] {
        match self {
            Data::Synthetic(d) => &d.train_idx,
            Data::Recording(r) => &r.train_idx,
        }
    }

    /// Validation trials.
    pub fn valid_idx(&self) -> &[usize] {
        match self {
            Data::Synthetic(d) => &d.valid_idx,
            Data::Recording(r) => &r.valid_idx,
        }
    }

    /// Test trials.
    pub fn test_idx(&self) -> &[usize] {
        match self {
            Data::Synthetic(d) => &d.test_idx,
            Data::Recording(r) => &r.test_idx,
        }
    }

    /// The trials of `split` (`train`, `valid` or `test`).
    pub fn split_idx(&self, split: &str) -> Result<&[usize], DataError> {
        match split {
            "train" => Ok(self.train_idx()),
            "valid" => Ok(self.valid_idx()),
            "test" => Ok(self.test_idx()),
            other => Err(DataError::UnknownSplit { name: other.into() }),
        }
    }

    /// The name.
    pub fn name(&self) -> String {
        match self {
            Data::Synthetic(d) => d.name(),
            Data::Recording(r) => r.name().to_owned(),
        }
    }

    /// The content hash a run records (see [`Dataset::content_sha256`],
    /// [`Recording::content_sha256`]).
    pub fn content_id(&self) -> String {
        match self {
            Data::Synthetic(d) => d.content_id(),
            Data::Recording(r) => r.metadata.content_sha256.clone(),
        }
    }

    /// What a run's config records.
    pub fn spec(&self) -> DataSpec {
        match self {
            Data::Synthetic(d) => DataSpec::Synthetic(d.spec),
            Data::Recording(r) => DataSpec::Recording(r.shape()),
        }
    }

    /// True rates and latents, for synthetic data.
    pub fn truth(&self) -> Option<(&Array3<f64>, &Array3<f64>)> {
        match self {
            Data::Synthetic(d) => Some((&d.rates, &d.latents)),
            Data::Recording(_) => None,
        }
    }

    /// The synthetic dataset, if it is one.
    pub fn synthetic(&self) -> Option<&Dataset> {
        match self {
            Data::Synthetic(d) => Some(d),
            Data::Recording(_) => None,
        }
    }

    /// The recording, if it is one.
    pub fn recording(&self) -> Option<&Recording> {
        match self {
            Data::Synthetic(_) => None,
            Data::Recording(r) => Some(r),
        }
    }

    /// The units the encoder reads: all, or a recording's held-in ones.
    pub fn held_in(&self) -> Vec<usize> {
        match self {
            Data::Synthetic(d) => (0..d.spikes.dim().2).collect(),
            Data::Recording(r) => r.held_in(),
        }
    }

    /// A recording's held-out units (none for synthetic data).
    pub fn held_out(&self) -> Vec<usize> {
        match self {
            Data::Synthetic(_) => Vec::new(),
            Data::Recording(r) => r.held_out(),
        }
    }

    /// The time between bins in seconds, when known (a recording's bin
    /// width; synthetic data have system time units instead).
    pub fn bin_seconds(&self) -> Option<f64> {
        match self {
            Data::Synthetic(_) => None,
            Data::Recording(r) => r.metadata.bin_ms.map(|w| w / 1000.0),
        }
    }
}

/// Reads any data file: the study's `.h5`, latentdyn's dataset (`.npz` +
/// `.json`), a recording (`.npz` + `.json` of format
/// [`crate::RECORDING_FORMAT`]), or an `.npz` alone (read as a recording).
pub fn load_data_file(path: &Path) -> Result<Data, DataError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase);
    if matches!(ext.as_deref(), Some("h5" | "hdf5")) || path.is_dir() {
        return load_dataset_file(path).map(Data::Synthetic);
    }
    let json = path.with_extension("json");
    let npz = path.with_extension("npz");
    if is_recording_metadata(&json) || (!json.exists() && npz.is_file()) {
        return Recording::load(path).map(Data::Recording);
    }
    load_dataset_file(path).map(Data::Synthetic)
}
