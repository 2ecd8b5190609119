//! A recording: binned spike counts without ground truth, with what a
//! recording may carry (held-out units, behaviour, conditions, the bin
//! width) and where it came from.
//!
//! # File format
//! Like a [`crate::Dataset`], two files side by side:
//! - `<name>.npz` — `spikes` (uint32, trials × bins × units), `heldout`
//!   (uint8, units: 1 = held out for co-smoothing), `train_idx`,
//!   `valid_idx`, `test_idx` (int64, sorted trial indices) and, when the
//!   recording has them, `behavior` (float64, trials × bins × dims, NaN
//!   where there is none), `conditions` (int64, trials) and `align_times`
//!   (float64, trials, seconds in the source's clock);
//! - `<name>.json` — [`RecordingMetadata`]: sizes, the bin width, the
//!   provenance and, for an NWB import, its options and summary.
//!
//! [`Recording::load`] also reads an `.npz` alone, as another tool would
//! write it: `spikes` (any numeric dtype of whole counts) is the only
//! array it needs; missing splits are drawn (seed 0, 64/16/20 %), a missing
//! `heldout` holds every unit in, and a scalar `bin_ms` gives the bin width.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array3, Ix0, Ix1, Ix3};
use ndarray_npy::NpzReader;
use serde::{Deserialize, Serialize};

use crate::dataset::{add_split, check_split, save_pair, ArrayReader, Feed};
use crate::nwb::{BinnedRecording, ImportOptions, ImportSummary};
use crate::{DataError, Provenance};

/// The value of [`RecordingMetadata::format`].
pub const RECORDING_FORMAT: &str = "latentdyn-recording";
/// The recording file-format version this crate writes and reads.
pub const RECORDING_FORMAT_VERSION: u32 = 1;

/// What an NWB import was asked and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NwbImport {
    /// The options it ran with.
    pub options: ImportOptions,
    /// Its counts.
    pub summary: ImportSummary,
}

/// The `.json` half of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingMetadata {
    /// Always [`RECORDING_FORMAT`].
    pub format: String,
    /// [`RECORDING_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The writing crate and version.
    pub generator: String,
    /// The recording's name (the files' stem).
    pub name: String,
    /// Trials, bins per trial, units.
    pub shape: [usize; 3],
    /// Bin width in ms, when known (flows and eigenvalues in 1/s need it).
    pub bin_ms: Option<f64>,
    /// Units held out for co-smoothing.
    pub heldout_units: usize,
    /// Dimensions of `behavior` (0: none).
    pub behavior_dims: usize,
    /// Whether each trial has a condition.
    pub conditions: bool,
    /// (train, valid, test) sizes.
    pub split_sizes: [usize; 3],
    /// The source file, when imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// The NWB import's options and counts, when it came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nwb: Option<NwbImport>,
    /// [`Recording::content_sha256`] of the arrays written with it.
    pub content_sha256: String,
}

/// What a run on a recording records of it (in its `config.json`): enough
/// to refuse another recording, not the data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingShape {
    /// The recording's name.
    pub recording: String,
    /// Trials.
    pub trials: usize,
    /// Bins per trial.
    pub bins: usize,
    /// Units.
    pub units: usize,
    /// Held-out units.
    pub heldout_units: usize,
    /// Training trials.
    pub train_trials: usize,
}

/// A recording in memory. See the module documentation for the files.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The `.json` metadata.
    pub metadata: RecordingMetadata,
    /// Spike counts, `[trial, bin, unit]`.
    pub spikes: Array3<u32>,
    /// Held-out units (`true`), one per unit.
    pub heldout: Vec<bool>,
    /// Behaviour per bin, `[trial, bin, dim]` (NaN where unknown).
    pub behavior: Option<Array3<f64>>,
    /// Each trial's condition.
    pub conditions: Option<Vec<i64>>,
    /// Each trial's alignment time in the source (s).
    pub align_times: Option<Vec<f64>>,
    /// Training trials (sorted).
    pub train_idx: Vec<usize>,
    /// Validation trials (sorted).
    pub valid_idx: Vec<usize>,
    /// Test trials (sorted).
    pub test_idx: Vec<usize>,
}

