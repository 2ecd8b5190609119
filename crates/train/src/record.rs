//! `metrics.csv`: one row per epoch, appended as the run goes and cut back
//! to the last checkpointed epoch when a run resumes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use latentdyn_analysis::{Metrics, RecordingMetrics, ThirdMetrics};
use serde::{Deserialize, Serialize};

use crate::io::atomic_write;
use crate::TrainError;

/// What one epoch produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 0-based epoch.
    pub epoch: usize,
    /// Loss horizon K of this epoch.
    pub horizon: usize,
    /// Mean training loss (first K bins) over the epoch's batches.
    pub train_loss: f64,
    /// Validation loss over the first K bins.
    pub valid_loss: f64,
    /// Every validation metric: against the truth (NLL over all bins, R²
    /// scores and thirds) or, on a recording, co-smoothing and decoding.
    pub metrics: Scores,
    /// Wall time of the epoch, training and validation.
    pub seconds: f64,
}

/// An epoch's validation scores: against the truth of synthetic data, or
/// those a recording allows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scores {
    /// Synthetic data: NLL and R² against the true rates and latents.
    Truth(Metrics),
    /// A recording: held-in NLL, co-smoothing, decoding, PSTHs.
    Recording(RecordingMetrics),
}

impl Scores {
    /// The validation NLL (a recording's: of the held-in units), which
    /// picks the best checkpoint.
    pub fn nll(&self) -> f64 {
        match self {
            Scores::Truth(m) => m.nll,
            Scores::Recording(m) => m.nll,
        }
    }

    /// The truth's metrics, if the data had a truth.
    pub fn truth(&self) -> Option<&Metrics> {
        match self {
            Scores::Truth(m) => Some(m),
            Scores::Recording(_) => None,
        }
    }

    /// The recording's metrics, if the data were a recording.
    pub fn recording(&self) -> Option<&RecordingMetrics> {
        match self {
            Scores::Truth(_) => None,
            Scores::Recording(m) => Some(m),
        }
    }
}

/// The CSV header of a run on a recording, in column order. An empty cell
/// is a score the recording cannot give (no held-out units, behaviour or
/// conditions).
pub const RECORDING_COLUMNS: [&str; 10] = [
    "epoch",
    "horizon",
    "train_loss",
    "valid_loss",
    "valid_nll",
    "co_bps",
    "heldin_bps",
    "velocity_r2",
    "psth_r2",
    "seconds",
];

/// The CSV header of a run on synthetic data, in column order.
pub const COLUMNS: [&str; 18] = [
    "epoch",
    "horizon",
    "train_loss",
    "valid_loss",
    "valid_nll",
    "rate_r2",
    "state_r2",
    "latent_r2",
    "rate_r2_early",
    "state_r2_early",
    "latent_r2_early",
    "rate_r2_middle",
    "state_r2_middle",
    "latent_r2_middle",
    "rate_r2_late",
    "state_r2_late",
    "latent_r2_late",
    "seconds",
];

impl EpochRecord {
    fn to_row(&self) -> String {
        let m = match &self.metrics {
            Scores::Truth(m) => m,
            Scores::Recording(m) => {
                let opt = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:?}"));
                return [
                    self.epoch.to_string(),
                    self.horizon.to_string(),
                    format!("{:?}", self.train_loss),
                    format!("{:?}", self.valid_loss),
                    format!("{:?}", m.nll),
                    opt(m.co_bps),
                    opt(m.heldin_bps),
                    opt(m.velocity_r2),
                    opt(m.psth_r2),
                    format!("{:?}", self.seconds),
                ]
                .join(",");
            }
        };
        let mut cells = vec![self.epoch.to_string(), self.horizon.to_string()];
        let mut nums = vec![
            self.train_loss,
            self.valid_loss,
            m.nll,
            m.rate_r2,
            m.state_r2,
            m.latent_r2,
        ];
        for t in [&m.early, &m.middle, &m.late] {
            nums.extend([t.rate_r2, t.state_r2, t.latent_r2]);
        }
        nums.push(self.seconds);
        // `{:?}` prints the shortest text that reads back to the same f64.
        cells.extend(nums.iter().map(|v| format!("{v:?}")));
        cells.join(",")
    }

    fn from_row(line: &str) -> Option<Self> {
        let cells: Vec<&str> = line.split(',').collect();
        let f = |i: usize| cells[i].parse::<f64>().ok();
        if cells.len() == RECORDING_COLUMNS.len() {
            // An empty cell is None; anything else must parse.
            let opt = |i: usize| match cells[i] {
                "" => Some(None),
                c => c.parse::<f64>().ok().map(Some),
            };
            return Some(Self {
                epoch: cells[0].parse().ok()?,
                horizon: cells[1].parse().ok()?,
                train_loss: f(2)?,
                valid_loss: f(3)?,
                metrics: Scores::Recording(RecordingMetrics {
                    nll: f(4)?,
                    co_bps: opt(5)?,
                    heldin_bps: opt(6)?,
                    velocity_r2: opt(7)?,
                    psth_r2: opt(8)?,
                }),
                seconds: f(9)?,
            });
        }
        if cells.len() != COLUMNS.len() {
            return None;
        }
        let third = |i: usize| {
            Some(ThirdMetrics {
                rate_r2: f(i)?,
                state_r2: f(i + 1)?,
                latent_r2: f(i + 2)?,
            })
        };
        Some(Self {
            epoch: cells[0].parse().ok()?,
            horizon: cells[1].parse().ok()?,
            train_loss: f(2)?,
            valid_loss: f(3)?,
            metrics: Scores::Truth(Metrics {
                nll: f(4)?,
                rate_r2: f(5)?,
                state_r2: f(6)?,
                latent_r2: f(7)?,
                early: third(8)?,
                middle: third(11)?,
                late: third(14)?,
            }),
            seconds: f(17)?,
        })
    }
}

