//! A run's checkpoints, saved and restored: `best.safetensors` holds the
//! model's parameters at the lowest validation NLL ([`save_params`],
//! [`load_params`]); `last.safetensors` holds the parameters, the
//! optimiser's state and the loop's progress (the next epoch, the best
//! epoch and its NLL, the wall time) after the last finished epoch, what a
//! resumed run starts from (`save_last`, `load_last`, for the trainer).
//!
//! Every checkpoint is written and read through [`RunDir`]: atomically,
//! with its SHA-256 recorded and checked, under the file names of
//! [`files`].

use std::collections::HashMap;
use std::path::Path;

use tch::{nn::VarStore, Tensor};

use crate::adam::Adam;
use crate::run_dir::{files, RunDir};
use crate::TrainError;

/// Where the training loop stands, stored in `last.safetensors` beside the
/// model and the optimiser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Progress {
    /// The epoch a resumed run starts with (epochs finished so far).
    pub(crate) next_epoch: usize,
    /// The epoch of `best.safetensors`, when one was written.
    pub(crate) best_epoch: Option<usize>,
    /// Its validation NLL (infinite before the first epoch).
    pub(crate) best_valid_nll: f64,
    /// Training wall time over all sessions of the run, seconds.
    pub(crate) wall_seconds: f64,
}

impl Progress {
    /// A run that has not finished an epoch.
    pub(crate) fn start() -> Self {
        Self {
            next_epoch: 0,
            best_epoch: None,
            best_valid_nll: f64::INFINITY,
            wall_seconds: 0.0,
        }
    }
}

/// The names of [`Progress`]'s fields in `last.safetensors`, each a
/// one-element f64 tensor.
const PROGRESS_KEYS: [&str; 4] = [
    "__progress.next_epoch",
    "__progress.best_epoch",
    "__progress.best_valid_nll",
    "__progress.wall_seconds",
];

/// Model parameters only, under their VarStore names, as the checkpoint
/// `name` of `run` (atomic, its hash recorded).
pub fn save_params(run: &RunDir, name: &str, vs: &VarStore) -> Result<(), TrainError> {
    let named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    run.save_tensors(name, &named)
}

/// Loads the checkpoint `name` of `run` (saved by [`save_params`], or the
/// model part of `last.safetensors`) into `vs`, checking its hash and
/// every name and shape.
pub fn load_params(run: &RunDir, name: &str, vs: &mut VarStore) -> Result<(), TrainError> {
    let tensors = run.read_tensors(name)?;
    copy_params(&run.file(name), &tensors, vs)
}

/// Writes `last.safetensors`: the model, the optimiser's state and
/// `progress`, in one atomic file.
pub(crate) fn save_last(
    run: &RunDir,
    vs: &VarStore,
    adam: &Adam,
    progress: &Progress,
) -> Result<(), TrainError> {
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    named.extend(adam.state_tensors());
    let values = [
        progress.next_epoch as f64,
        progress.best_epoch.map_or(-1.0, |e| e as f64),
        progress.best_valid_nll,
        progress.wall_seconds,
    ];
    for (key, value) in PROGRESS_KEYS.iter().zip(values) {
        named.push(((*key).to_owned(), Tensor::from_slice(&[value])));
    }
    run.save_tensors(files::LAST, &named)
}

/// Restores the model and the optimiser from `last.safetensors` and
/// returns the progress stored with them.
pub(crate) fn load_last(
    run: &RunDir,
    vs: &mut VarStore,
    adam: &mut Adam,
) -> Result<Progress, TrainError> {
    let path = &run.file(files::LAST);
    let bad = |reason: String| TrainError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let tensors = run.read_tensors(files::LAST)?;
    copy_params(path, &tensors, vs)?;
    adam.load_state(path, &tensors)?;
    let mut values = [0.0; 4];
    for (key, v) in PROGRESS_KEYS.iter().zip(values.iter_mut()) {
        *v = tensors
            .get(*key)
            .ok_or_else(|| bad(format!("no `{key}`")))?
            .f_double_value(&[0])
            .map_err(|e| bad(e.to_string()))?;
    }
    Ok(Progress {
        next_epoch: values[0] as usize,
        best_epoch: (values[1] >= 0.0).then_some(values[1] as usize),
        best_valid_nll: values[2],
        wall_seconds: values[3],
    })
}