/// A recording's statistics, for people (`data show`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordingSummary {
    /// Name.
    pub name: String,
    /// Trials, bins, units.
    pub shape: [usize; 3],
    /// Bin width in ms.
    pub bin_ms: Option<f64>,
    /// Held-out units.
    pub heldout_units: usize,
    /// (train, valid, test).
    pub split_sizes: [usize; 3],
    /// Mean count per bin and unit.
    pub mean_count: f64,
    /// Mean rate in Hz (when the bin width is known).
    pub mean_rate_hz: Option<f64>,
    /// Units without a spike.
    pub silent_units: usize,
    /// Behaviour dimensions (0: none).
    pub behavior_dims: usize,
    /// Distinct conditions (0: none).
    pub conditions: usize,
}

impl std::fmt::Display for RecordingSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [n, t, u] = self.shape;
        writeln!(f, "{} (recording, no ground truth)", self.name)?;
        let width = self
            .bin_ms
            .map_or_else(|| "bin width unknown".into(), |w| format!("{w} ms bins"));
        writeln!(
            f,
            "  shape            {n} trials × {t} bins × {u} units ({width})"
        )?;
        writeln!(
            f,
            "  held out         {} units (co-smoothing)",
            self.heldout_units
        )?;
        let [a, b, c] = self.split_sizes;
        writeln!(f, "  split            {a} train / {b} valid / {c} test")?;
        match self.mean_rate_hz {
            Some(hz) => writeln!(
                f,
                "  mean rate        {hz:.2} Hz ({:.4} spikes per bin)",
                self.mean_count
            )?,
            None => writeln!(f, "  mean count       {:.4} per bin", self.mean_count)?,
        }
        writeln!(f, "  silent units     {}", self.silent_units)?;
        let beh = if self.behavior_dims == 0 {
            "none".to_string()
        } else {
            format!("{} dims", self.behavior_dims)
        };
        write!(
            f,
            "  behaviour        {beh}; conditions {}",
            if self.conditions == 0 {
                "none".to_string()
            } else {
                self.conditions.to_string()
            }
        )
    }
}

impl Recording {
    /// A recording from an NWB import's result, named `name`, with the
    /// source's provenance.
    pub fn from_nwb(
        binned: BinnedRecording,
        name: &str,
        options: &ImportOptions,
        provenance: Provenance,
    ) -> Result<Self, DataError> {
        let BinnedRecording {
            spikes,
            behavior,
            conditions,
            heldout,
            align_times,
            train_idx,
            valid_idx,
            test_idx,
            summary,
        } = binned;
        let mut r = Recording::new(
            name,
            spikes,
            Some(options.bin_ms),
            heldout,
            behavior,
            conditions,
            Some(align_times),
            [train_idx, valid_idx, test_idx],
        )?;
        r.metadata.provenance = Some(provenance);
        r.metadata.nwb = Some(NwbImport {
            options: options.clone(),
            summary,
        });
        Ok(r)
    }

