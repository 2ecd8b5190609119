//! A run directory and everything about it that other code must not guess:
//! its file names, where the run stands ([`RunState`]), whether it is the
//! run a configuration asks for ([`RunDir::differences`]), starting over
//! ([`RunDir::clear`]), who trains in it ([`RunLock`]), and its checkpoints
//! with the SHA-256 of each ([`RunDir::save_tensors`],
//! [`RunDir::read_tensors`]).
//!
//! Checkpoint hashes live in `checkpoints.json`, written before the
//! checkpoint itself is renamed into place; it keeps the hash of the file
//! being replaced too, so a kill between the two writes leaves a file whose
//! hash is still on record. A checkpoint whose bytes match neither hash has
//! changed since it was written (a flipped bit, a truncated copy) and is
//! refused. Runs written before hashes existed have no `checkpoints.json`
//! and are read as they are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::RunConfig;
use crate::io::{atomic_write_with, read_json, write_json};
use crate::record::MetricsCsv;
use crate::trainer::{RunStatus, Summary};
use crate::TrainError;

/// Files of a run directory.
pub mod files {
    /// The run's configuration.
    pub const CONFIG: &str = "config.json";
    /// One row per epoch.
    pub const METRICS: &str = "metrics.csv";
    /// The reported numbers and the status.
    pub const SUMMARY: &str = "summary.json";
    /// Model parameters at the best validation NLL.
    pub const BEST: &str = "best.safetensors";
    /// Model, optimiser and bookkeeping after the last finished epoch.
    pub const LAST: &str = "last.safetensors";
}

/// A run directory (it need not exist yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

/// Where a run stands, read from its directory.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// No `config.json`: nothing has been trained here.
    NotStarted,
    /// Started and not finished: killed, interrupted or still training;
    /// `epochs_done` epochs are in `metrics.csv` (a rerun resumes).
    Unfinished {
        /// Epochs finished.
        epochs_done: usize,
        /// Epochs configured.
        epochs: usize,
    },
    /// Every epoch finished.
    Completed(Summary),
    /// Stopped on a non-finite loss; final, not retried.
    Diverged(Summary),
}

impl RunState {
    /// Completed or diverged: nothing left to train.
    pub fn is_final(&self) -> bool {
        matches!(self, RunState::Completed(_) | RunState::Diverged(_))
    }

    /// `not started`, `unfinished`, `completed` or `diverged`.
    pub fn word(&self) -> &'static str {
        match self {
            RunState::NotStarted => "not started",
            RunState::Unfinished { .. } => "unfinished",
            RunState::Completed(_) => "completed",
            RunState::Diverged(_) => "diverged",
        }
    }

    /// Epochs finished.
    pub fn epochs_done(&self) -> usize {
        match self {
            RunState::NotStarted => 0,
            RunState::Unfinished { epochs_done, .. } => *epochs_done,
            RunState::Completed(s) | RunState::Diverged(s) => s.epochs_done,
        }
    }
}

/// `checkpoints.json`: for each checkpoint file, the SHA-256 of its current
/// bytes first, then of the bytes it replaced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct CheckpointHashes {
    files: BTreeMap<String, Vec<String>>,
}

/// `dataset.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DatasetRecord {
    name: String,
    content_sha256: String,
}

/// The file that records the checkpoints' hashes.
pub const CHECKPOINTS: &str = "checkpoints.json";
/// The file that records which data the run trained on (name and
/// [`latentdyn_data::Data::content_id`]).
pub const DATASET: &str = "dataset.json";
/// The file that says a process is training in the directory.
pub const LOCK: &str = "train.lock";
/// Files other commands derive from a run (evaluation, fixed points,
/// figures); [`RunDir::clear`] removes them with the run.
pub const DERIVED: [&str; 3] = ["eval.json", "fixed_points.json", "figures"];

impl RunDir {
    /// The run directory at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file in it, by name ([`files`]).
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Whether it holds a run (a `config.json`).
    pub fn holds_a_run(&self) -> bool {
        self.file(files::CONFIG).is_file()
    }