/// Copies every variable of `vs` from `tensors` (read from `path`),
/// refusing a missing name or a shape that differs.
fn copy_params(
    path: &Path,
    tensors: &HashMap<String, Tensor>,
    vs: &mut VarStore,
) -> Result<(), TrainError> {
    let bad = |reason: String| TrainError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let vars = vs.variables();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in names {
        let var = &vars[name];
        let src = tensors.get(name).ok_or_else(|| {
            bad(format!(
                "no parameter `{name}`: a checkpoint of another model?"
            ))
        })?;
        if src.size() != var.size() {
            return Err(bad(format!(
                "parameter `{name}` has shape {:?} in the file, {:?} in the model",
                src.size(),
                var.size()
            )));
        }
        tch::no_grad(|| {
            let mut var = var.shallow_clone();
            var.f_copy_(src)
        })
        .map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adam::AdamConfig;

    fn store(name: &str, value: f64) -> VarStore {
        let vs = VarStore::new(tch::Device::Cpu);
        let _ = vs.root().var(name, &[2, 3], tch::nn::Init::Const(value));
        vs
    }

    fn values(vs: &VarStore, name: &str) -> Vec<f32> {
        Vec::<f32>::try_from(vs.variables()[name].flatten(0, -1)).unwrap()
    }

    #[test]
    fn the_last_checkpoint_restores_model_optimiser_and_progress() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path());
        let vs = store("w", 0.5);
        let mut adam = Adam::new(&vs, AdamConfig::new(1e-2, 0.0));
        let loss = vs.variables()["w"].square().sum(tch::Kind::Float);
        adam.zero_grad();
        loss.backward();
        adam.step();
        let later = Progress {
            next_epoch: 7,
            best_epoch: Some(4),
            best_valid_nll: 1.25,
            wall_seconds: 3.5,
        };
        for progress in [Progress::start(), later] {
            save_last(&run, &vs, &adam, &progress).unwrap();
            let mut restored = store("w", 0.0);
            let mut restored_adam = Adam::new(&restored, AdamConfig::new(1e-2, 0.0));
            let got = load_last(&run, &mut restored, &mut restored_adam).unwrap();
            assert_eq!(got, progress);
            assert_eq!(values(&restored, "w"), values(&vs, "w"));
            assert_eq!(restored_adam.steps(), 1);
            let state = |a: &Adam| -> Vec<Vec<f32>> {
                a.state_tensors()
                    .iter()
                    .map(|(_, t)| {
                        Vec::<f32>::try_from(t.to_kind(tch::Kind::Float).flatten(0, -1)).unwrap()
                    })
                    .collect()
            };
            assert_eq!(state(&restored_adam), state(&adam));
        }
    }

    #[test]
    fn a_checkpoint_of_another_model_is_refused_by_name_and_shape() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path());
        save_params(&run, files::BEST, &store("w", 1.0)).unwrap();
        let mut loaded = store("w", 0.0);
        load_params(&run, files::BEST, &mut loaded).unwrap();
        assert_eq!(values(&loaded, "w"), vec![1.0; 6]);
        let e = load_params(&run, files::BEST, &mut store("v", 0.0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no parameter `v`"), "{e}");
        let wide = VarStore::new(tch::Device::Cpu);
        let _ = wide.root().var("w", &[3, 3], tch::nn::Init::Const(0.0));
        let e = load_params(&run, files::BEST, &mut { wide })
            .unwrap_err()
            .to_string();
        assert!(e.contains("has shape [2, 3] in the file, [3, 3]"), "{e}");
    }
}