    /// A recording from its arrays, checked: shapes agree, the split is
    /// disjoint and covers the trials, the bin width is positive.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        spikes: Array3<u32>,
        bin_ms: Option<f64>,
        heldout: Vec<bool>,
        behavior: Option<Array3<f64>>,
        conditions: Option<Vec<i64>>,
        align_times: Option<Vec<f64>>,
        split: [Vec<usize>; 3],
    ) -> Result<Self, DataError> {
        let here = PathBuf::from(format!("{name} (in memory)"));
        let (n, t, u) = spikes.dim();
        let shape_err = |field: &str, expected: Vec<usize>, found: Vec<usize>| DataError::Shape {
            path: here.clone(),
            field: field.into(),
            expected,
            found,
        };
        if n == 0 || t == 0 || u == 0 {
            return Err(DataError::corrupt(
                &here,
                "spikes",
                format!("{n} trials × {t} bins × {u} units: nothing to train on"),
            ));
        }
        if heldout.len() != u {
            return Err(shape_err("heldout", vec![u], vec![heldout.len()]));
        }
        if heldout.iter().all(|&h| h) {
            return Err(DataError::corrupt(
                &here,
                "heldout",
                "every unit is held out: the encoder would read nothing",
            ));
        }
        if let Some(b) = &behavior {
            if b.dim().0 != n || b.dim().1 != t {
                return Err(shape_err(
                    "behavior",
                    vec![n, t, b.dim().2],
                    b.shape().to_vec(),
                ));
            }
            if let Some(i) = b.iter().position(|v| v.is_infinite()) {
                return Err(DataError::corrupt(
                    &here,
                    "behavior",
                    format!("infinite value at flat index {i}"),
                ));
            }
        }
        for (field, len) in [
            ("conditions", conditions.as_ref().map(Vec::len)),
            ("align_times", align_times.as_ref().map(Vec::len)),
        ] {
            if let Some(len) = len.filter(|&l| l != n) {
                return Err(shape_err(field, vec![n], vec![len]));
            }
        }
        if let Some(w) = bin_ms.filter(|w| !(w.is_finite() && *w > 0.0)) {
            return Err(DataError::corrupt(
                &here,
                "bin_ms",
                format!("{w} is not a positive width"),
            ));
        }
        let as_i64 = |v: &[usize]| Array1::from_iter(v.iter().map(|&i| i as i64));
        let [a, b, c] = &split;
        let (train_idx, valid_idx, test_idx) =
            check_split(&here, n, &as_i64(a), &as_i64(b), &as_i64(c))?;
        let mut r = Recording {
            metadata: RecordingMetadata {
                format: RECORDING_FORMAT.into(),
                format_version: RECORDING_FORMAT_VERSION,
                generator: concat!("latentdyn-data ", env!("CARGO_PKG_VERSION")).into(),
                name: name.into(),
                shape: [n, t, u],
                bin_ms,
                heldout_units: heldout.iter().filter(|&&h| h).count(),
                behavior_dims: behavior.as_ref().map_or(0, |b| b.dim().2),
                conditions: conditions.is_some(),
                split_sizes: [train_idx.len(), valid_idx.len(), test_idx.len()],
                provenance: None,
                nwb: None,
                content_sha256: String::new(),
            },
            spikes,
            heldout,
            behavior,
            conditions,
            align_times,
            train_idx,
            valid_idx,
            test_idx,
        };
        r.metadata.content_sha256 = r.content_sha256();
        Ok(r)
    }

    /// The recording's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// What a run's config records of it.
    pub fn shape(&self) -> RecordingShape {
        let [trials, bins, units] = self.metadata.shape;
        RecordingShape {
            recording: self.metadata.name.clone(),
            trials,
            bins,
            units,
            heldout_units: self.metadata.heldout_units,
            train_trials: self.train_idx.len(),
        }
    }

    /// Indices of the held-in units (what the encoder reads).
    pub fn held_in(&self) -> Vec<usize> {
        (0..self.heldout.len())
            .filter(|&u| !self.heldout[u])
            .collect()
    }

    /// Indices of the held-out units.
    pub fn held_out(&self) -> Vec<usize> {
        (0..self.heldout.len())
            .filter(|&u| self.heldout[u])
            .collect()
    }

    /// SHA-256 of the arrays (spikes, held-out mask, splits, then
    /// behaviour, conditions and alignment times where present, each
    /// behind its shape, and the bin width): what ties a run to them.
    pub fn content_sha256(&self) -> String {
        let mut f = Feed::new();
        f.put(RECORDING_FORMAT.as_bytes());
        f.shape(self.spikes.shape());
        for &v in &self.spikes {
            f.put(&v.to_le_bytes());
        }
        f.shape(&[self.heldout.len()]);
        for &h in &self.heldout {
            f.put(&[u8::from(h)]);
        }
        for idx in [&self.train_idx, &self.valid_idx, &self.test_idx] {
            f.shape(&[idx.len()]);
            for &i in idx {
                f.put(&(i as u64).to_le_bytes());
            }
        }
        match &self.behavior {
            Some(b) => {
                f.shape(b.shape());
                for &v in b {
                    f.put(&v.to_le_bytes());
                }
            }
            None => f.put(b"no behavior"),
        }
        match &self.conditions {
            Some(c) => {
                f.shape(&[c.len()]);
                for &v in c {
                    f.put(&v.to_le_bytes());
                }
            }
            None => f.put(b"no conditions"),
        }
        match &self.align_times {
            Some(a) => {
                f.shape(&[a.len()]);
                for &v in a {
                    f.put(&v.to_le_bytes());
                }
            }
            None => f.put(b"no align times"),
        }
        match self.metadata.bin_ms {
            Some(w) => f.put(&w.to_le_bytes()),
            None => f.put(b"no bin width"),
        }
        f.finish()
    }

    /// Statistics for people.
    pub fn summary(&self) -> RecordingSummary {
        let count = self.spikes.len().max(1) as f64;
        let total: u64 = self.spikes.iter().map(|&k| u64::from(k)).sum();
        let mean_count = total as f64 / count;
        let silent_units = self
            .spikes
            .axis_iter(ndarray::Axis(2))
            .filter(|u| u.iter().all(|&k| k == 0))
            .count();
        let conditions = self.conditions.as_ref().map_or(0, |c| {
            let mut c = c.clone();
            c.sort_unstable();
            c.dedup();
            c.len()
        });
        RecordingSummary {
            name: self.metadata.name.clone(),
            shape: self.metadata.shape,
            bin_ms: self.metadata.bin_ms,
            heldout_units: self.metadata.heldout_units,
            split_sizes: self.metadata.split_sizes,
            mean_count,
            mean_rate_hz: self.metadata.bin_ms.map(|w| mean_count * 1000.0 / w),
            silent_units,
            behavior_dims: self.metadata.behavior_dims,
            conditions,
        }
    }

    /// Writes `<dir>/<name>.npz` and `<dir>/<name>.json` atomically and
    /// returns the `.npz` path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, DataError> {
        save_pair(dir, &self.metadata.name, &self.metadata, |npz| {
            npz.add_array("spikes", &self.spikes)?;
            let heldout = Array1::from_iter(self.heldout.iter().map(|&h| u8::from(h)));
            npz.add_array("heldout", &heldout)?;
            add_split(npz, [&self.train_idx, &self.valid_idx, &self.test_idx])?;
            if let Some(b) = &self.behavior {
                npz.add_array("behavior", b)?;
            }
            if let Some(c) = &self.conditions {
                npz.add_array("conditions", &Array1::from_vec(c.clone()))?;
            }
            if let Some(a) = &self.align_times {
                npz.add_array("align_times", &Array1::from_vec(a.clone()))?;
            }
            Ok(())
        })
    }

    /// Reads a recording from its `.npz` or `.json` path. With its `.json`
    /// the arrays must have the sizes and the content hash it records;
    /// without one, the `.npz` alone is read as the module documentation
    /// says. Every error names the file and the array or key.
    pub fn load(path: &Path) -> Result<Recording, DataError> {
        let npz_path = path.with_extension("npz");
        let json_path = path.with_extension("json");
        if !npz_path.is_file() {
            return Err(DataError::Missing {
                path: npz_path,
                what: "recording arrays (.npz)".into(),
            });
        }
        let metadata = if json_path.is_file() {
            Some(read_recording_metadata(&json_path)?)
        } else {
            None
        };
        let file = File::open(&npz_path).map_err(|e| DataError::io(&npz_path, e))?;
        let mut npz = NpzReader::new(BufReader::new(file))
            .map_err(|e| DataError::corrupt(&npz_path, "(archive)", e))?;
        let names = npz
            .names()
            .map_err(|e| DataError::corrupt(&npz_path, "(archive)", e))?;
        let mut r = ArrayReader {
            path: &npz_path,
            npz: &mut npz,
            names: &names,
        };
        if !r.has("spikes") {
            return Err(DataError::corrupt(
                &npz_path,
                "spikes",
                "array is missing from the archive (a recording needs at least spike counts, \
                 trials × bins × units)",
            ));
        }
        let spikes = match &metadata {
            Some(m) => r.read_counts("spikes", &m.shape)?,
            None => read_counts_any_shape(&mut r)?,
        };
        let (n, t, u) = spikes.dim();
        let heldout = if r.has("heldout") {
            let h = r.read_i64("heldout", &[u])?;
            if let Some(v) = h.iter().find(|&&v| v != 0 && v != 1) {
                return Err(DataError::corrupt(
                    &npz_path,
                    "heldout",
                    format!("value {v} is not 0 (held in) or 1 (held out)"),
                ));
            }
            h.iter().map(|&v| v == 1).collect()
        } else if metadata.as_ref().is_some_and(|m| m.heldout_units > 0) {
            return Err(DataError::corrupt(
                &npz_path,
                "heldout",
                "array is missing from the archive but the metadata holds units out",
            ));
        } else {
            vec![false; u]
        };
        let behavior = if r.has("behavior") {
            let d = match &metadata {
                Some(m) => m.behavior_dims,
                None => behavior_dims(&mut r)?,
            };
            let b: Array3<f64> = r.read_f64::<Ix3>("behavior", &[n, t, d])?;
            Some(b)
        } else {
            None
        };
        let conditions = if r.has("conditions") {
            Some(r.read_i64("conditions", &[n])?.to_vec())
        } else {
            None
        };
        let align_times = if r.has("align_times") {
            let a: Array1<f64> = r.read_f64::<Ix1>("align_times", &[n])?;
            Some(a.to_vec())
        } else {
            None
        };
        let split_names = ["train_idx", "valid_idx", "test_idx"];
        let present = split_names.iter().filter(|f| r.has(f)).count();
        let split = match (present, &metadata) {
            (3, _) => {
                let mut parts = Vec::new();
                for (i, f) in split_names.iter().enumerate() {
                    let len = match &metadata {
                        Some(m) => m.split_sizes[i],
                        None => split_len(&mut r, f)?,
                    };
                    parts.push(r.read_i64(f, &[len])?);
                }
                check_split(&npz_path, n, &parts[0], &parts[1], &parts[2])?
            }
            (0, None) => crate::pipeline::split_trials(n, 0),
            _ => {
                let missing: Vec<&str> =
                    split_names.iter().copied().filter(|f| !r.has(f)).collect();
                return Err(DataError::corrupt(
                    &npz_path,
                    missing[0],
                    format!(
                        "array is missing from the archive (give all of train_idx, valid_idx \
                         and test_idx, or none to draw a 64/16/20 % split); missing: {}",
                        missing.join(", ")
                    ),
                ));
            }
        };
        let bin_ms = match &metadata {
            Some(m) => m.bin_ms,
            None if r.has("bin_ms") => Some(read_scalar(&mut r, "bin_ms")?),
            None => None,
        };
        let name = match &metadata {
            Some(m) => m.name.clone(),
            None => npz_path
                .file_stem()
                .map_or_else(|| "recording".into(), |s| s.to_string_lossy().into_owned()),
        };
        let (train_idx, valid_idx, test_idx) = split;
        let mut rec = Recording::new(
            &name,
            spikes,
            bin_ms,
            heldout,
            behavior,
            conditions,
            align_times,
            [train_idx, valid_idx, test_idx],
        )
        .map_err(|e| relocate(e, &npz_path))?;
        if let Some(m) = metadata {
            let got = rec.metadata.content_sha256.clone();
            let consistent = m.shape == rec.metadata.shape
                && m.heldout_units == rec.metadata.heldout_units
                && m.conditions == rec.metadata.conditions
                && m.split_sizes == rec.metadata.split_sizes;
            if !consistent {
                return Err(DataError::MetadataMismatch {
                    path: json_path,
                    field: "shape / heldout_units / conditions / split_sizes".into(),
                    expected: format!(
                        "{:?} / {} / {} / {:?} (the metadata)",
                        m.shape, m.heldout_units, m.conditions, m.split_sizes
                    ),
                    found: format!(
                        "{:?} / {} / {} / {:?} (the arrays)",
                        rec.metadata.shape,
                        rec.metadata.heldout_units,
                        rec.metadata.conditions,
                        rec.metadata.split_sizes
                    ),
                });
            }
            if got != m.content_sha256 {
                return Err(DataError::MetadataMismatch {
                    path: npz_path,
                    field: "content_sha256".into(),
                    expected: format!(
                        "{} (the arrays {} was written with)",
                        m.content_sha256,
                        json_path.display()
                    ),
                    found: format!(
                        "{got}: these arrays belong to another recording; import it again"
                    ),
                });
            }
            rec.metadata = m;
        }
        Ok(rec)
    }
}