    /// The run's configuration; an error that says the directory is not a
    /// run when it has none.
    pub fn config(&self) -> Result<RunConfig, TrainError> {
        let path = self.file(files::CONFIG);
        if !path.is_file() {
            return Err(TrainError::Config {
                field: "run directory".into(),
                reason: format!(
                    "{} is not a training run (it has no {})",
                    self.path.display(),
                    files::CONFIG
                ),
            });
        }
        read_json(&path)
    }

    /// `summary.json`, when the run wrote one.
    pub fn summary(&self) -> Option<Summary> {
        read_json(&self.file(files::SUMMARY)).ok()
    }

    /// Where the run stands. A `summary.json` that says completed counts
    /// only when it covers every configured epoch; a run without one (a
    /// killed run) counts its rows in `metrics.csv`.
    pub fn state(&self) -> RunState {
        let Ok(cfg) = self.config() else {
            return RunState::NotStarted;
        };
        let epochs = cfg.train.epochs;
        match self.summary() {
            Some(s) if s.status == RunStatus::Completed && s.epochs_done == epochs => {
                RunState::Completed(s)
            }
            Some(s) if s.status == RunStatus::Diverged => RunState::Diverged(s),
            _ => RunState::Unfinished {
                epochs_done: MetricsCsv::read(&self.file(files::METRICS))
                    .map_or(0, |h| h.len())
                    .min(epochs),
                epochs,
            },
        }
    }

    /// The fields (dotted paths, with both values) in which the run here
    /// differs from `cfg`; empty when it is the same run or there is none.
    pub fn differences(&self, cfg: &RunConfig) -> Result<Vec<String>, TrainError> {
        if !self.holds_a_run() {
            return Ok(Vec::new());
        }
        Ok(config_differences(&self.config()?, cfg))
    }

    /// Refuses a directory that holds another run than `cfg`, naming the
    /// fields that differ and what to do.
    pub fn check_same_run(&self, cfg: &RunConfig) -> Result<(), TrainError> {
        let diff = self.differences(cfg)?;
        if diff.is_empty() {
            return Ok(());
        }
        Err(TrainError::Config {
            field: "config".into(),
            reason: format!(
                "{} holds a run with another configuration ({}); train with --fresh to \
                 replace it, or into another directory",
                self.path.display(),
                diff.join("; ")
            ),
        })
    }

