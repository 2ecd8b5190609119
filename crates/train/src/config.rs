//! The run configuration — dataset, model, optimiser, schedule, seed — and
//! the study's presets (`shared/docs/study.md`, the hyperparameter table).
//!
//! A run directory's `config.json` is this struct; it is everything needed
//! to rerun the run. The presets are the files `configs/presets/*.toml`,
//! embedded in the crate when it is built ([`PresetFile::embedded`]); they
//! are their only source.

use latentdyn_data::DataSpec;
use latentdyn_models::ModelConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use latentdyn_analysis::NllBasis;

use crate::adam::AdamConfig;
use crate::schedule::Horizon;
use crate::TrainError;

/// The study's number of epochs, the scale of every schedule.
pub const STUDY_EPOCHS: usize = 3000;

/// The model presets of the study's table, by name.
pub const PRESETS: [&str; 8] = latentdyn_models::config::PRESET_NAMES;

/// `configs/presets/<name>.toml` for each of [`PRESETS`], embedded.
const PRESET_FILES: [(&str, &str); 8] = [
    ("gru", include_str!("../../../configs/presets/gru.toml")),
    ("node", include_str!("../../../configs/presets/node.toml")),
    (
        "node-discrete",
        include_str!("../../../configs/presets/node-discrete.toml"),
    ),
    (
        "ablation0",
        include_str!("../../../configs/presets/ablation0.toml"),
    ),
    (
        "ablation1",
        include_str!("../../../configs/presets/ablation1.toml"),
    ),
    (
        "ablation2",
        include_str!("../../../configs/presets/ablation2.toml"),
    ),
    (
        "ablation3",
        include_str!("../../../configs/presets/ablation3.toml"),
    ),
    (
        "ablation4",
        include_str!("../../../configs/presets/ablation4.toml"),
    ),
];

/// How to train: epochs, batches, optimiser, loss horizon, reporting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Number of epochs (study: 3000).
    pub epochs: usize,
    /// Trials per batch (study: 650, two batches per epoch on 1280 trials).
    /// A batch at least as large as the training split is one optimiser
    /// step per epoch on all of it (the published Lorenz runs: 1280).
    pub batch_size: usize,
    /// Adam with coupled L2 weight decay.
    pub optimizer: AdamConfig,
    /// The growing loss horizon.
    pub horizon: Horizon,
    /// Reported numbers are medians over this many last epochs (study: 500
    /// for the main grid, 100 for the ablation configs).
    pub report_last: usize,
    /// Which NLL the validation metrics report (the loss trained on is the
    /// full one either way): `full` (study) or `without-stirling` (the
    /// published Lorenz runs).
    #[serde(default)]
    pub nll_basis: NllBasis,
}

/// A dataset file a run is tied to: how it was named and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    /// The reference as given (`study:lorenz`, a path): resolved again on
    /// every load, so a run survives a moved checkout.
    pub source: String,
    /// SHA-256 of the file's bytes; a file that no longer has it is refused.
    pub sha256: String,
}

/// A preset as stored in `configs/presets/<name>.toml`: the model and the
/// training schedule at the table's default latent size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetFile {
    /// The preset's name.
    pub preset: String,
    /// The model.
    pub model: ModelConfig,
    /// The training schedule.
    pub train: TrainConfig,
}

impl PresetFile {
    /// The preset `name` (one of [`PRESETS`]) as its file
    /// `configs/presets/<name>.toml` says, embedded when the crate was built.
    pub fn embedded(name: &str) -> Result<Self, TrainError> {
        let Some((_, text)) = PRESET_FILES.iter().find(|(known, _)| *known == name) else {
            return Err(TrainError::Config {
                field: "preset".into(),
                reason: format!("unknown preset `{name}`; known: {}", PRESETS.join(", ")),
            });
        };
        toml::from_str(text).map_err(|e| TrainError::Config {
            field: "preset".into(),
            reason: format!("configs/presets/{name}.toml: {e}"),
        })
    }
}

impl From<&RunConfig> for PresetFile {
    fn from(c: &RunConfig) -> Self {
        Self {
            preset: c.preset.clone(),
            model: c.model.clone(),
            train: c.train.clone(),
        }
    }
}

/// One training run: what data, which model, how to train it, and the seed
/// that fixes initialisation, dropout and batch order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The preset this run started from (for people and tables; the fields
    /// below are what counts).
    pub preset: String,
    /// The data: a synthetic dataset's spec, regenerated from it when
    /// missing (and when `data_file` is set, the spec of that file's data:
    /// its system is the truth the analysis compares with), or a
    /// recording's name and sizes (its `data_file` is then the data).
    pub dataset: DataSpec,
    /// The file the run trains on instead of a generated dataset, with the
    /// SHA-256 of its bytes; absent for generated datasets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_file: Option<DataFile>,
    /// The model.
    pub model: ModelConfig,
    /// The training schedule.
    pub train: TrainConfig,
    /// Seed of initialisation, dropout and batch order.
    pub seed: u64,
}