/// An in-memory check's error, moved onto the file it was read from.
fn relocate(e: DataError, path: &Path) -> DataError {
    match e {
        DataError::Corrupt { field, reason, .. } => DataError::Corrupt {
            path: path.into(),
            field,
            reason,
        },
        DataError::Shape {
            field,
            expected,
            found,
            ..
        } => DataError::Shape {
            path: path.into(),
            field,
            expected,
            found,
        },
        other => other,
    }
}

/// Whether the JSON beside a `.npz` says it is a recording.
pub(crate) fn is_recording_metadata(json_path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(json_path) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(str::to_owned))
        .is_some_and(|f| f == RECORDING_FORMAT)
}

fn read_recording_metadata(path: &Path) -> Result<RecordingMetadata, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| DataError::corrupt(path, "(json)", format!("not valid JSON: {e}")))?;
    match value.get("format").and_then(|v| v.as_str()) {
        Some(RECORDING_FORMAT) => {}
        other => {
            return Err(DataError::MetadataMismatch {
                path: path.into(),
                field: "format".into(),
                expected: RECORDING_FORMAT.into(),
                found: format!("{other:?}"),
            })
        }
    }
    match value.get("format_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(RECORDING_FORMAT_VERSION) => {}
        other => {
            return Err(DataError::MetadataMismatch {
                path: path.into(),
                field: "format_version".into(),
                expected: RECORDING_FORMAT_VERSION.to_string(),
                found: format!("{other:?}"),
            })
        }
    }
    serde_json::from_value(value).map_err(|e| DataError::corrupt(path, "(metadata)", e))
}