    /// Starts over: removes every file of the run and everything derived
    /// from it (evaluation, fixed points, figures), keeping anything else
    /// in the directory.
    pub fn clear(&self) -> Result<(), TrainError> {
        let owned = [
            files::CONFIG,
            files::METRICS,
            files::SUMMARY,
            files::BEST,
            files::LAST,
            CHECKPOINTS,
            DATASET,
        ];
        for name in owned.iter().chain(DERIVED.iter()) {
            let p = self.file(name);
            let res = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            match res {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(TrainError::Io { path: p, source: e })
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Files here that a run would overwrite although the directory holds
    /// no run (`--out` pointed at a folder of the user's).
    pub fn foreign_files(&self) -> Vec<String> {
        if self.holds_a_run() {
            return Vec::new();
        }
        [
            files::METRICS,
            files::SUMMARY,
            files::BEST,
            files::LAST,
            CHECKPOINTS,
        ]
        .iter()
        .filter(|n| self.file(n).exists())
        .map(|n| n.to_string())
        .collect()
    }

    /// Writes named tensors as the checkpoint `name` atomically, recording
    /// its SHA-256 first (beside the hash of the file it replaces).
    pub fn save_tensors(
        &self,
        name: &str,
        named: &[(String, tch::Tensor)],
    ) -> Result<(), TrainError> {
        let path = self.file(name);
        atomic_write_with(&path, |tmp| {
            tch::Tensor::write_safetensors(named, tmp).map_err(std::io::Error::other)?;
            let hash = sha256_of(tmp)?;
            let mut rec = self.hashes();
            let list = rec.files.entry(name.to_owned()).or_default();
            list.truncate(1);
            list.insert(0, hash);
            write_json(&self.file(CHECKPOINTS), &rec).map_err(std::io::Error::other)
        })
    }

    /// Reads the checkpoint `name`, refusing one whose bytes are not the ones
    /// recorded when it was written.
    pub fn read_tensors(
        &self,
        name: &str,
    ) -> Result<std::collections::HashMap<String, tch::Tensor>, TrainError> {
        let path = self.file(name);
        if !path.is_file() {
            let reason = match self.state() {
                RunState::NotStarted | RunState::Unfinished { epochs_done: 0, .. } => {
                    "missing: the run has not finished an epoch yet".to_string()
                }
                s => format!(
                    "missing, although the run is {} after {} epochs: it was deleted; \
                     retrain with --fresh",
                    s.word(),
                    s.epochs_done()
                ),
            };
            return Err(TrainError::Checkpoint { path, reason });
        }
        self.verify(name)?;
        crate::io::read_tensors(&path)
    }

    /// Checks the checkpoint `name` against its recorded hash (nothing to
    /// check for runs written before hashes were recorded).
    pub fn verify(&self, name: &str) -> Result<(), TrainError> {
        let path = self.file(name);
        let Some(known) = self.hashes().files.get(name).cloned() else {
            return Ok(());
        };
        let hash = sha256_of(&path).map_err(|source| TrainError::Io {
            path: path.clone(),
            source,
        })?;
        if known.contains(&hash) {
            return Ok(());
        }
        Err(TrainError::Checkpoint {
            path,
            reason: format!(
                "its SHA-256 is {hash}, not the {} recorded when it was written: the file \
                 changed afterwards (damaged or replaced); retrain with --fresh",
                known[0]
            ),
        })
    }

    /// Records the data the run trains on, or, when a record exists,
    /// refuses other data (a resume on another dataset).
    pub fn record_dataset(&self, data: &latentdyn_data::Data) -> Result<(), TrainError> {
        if self.file(DATASET).is_file() {
            return self.check_dataset(data);
        }
        write_json(
            &self.file(DATASET),
            &DatasetRecord {
                name: data.name(),
                content_sha256: data.content_id(),
            },
        )
    }

    /// Refuses data other than the run trained on (runs written before the
    /// record existed are not checked).
    pub fn check_dataset(&self, data: &latentdyn_data::Data) -> Result<(), TrainError> {
        let Ok(rec) = read_json::<DatasetRecord>(&self.file(DATASET)) else {
            return Ok(());
        };
        let got = data.content_id();
        if got == rec.content_sha256 {
            return Ok(());
        }
        Err(TrainError::Config {
            field: "dataset".into(),
            reason: format!(
                "{} was trained on {} with content SHA-256 {}, but the data found now \
                 ({}) have {got}: the dataset file was replaced or regenerated differently",
                self.path.display(),
                rec.name,
                rec.content_sha256,
                data.name()
            ),
        })
    }

    fn hashes(&self) -> CheckpointHashes {
        read_json(&self.file(CHECKPOINTS)).unwrap_or_default()
    }

    /// Takes the directory's lock for this process: refused while another
    /// living process holds it; a lock left by a dead process is taken over.
    pub fn lock(&self) -> Result<RunLock, TrainError> {
        self.lock_waiting(std::time::Duration::ZERO)
    }

    /// [`RunDir::lock`], waiting up to `patience` for a living holder to
    /// let go (a grid rerun right after its runner was killed: the old
    /// worker stops at its next epoch).
    pub fn lock_waiting(&self, patience: std::time::Duration) -> Result<RunLock, TrainError> {
        let start = std::time::Instant::now();
        loop {
            match self.try_lock() {
                Err(e) if start.elapsed() < patience && self.file(LOCK).exists() => {
                    let _ = e;
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                other => return other,
            }
        }
    }

    fn try_lock(&self) -> Result<RunLock, TrainError> {
        let path = self.file(LOCK);
        let me = std::process::id();
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = writeln!(f, "{me}");
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder: Option<u32> = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse().ok());
                    match holder {
                        Some(pid) if pid != me && latentdyn_data::process_alive(pid) => {
                            return Err(TrainError::Config {
                                field: "run directory".into(),
                                reason: format!(
                                    "{} is being trained by process {pid} ({}); wait for it \
                                     or stop it first",
                                    self.path.display(),
                                    path.display()
                                ),
                            })
                        }
                        // Stale (or unreadable): remove and try once more.
                        _ => {
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(source) => return Err(TrainError::Io { path, source }),
            }
        }
        Err(TrainError::Config {
            field: "run directory".into(),
            reason: format!("could not take the lock {}", path.display()),
        })
    }
}

/// Held while a process trains in a run directory; removed when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The fields in which two configurations differ, as `path: old → new`.
pub fn config_differences(old: &RunConfig, new: &RunConfig) -> Vec<String> {
    let (Ok(a), Ok(b)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return vec!["(unserialisable configuration)".into()];
    };
    let mut out = Vec::new();
    diff_values("", &a, &b, &mut out);
    out
}

fn diff_values(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => diff_values(&p, u, v, out),
                    (u, v) => out.push(format!(
                        "{p}: {} → {}",
                        u.map_or("absent".into(), Value::to_string),
                        v.map_or("absent".into(), Value::to_string)
                    )),
                }
            }
        }
        _ if a != b => out.push(format!("{path}: {a} → {b}")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latentdyn_data::DatasetSpec;

    fn cfg(epochs: usize) -> RunConfig {
        RunConfig::preset("gru", Some(3), DatasetSpec::preset("arneodo").unwrap(), 0)
            .unwrap()
            .with_epochs(epochs)
    }

    #[test]
    fn differences_name_the_fields() {
        let d = config_differences(&cfg(20), &cfg(30));
        assert!(d.iter().any(|l| l == "train.epochs: 20 → 30"), "{d:?}");
        assert!(config_differences(&cfg(20), &cfg(20)).is_empty());
    }

    #[test]
    fn a_changed_checkpoint_is_refused_and_the_previous_one_accepted() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path());
        let t = |v: f32| vec![("w".to_string(), tch::Tensor::from_slice(&[v, 2.0]))];
        run.save_tensors("x.safetensors", &t(1.0)).unwrap();
        let first = std::fs::read(run.file("x.safetensors")).unwrap();
        run.save_tensors("x.safetensors", &t(3.0)).unwrap();
        assert!(run.read_tensors("x.safetensors").is_ok());
        // A kill between the hash record and the rename leaves the old file.
        std::fs::write(run.file("x.safetensors"), &first).unwrap();
        assert!(run.verify("x.safetensors").is_ok());
        // One flipped bit is not.
        let mut b = first.clone();
        let n = b.len();
        b[n - 1] ^= 1;
        std::fs::write(run.file("x.safetensors"), &b).unwrap();
        let e = run.read_tensors("x.safetensors").unwrap_err().to_string();
        assert!(e.contains("SHA-256") && e.contains("--fresh"), "{e}");
        // No record: an old run, read as it is.
        std::fs::remove_file(run.file(CHECKPOINTS)).unwrap();
        assert!(run.verify("x.safetensors").is_ok());
    }

    #[test]
    fn the_lock_is_exclusive_and_stale_locks_are_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path());
        let held = run.lock().unwrap();
        // The same process may take it again (a resumed train in one process).
        drop(run.lock().unwrap());
        drop(held);
        assert!(!run.file(LOCK).exists());
        // pid 1 is alive (init); a lock it held is refused.
        std::fs::write(run.file(LOCK), "1\n").unwrap();
        let e = run.lock().unwrap_err().to_string();
        assert!(e.contains("process 1"), "{e}");
        // A pid that cannot exist is stale.
        std::fs::write(run.file(LOCK), format!("{}\n", u32::MAX)).unwrap();
        drop(run.lock().unwrap());
    }

    #[test]
    fn clear_removes_the_run_and_what_was_derived_from_it_only() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path());
        for f in [files::CONFIG, files::METRICS, "eval.json", "notes.txt"] {
            std::fs::write(run.file(f), "x").unwrap();
        }
        std::fs::create_dir_all(run.file("figures")).unwrap();
        run.clear().unwrap();
        let left: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec!["notes.txt".to_string()]);
    }
}