/// An open `metrics.csv`, appending rows.
#[derive(Debug)]
pub struct MetricsCsv {
    path: PathBuf,
    file: File,
    history: Vec<EpochRecord>,
}

impl MetricsCsv {
    /// Opens `path` for a run whose next epoch is `next_epoch`: keeps the
    /// rows of epochs before it (dropping later or half-written rows, left
    /// by a run killed after its last checkpoint), or starts a new file,
    /// with the columns of a run on a recording when `recording`.
    pub fn open(path: &Path, next_epoch: usize, recording: bool) -> Result<Self, TrainError> {
        let io = |source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut history = Vec::new();
        if next_epoch > 0 {
            let text = std::fs::read_to_string(path).map_err(io)?;
            history = text
                .lines()
                .skip(1)
                .filter_map(EpochRecord::from_row)
                .filter(|r| r.epoch < next_epoch)
                .collect();
            if history.len() != next_epoch || history.iter().enumerate().any(|(i, r)| r.epoch != i)
            {
                return Err(TrainError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!(
                        "the checkpoint is at epoch {next_epoch} but the file holds {} \
                         consecutive rows",
                        history.len()
                    ),
                });
            }
        }
        let mut text = if recording {
            RECORDING_COLUMNS.join(",")
        } else {
            COLUMNS.join(",")
        };
        text.push('\n');
        for r in &history {
            text.push_str(&r.to_row());
            text.push('\n');
        }
        atomic_write(path, text.as_bytes())?;
        let file = OpenOptions::new().append(true).open(path).map_err(io)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            history,
        })
    }

    /// The rows kept from before this session.
    pub fn history(&self) -> &[EpochRecord] {
        &self.history
    }

    /// Appends one row and flushes it.
    pub fn append(&mut self, r: &EpochRecord) -> Result<(), TrainError> {
        writeln!(self.file, "{}", r.to_row())
            .and_then(|()| self.file.flush())
            .map_err(|source| TrainError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Reads every complete row of a `metrics.csv`.
    pub fn read(path: &Path) -> Result<Vec<EpochRecord>, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(text
            .lines()
            .skip(1)
            .filter_map(EpochRecord::from_row)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize) -> EpochRecord {
        let t = ThirdMetrics {
            rate_r2: 0.1,
            state_r2: -0.25,
            latent_r2: 1.0 / 3.0,
        };
        EpochRecord {
            epoch,
            horizon: 5,
            train_loss: 1.5 + epoch as f64,
            valid_loss: 1.25,
            metrics: Scores::Truth(Metrics {
                nll: 1.3,
                rate_r2: 0.9,
                state_r2: 0.8,
                latent_r2: 0.7,
                early: t,
                middle: t,
                late: t,
            }),
            seconds: 0.125,
        }
    }

    #[test]
    fn rows_round_trip_exactly() {
        let r = record(3);
        assert_eq!(EpochRecord::from_row(&r.to_row()), Some(r));
        assert_eq!(EpochRecord::from_row("1,2,3"), None);
        let mut rec = record(4);
        rec.metrics = Scores::Recording(RecordingMetrics {
            nll: 0.25,
            co_bps: Some(0.125),
            heldin_bps: Some(0.5),
            velocity_r2: None,
            psth_r2: Some(-0.75),
        });
        let row = rec.to_row();
        assert_eq!(row.split(',').count(), RECORDING_COLUMNS.len());
        assert!(
            row.contains(",,"),
            "the missing velocity R² is an empty cell: {row}"
        );
        assert_eq!(EpochRecord::from_row(&row), Some(rec));
    }

    #[test]
    fn reopening_drops_rows_past_the_checkpoint_and_half_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.csv");
        let mut csv = MetricsCsv::open(&p, 0, false).unwrap();
        for e in 0..4 {
            csv.append(&record(e)).unwrap();
        }
        drop(csv);
        // A half-written row, as a kill mid-write leaves.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        write!(f, "4,5,1.0,").unwrap();
        drop(f);
        let csv = MetricsCsv::open(&p, 3, false).unwrap();
        assert_eq!(csv.history().len(), 3);
        let rows = MetricsCsv::read(&p).unwrap();
        assert_eq!(rows, (0..3).map(record).collect::<Vec<_>>());
        let err = MetricsCsv::open(&p, 5, false).unwrap_err().to_string();
        assert!(
            err.contains("metrics.csv") && err.contains("epoch 5"),
            "{err}"
        );
    }
}