/// The shape of an array in the archive, read by trying it as f64 with an
/// impossible shape (the error says the real one).
fn shape_of(r: &mut ArrayReader<'_>, field: &str) -> Result<Vec<usize>, DataError> {
    match r.read_f64::<ndarray::IxDyn>(field, &[usize::MAX]) {
        Err(DataError::Shape { found, .. }) => Ok(found),
        Err(e) => Err(e),
        Ok(_) => unreachable!("no array has usize::MAX elements"),
    }
}

fn read_counts_any_shape(r: &mut ArrayReader<'_>) -> Result<Array3<u32>, DataError> {
    let shape = shape_of(r, "spikes")?;
    if shape.len() != 3 {
        return Err(DataError::corrupt(
            r.path,
            "spikes",
            format!("shape {shape:?} is not trials × bins × units"),
        ));
    }
    r.read_counts("spikes", &shape)
}

fn behavior_dims(r: &mut ArrayReader<'_>) -> Result<usize, DataError> {
    let shape = shape_of(r, "behavior")?;
    match shape.as_slice() {
        [_, _, d] => Ok(*d),
        _ => Err(DataError::corrupt(
            r.path,
            "behavior",
            format!("shape {shape:?} is not trials × bins × dims"),
        )),
    }
}

fn split_len(r: &mut ArrayReader<'_>, field: &str) -> Result<usize, DataError> {
    let shape = shape_of(r, field)?;
    match shape.as_slice() {
        [n] => Ok(*n),
        _ => Err(DataError::corrupt(
            r.path,
            field,
            format!("shape {shape:?} is not a list of trial indices"),
        )),
    }
}

fn read_scalar(r: &mut ArrayReader<'_>, field: &str) -> Result<f64, DataError> {
    let shape = shape_of(r, field)?;
    let v = match shape.as_slice() {
        [] => r.read_f64::<Ix0>(field, &[])?.into_scalar(),
        [1] => r.read_f64::<Ix1>(field, &[1])?[0],
        _ => {
            return Err(DataError::corrupt(
                r.path,
                field,
                format!("shape {shape:?} is not a single number"),
            ))
        }
    };
    Ok(v)
}