impl RunConfig {
    /// The study's config `preset` (one of [`PRESETS`], read from its
    /// embedded file) with latent size `latent` (the file's, the table's
    /// default, when `None`) on `dataset`.
    pub fn preset(
        preset: &str,
        latent: Option<usize>,
        dataset: impl Into<DataSpec>,
        seed: u64,
    ) -> Result<Self, TrainError> {
        let dataset = dataset.into();
        let PresetFile {
            preset,
            mut model,
            train,
        } = PresetFile::embedded(preset)?;
        if let Some(latent) = latent {
            model.latent_size = latent;
        }
        let mut cfg = Self {
            preset,
            dataset,
            data_file: None,
            model,
            train,
            seed,
        };
        cfg.fit_to_recording();
        Ok(cfg)
    }

    /// On a recording, what the study's settings mean for its size: a
    /// neural ODE's time grid gets the recording's bins (one bin lasts
    /// `1 / (bins − 1)` of model time, as the study's 70 bins do), and a
    /// batch is at most half the training trials (two optimiser steps an
    /// epoch, as the study's 650 of 1280). Synthetic data are left as
    /// the preset says.
    fn fit_to_recording(&mut self) {
        let DataSpec::Recording(r) = &self.dataset else {
            return;
        };
        if let latentdyn_models::DynamicsConfig::Node(n) = &mut self.model.dynamics {
            n.bins = r.bins.max(2);
        }
        self.train.batch_size = self.train.batch_size.min(r.train_trials.div_ceil(2).max(1));
    }

    /// Shortens (or lengthens) the run to `epochs`, scaling the loss-horizon
    /// schedule and the reporting window (e.g. the last 500 of 3000 epochs) by the
    /// same factor so the run keeps the study's shape.
    pub fn with_epochs(mut self, epochs: usize) -> Self {
        let factor = epochs as f64 / self.train.epochs.max(1) as f64;
        self.train.horizon = self.train.horizon.scaled(epochs, self.train.epochs);
        self.train.report_last = ((self.train.report_last as f64 * factor).round() as usize).max(1);
        self.train.epochs = epochs;
        self
    }

    /// Sets one field by its dotted path (`train.optimizer.lr=0.01`,
    /// `model.dynamics.solver.method="rk4"`). The value is read as JSON, and
    /// as a string when it is not valid JSON. Unknown paths and values of the
    /// wrong type are errors that name the field.
    pub fn set(&mut self, assignment: &str) -> Result<(), TrainError> {
        let (path, raw) = assignment
            .split_once('=')
            .ok_or_else(|| TrainError::Config {
                field: assignment.to_owned(),
                reason: "expected key=value".into(),
            })?;
        let path = path.trim();
        let value: Value =
            serde_json::from_str(raw.trim()).unwrap_or_else(|_| Value::String(raw.trim().into()));
        let mut tree = serde_json::to_value(&*self).map_err(|e| TrainError::Config {
            field: path.into(),
            reason: e.to_string(),
        })?;
        let mut node = &mut tree;
        for key in path.split('.') {
            node = match node {
                Value::Object(map) => map.get_mut(key),
                Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
                _ => None,
            }
            .ok_or_else(|| TrainError::Config {
                field: path.into(),
                reason: format!("no field `{key}` here"),
            })?;
        }
        *node = value;
        let updated: RunConfig = serde_json::from_value(tree).map_err(|e| TrainError::Config {
            field: path.into(),
            reason: e.to_string(),
        })?;
        updated.validate()?;
        *self = updated;
        Ok(())
    }

    /// Checks ranges and consistency.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |field: &str, reason: String| {
            Err(TrainError::Config {
                field: field.into(),
                reason,
            })
        };
        self.model.validate()?;
        self.dataset.validate()?;
        let t = &self.train;
        if t.epochs == 0 {
            return bad("train.epochs", "must be at least 1".into());
        }
        if t.batch_size == 0 {
            return bad("train.batch_size", "must be at least 1".into());
        }
        let o = &t.optimizer;
        if !(o.lr.is_finite() && o.lr > 0.0) {
            return bad(
                "train.optimizer.lr",
                format!("{} is not a positive number", o.lr),
            );
        }
        if !(o.weight_decay.is_finite() && o.weight_decay >= 0.0) {
            return bad(
                "train.optimizer.weight_decay",
                format!("{} < 0", o.weight_decay),
            );
        }
        let (b1, b2) = o.betas;
        if !((0.0..1.0).contains(&b1) && (0.0..1.0).contains(&b2)) {
            return bad(
                "train.optimizer.betas",
                format!("({b1}, {b2}) not in [0, 1)"),
            );
        }
        if t.horizon.points_per_group == 0 || t.horizon.epochs_per_group == 0 {
            return bad(
                "train.horizon",
                "points and epochs per group must be at least 1".into(),
            );
        }
        if t.report_last == 0 {
            return bad("train.report_last", "must be at least 1".into());
        }
        Ok(())
    }

    /// The run's directory name: `<preset>-L<latent>-s<seed>`.
    pub fn run_name(&self) -> String {
        format!("{}-L{}-s{}", self.preset, self.model.latent_size, self.seed)
    }
}
