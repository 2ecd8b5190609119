//! A generated dataset in memory and on disk.
//!
//! # File format
//! A dataset `<name>` is two files side by side:
//! - `<name>.npz` — an uncompressed NumPy archive (`numpy.load` reads it) of
//!   `spikes` (uint32, samples × steps × channels, Poisson counts), `rates`
//!   (float64, same shape, the Poisson means `exp(standardised activity)`),
//!   `latents` (float64, samples × steps × latent_dim), `times` (float64,
//!   samples × steps), `readout` (float64, latent_dim × channels), `orig_mean`
//!   and `orig_std` (float64, channels: the activity's per-channel mean and
//!   population std before standardisation) and `train_idx`, `valid_idx`,
//!   `test_idx` (int64, sorted sample indices);
//! - `<name>.json` — [`Metadata`]: the spec, the system and its parameters,
//!   the sampling grid, the integrator, the seeds and the format version.
//!
//! Both are written to a temporary file in the target directory and renamed
//! into place, so a reader never sees half a file. Neither embeds a time
//! stamp: the same spec gives byte-identical files.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, Array3, ArrayBase, Data, Dimension};
use ndarray_npy::{NpzReader, NpzWriter, ReadableElement};
use serde::{Deserialize, Serialize};

use crate::simulate::{LatentInfo, MackeyGlassInfo, ATOL, RTOL};
use crate::{DataError, DatasetSpec, System};

/// The value of [`Metadata::format`].
pub const FORMAT: &str = "latentdyn-dataset";
/// The file-format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The sampling grid of the one long trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sampling {
    /// Points in the trajectory, `n_samples × n_timesteps`.
    pub n_points: usize,
    /// The system's period.
    pub period: f64,
    /// Samples per period.
    pub pts_per_period: usize,
    /// End time; times are `linspace(0, tlim, n_points)`.
    pub tlim: f64,
    /// `period / pts_per_period`.
    pub dt_nominal: f64,
    /// The actual spacing `tlim / (n_points − 1)`.
    pub dt_actual: f64,
}

/// The integrator used for the latent trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Integrator {
    /// Method name.
    pub method: String,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

/// Where each random draw came from (see [`crate::random`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seeds {
    /// The dataset seed.
    pub seed: u64,
    /// The random number generator.
    pub rng: String,
    /// ChaCha stream of the readout.
    pub readout_stream: u64,
    /// ChaCha stream of the spikes.
    pub spikes_stream: u64,
    /// ChaCha stream of the split.
    pub split_stream: u64,
    /// ChaCha stream of the MackeyGlass history.
    pub history_stream: u64,
}

/// The `.json` half of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The generating crate and version.
    pub generator: String,
    /// [`DatasetSpec::name`].
    pub name: String,
    /// What was generated.
    pub spec: DatasetSpec,
    /// The system and its parameters.
    pub system: System,
    /// The initial condition integrated from.
    pub initial_condition: Vec<f64>,
    /// The time grid.
    pub sampling: Sampling,
    /// The integrator.
    pub integrator: Integrator,
    /// Latent dimensionality.
    pub latent_dim: usize,
    /// How the stored latents relate to the raw state.
    pub latents: LatentInfo,
    /// MackeyGlass only: history and embedding.
    pub mackey_glass: Option<MackeyGlassInfo>,
    /// Random streams.
    pub seeds: Seeds,
    /// (train, valid, test) sizes.
    pub split_sizes: [usize; 3],
    /// dtype of `spikes` in the `.npz`.
    pub spikes_dtype: String,
    /// Where an imported dataset came from; absent for one latentdyn generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// [`Dataset::content_sha256`] of the arrays this metadata was written
    /// with: loading refuses other arrays under this metadata (files written
    /// before it existed have none and are not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
}

/// The origin of an imported dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The source file as it was given.
    pub source: String,
    /// SHA-256 of the source file's bytes.
    pub sha256: String,
    /// The source's format, in words.
    pub format: String,
}

impl Metadata {
    pub(crate) fn new(
        spec: &DatasetSpec,
        latent_dim: usize,
        latents: LatentInfo,
        mackey_glass: Option<MackeyGlassInfo>,
    ) -> Self {
        use crate::random::Purpose;
        let system = spec.system.system();
        let (tr, va, te) = spec.split_sizes();
        Metadata {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            generator: concat!("latentdyn-data ", env!("CARGO_PKG_VERSION")).into(),
            name: spec.name(),
            spec: *spec,
            system,
            initial_condition: system.initial_condition(),
            sampling: Sampling {
                n_points: spec.n_points(),
                period: system.period(),
                pts_per_period: spec.pts_per_period,
                tlim: spec.tlim(),
                dt_nominal: system.dt_nominal(spec.pts_per_period),
                dt_actual: spec.sample_dt(),
            },
            integrator: Integrator {
                method: if mackey_glass.is_some() {
                    "dde method of steps (latentdyn-ode)".into()
                } else {
                    "dop853 (latentdyn-ode)".into()
                },
                rtol: RTOL,
                atol: ATOL,
            },
            latent_dim,
            latents,
            mackey_glass,
            seeds: Seeds {
                seed: spec.seed,
                rng: "ChaCha8, key = seed as 8 little-endian bytes then zeros".into(),
                readout_stream: Purpose::Readout as u64,
                spikes_stream: Purpose::Spikes as u64,
                split_stream: Purpose::Split as u64,
                history_stream: Purpose::History as u64,
            },
            split_sizes: [tr, va, te],
            spikes_dtype: "uint32".into(),
            provenance: None,
            content_sha256: None,
        }
    }
}

/// A dataset: true latents, rates, spikes, readout and split, with its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// What was generated.
    pub spec: DatasetSpec,
    /// The `.json` metadata.
    pub metadata: Metadata,
    /// True latents, `n_samples × n_timesteps × latent_dim` (z-scored for MacArthur).
    pub latents: Array3<f64>,
    /// Poisson rates per bin, `n_samples × n_timesteps × obs_dim`.
    pub rates: Array3<f64>,
    /// Spike counts, same shape as `rates`.
    pub spikes: Array3<u32>,
    /// Sample times, `n_samples × n_timesteps`.
    pub times: Array2<f64>,
    /// Readout, `latent_dim × obs_dim`.
    pub readout: Array2<f64>,
    /// Per-channel mean of `latents · readout` before standardisation.
    pub orig_mean: Array1<f64>,
    /// Per-channel population std of `latents · readout` before standardisation.
    pub orig_std: Array1<f64>,
    /// Training samples (sorted).
    pub train_idx: Vec<usize>,
    /// Validation samples (sorted).
    pub valid_idx: Vec<usize>,
    /// Test samples (sorted).
    pub test_idx: Vec<usize>,
}

/// Summary statistics of a dataset, for people.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Dataset name.
    pub name: String,
    /// (samples, steps, channels).
    pub shape: [usize; 3],
    /// Latent dimensionality.
    pub latent_dim: usize,
    /// (train, valid, test) sizes.
    pub split_sizes: [usize; 3],
    /// Mean Poisson rate per bin.
    pub mean_rate: f64,
    /// Mean spike count per bin (≈ e^0.5 ≈ 1.65 by construction).
    pub mean_spike_count: f64,
    /// Largest count.
    pub max_spike_count: u32,
    /// Fraction of bins with no spike.
    pub fraction_zero: f64,
    /// Latent range per dimension (min, max).
    pub latent_range: Vec<(f64, f64)>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [s, t, c] = self.shape;
        writeln!(f, "{}", self.name)?;
        writeln!(
            f,
            "  shape            {s} samples × {t} steps × {c} channels (latent dim {})",
            self.latent_dim
        )?;
        let [a, b, d] = self.split_sizes;
        writeln!(f, "  split            {a} train / {b} valid / {d} test")?;
        writeln!(f, "  mean rate        {:.4}", self.mean_rate)?;
        writeln!(
            f,
            "  mean spike count {:.4} (max {})",
            self.mean_spike_count, self.max_spike_count
        )?;
        write!(f, "  zero bins        {:.2} %", 100.0 * self.fraction_zero)
    }
}

impl Dataset {
    /// The dataset's name, [`DatasetSpec::name`].
    pub fn name(&self) -> String {
        self.spec.name()
    }

    /// Latent dimensionality.
    pub fn latent_dim(&self) -> usize {
        self.latents.dim().2
    }

    /// SHA-256 of the arrays (spikes, rates, latents, times, readout,
    /// orig_mean, orig_std and the three splits, little-endian, in that
    /// order, each preceded by its shape): what ties a run and a metadata
    /// file to these numbers, whatever file they were read from.
    pub fn content_sha256(&self) -> String {
        let mut f = Feed::new();
        f.shape(self.spikes.shape());
        for &v in &self.spikes {
            f.put(&v.to_le_bytes());
        }
        for a in [
            self.rates.view().into_dyn(),
            self.latents.view().into_dyn(),
            self.times.view().into_dyn(),
            self.readout.view().into_dyn(),
            self.orig_mean.view().into_dyn(),
            self.orig_std.view().into_dyn(),
        ] {
            f.shape(a.shape());
            for &v in &a {
                f.put(&v.to_le_bytes());
            }
        }
        for idx in [&self.train_idx, &self.valid_idx, &self.test_idx] {
            f.shape(&[idx.len()]);
            for &i in idx {
                f.put(&(i as u64).to_le_bytes());
            }
        }
        f.finish()
    }

    /// [`Dataset::content_sha256`] without hashing again when the metadata
    /// holds it: loading checked it against the arrays, generating set it.
    pub fn content_id(&self) -> String {
        self.metadata
            .content_sha256
            .clone()
            .unwrap_or_else(|| self.content_sha256())
    }

    /// Summary statistics.
    pub fn summary(&self) -> Summary {
        let count = self.spikes.len().max(1) as f64;
        let total: u64 = self.spikes.iter().map(|&k| k as u64).sum();
        let zeros = self.spikes.iter().filter(|&&k| k == 0).count();
        let latent_range = (0..self.latent_dim())
            .map(|d| {
                let col = self.latents.index_axis(ndarray::Axis(2), d);
                col.iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    })
            })
            .collect();
        let (s, t, c) = self.spikes.dim();
        Summary {
            name: self.name(),
            shape: [s, t, c],
            latent_dim: self.latent_dim(),
            split_sizes: [
                self.train_idx.len(),
                self.valid_idx.len(),
                self.test_idx.len(),
            ],
            mean_rate: self.rates.sum() / count,
            mean_spike_count: total as f64 / count,
            max_spike_count: self.spikes.iter().copied().max().unwrap_or(0),
            fraction_zero: zeros as f64 / count,
            latent_range,
        }
    }

    /// Writes `<dir>/<name>.npz` and `<dir>/<name>.json` atomically (temporary file in
    /// `dir`, then rename) and returns the `.npz` path. Creates `dir` if needed.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, DataError> {
        save_pair(dir, &self.name(), &self.metadata, |npz| {
            npz.add_array("spikes", &self.spikes)?;
            npz.add_array("rates", &self.rates)?;
            npz.add_array("latents", &self.latents)?;
            npz.add_array("times", &self.times)?;
            npz.add_array("readout", &self.readout)?;
            npz.add_array("orig_mean", &self.orig_mean)?;
            npz.add_array("orig_std", &self.orig_std)?;
            add_split(npz, [&self.train_idx, &self.valid_idx, &self.test_idx])
        })
    }

    /// Reads a dataset from its `.npz` or its `.json` path (the other file must sit beside
    /// it), validating shapes, finiteness, the split and the metadata.
    pub fn load(path: &Path) -> Result<Dataset, DataError> {
        let (npz_path, json_path) = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => (path.with_extension("npz"), path.to_path_buf()),
            Some("npz") => (path.to_path_buf(), path.with_extension("json")),
            _ => (path.with_extension("npz"), path.with_extension("json")),
        };
        for (p, what) in [
            (&json_path, "dataset metadata"),
            (&npz_path, "dataset arrays"),
        ] {
            if !p.is_file() {
                return Err(DataError::Missing {
                    path: p.clone(),
                    what: what.into(),
                });
            }
        }
        let metadata = read_metadata(&json_path)?;
        let spec = metadata.spec;
        check_metadata(&json_path, &metadata)?;

        let file = File::open(&npz_path).map_err(|e| DataError::io(&npz_path, e))?;
        let mut npz = NpzReader::new(BufReader::new(file))
            .map_err(|e| DataError::corrupt(&npz_path, "(archive)", e))?;
        let names = npz
            .names()
            .map_err(|e| DataError::corrupt(&npz_path, "(archive)", e))?;
        let mut reader = ArrayReader {
            path: &npz_path,
            npz: &mut npz,
            names: &names,
        };
        let (s, t, c, d) = (
            spec.n_samples,
            spec.n_timesteps,
            spec.obs_dim,
            metadata.latent_dim,
        );
        let spikes = reader.read_counts("spikes", &[s, t, c])?;
        let rates: Array3<f64> = reader.read_f64("rates", &[s, t, c])?;
        let latents: Array3<f64> = reader.read_f64("latents", &[s, t, d])?;
        let times: Array2<f64> = reader.read_f64("times", &[s, t])?;
        let readout: Array2<f64> = reader.read_f64("readout", &[d, c])?;
        let orig_mean: Array1<f64> = reader.read_f64("orig_mean", &[c])?;
        let orig_std: Array1<f64> = reader.read_f64("orig_std", &[c])?;
        let [ntr, nva, nte] = metadata.split_sizes;
        let train = reader.read_i64("train_idx", &[ntr])?;
        let valid = reader.read_i64("valid_idx", &[nva])?;
        let test = reader.read_i64("test_idx", &[nte])?;

        for (field, arr) in [
            ("rates", rates.view().into_dyn()),
            ("latents", latents.view().into_dyn()),
        ] {
            check_finite(&npz_path, field, arr)?;
        }
        check_finite(&npz_path, "times", times.view().into_dyn())?;
        check_finite(&npz_path, "readout", readout.view().into_dyn())?;
        check_finite(&npz_path, "orig_mean", orig_mean.view().into_dyn())?;
        check_finite(&npz_path, "orig_std", orig_std.view().into_dyn())?;
        if let Some((i, r)) = rates.iter().enumerate().find(|(_, r)| **r < 0.0) {
            return Err(DataError::corrupt(
                &npz_path,
                "rates",
                format!("negative rate {r} at flat index {i}"),
            ));
        }
        let (train_idx, valid_idx, test_idx) = check_split(&npz_path, s, &train, &valid, &test)?;

        let ds = Dataset {
            spec,
            metadata,
            latents,
            rates,
            spikes,
            times,
            readout,
            orig_mean,
            orig_std,
            train_idx,
            valid_idx,
            test_idx,
        };
        if let Some(want) = &ds.metadata.content_sha256 {
            let got = ds.content_sha256();
            if &got != want {
                return Err(DataError::MetadataMismatch {
                    path: npz_path,
                    field: "content_sha256".into(),
                    expected: format!(
                        "{want} (the arrays {} was written with)",
                        json_path.display()
                    ),
                    found: format!(
                        "{got}: these arrays belong to another dataset (another seed, or \
                         another file copied under this name); regenerate it with \
                         `latentdyn data generate --force`"
                    ),
                });
            }
        }
        Ok(ds)
    }
}

/// The archive a [`save_pair`] writes into.
pub(crate) type Npz<'a> = NpzWriter<&'a mut BufWriter<File>>;

/// Writes `<dir>/<name>.npz` (the arrays `arrays` adds) and
/// `<dir>/<name>.json` (`metadata`, pretty-printed), each atomically
/// (temporary file, then rename), creating `dir`; returns the `.npz` path.
/// The one writer of dataset and recording files.
pub(crate) fn save_pair(
    dir: &Path,
    name: &str,
    metadata: &impl Serialize,
    arrays: impl FnOnce(&mut Npz<'_>) -> Result<(), ndarray_npy::WriteNpzError>,
) -> Result<PathBuf, DataError> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let npz_path = dir.join(format!("{name}.npz"));
    let json_path = dir.join(format!("{name}.json"));
    write_atomic(&npz_path, |w| {
        let err = |e: ndarray_npy::WriteNpzError| std::io::Error::other(e.to_string());
        let mut npz = NpzWriter::new(w);
        arrays(&mut npz).map_err(err)?;
        npz.finish().map_err(err)?.flush()
    })?;
    write_atomic(&json_path, |w| {
        serde_json::to_writer_pretty(&mut *w, metadata).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
        w.flush()
    })?;
    Ok(npz_path)
}

/// The (train, valid, test) indices as int64 arrays `train_idx`,
/// `valid_idx`, `test_idx`.
pub(crate) fn add_split(
    npz: &mut Npz<'_>,
    [train, valid, test]: [&[usize]; 3],
) -> Result<(), ndarray_npy::WriteNpzError> {
    let idx = |v: &[usize]| Array1::from_iter(v.iter().map(|&i| i as i64));
    npz.add_array("train_idx", &idx(train))?;
    npz.add_array("valid_idx", &idx(valid))?;
    npz.add_array("test_idx", &idx(test))
}

/// A SHA-256 fed 64 KiB at a time: what [`Dataset::content_sha256`] and
/// the recording's hash are computed with.
pub(crate) struct Feed {
    h: sha2::Sha256,
    buf: Vec<u8>,
}

impl Feed {
    pub(crate) fn new() -> Self {
        use sha2::Digest;
        Feed {
            h: sha2::Sha256::new(),
            buf: Vec::with_capacity(1 << 17),
        }
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) {
        use sha2::Digest;
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= 1 << 16 {
            self.h.update(&self.buf);
            self.buf.clear();
        }
    }

    /// The number of dimensions, then each, as u64.
    pub(crate) fn shape(&mut self, dims: &[usize]) {
        self.put(&(dims.len() as u64).to_le_bytes());
        for &d in dims {
            self.put(&(d as u64).to_le_bytes());
        }
    }

    pub(crate) fn finish(mut self) -> String {
        use sha2::Digest;
        self.h.update(&self.buf);
        self.h
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn read_metadata(path: &Path) -> Result<Metadata, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| DataError::corrupt(path, "(json)", format!("not valid JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| DataError::corrupt(path, "(json)", "not a JSON object"))?;
    match obj.get("format").and_then(|v| v.as_str()) {
        Some(FORMAT) => {}
        other => {
            return Err(DataError::MetadataMismatch {
                path: path.into(),
                field: "format".into(),
                expected: FORMAT.into(),
                found: format!("{other:?}"),
            })
        }
    }
    match obj.get("format_version").and_then(|v| v.as_u64()) {
        Some(v) if v == FORMAT_VERSION as u64 => {}
        other => {
            return Err(DataError::MetadataMismatch {
                path: path.into(),
                field: "format_version".into(),
                expected: FORMAT_VERSION.to_string(),
                found: format!("{other:?} (written by a generator this version does not know)"),
            })
        }
    }
    // Decode field by field so that an error names the field.
    for (key, v) in obj {
        let res: Result<(), serde_json::Error> = match key.as_str() {
            "spec" => serde_json::from_value::<DatasetSpec>(v.clone()).map(drop),
            "system" => serde_json::from_value::<System>(v.clone()).map(drop),
            "sampling" => serde_json::from_value::<Sampling>(v.clone()).map(drop),
            "latents" => serde_json::from_value::<LatentInfo>(v.clone()).map(drop),
            "seeds" => serde_json::from_value::<Seeds>(v.clone()).map(drop),
            _ => Ok(()),
        };
        res.map_err(|e| DataError::corrupt(path, key.clone(), e))?;
    }
    serde_json::from_value(value).map_err(|e| DataError::corrupt(path, "(metadata)", e))
}

fn check_metadata(path: &Path, m: &Metadata) -> Result<(), DataError> {
    let mismatch = |field: &str, expected: String, found: String| DataError::MetadataMismatch {
        path: path.into(),
        field: field.into(),
        expected,
        found,
    };
    m.spec
        .validate()
        .map_err(|e| DataError::corrupt(path, "spec", e))?;
    let spec = &m.spec;
    if m.name != spec.name() {
        return Err(mismatch("name", spec.name(), m.name.clone()));
    }
    if m.system.kind() != spec.system {
        return Err(mismatch(
            "system",
            spec.system.to_string(),
            m.system.kind().to_string(),
        ));
    }
    if m.system != spec.system.system() {
        return Err(mismatch(
            "system.parameters",
            format!("{:?}", spec.system.system()),
            format!("{:?}", m.system),
        ));
    }
    if m.latent_dim != m.system.dimension() {
        return Err(mismatch(
            "latent_dim",
            m.system.dimension().to_string(),
            m.latent_dim.to_string(),
        ));
    }
    if m.sampling.n_points != spec.n_points() {
        return Err(mismatch(
            "sampling.n_points",
            spec.n_points().to_string(),
            m.sampling.n_points.to_string(),
        ));
    }
    if m.sampling.pts_per_period != spec.pts_per_period {
        return Err(mismatch(
            "sampling.pts_per_period",
            spec.pts_per_period.to_string(),
            m.sampling.pts_per_period.to_string(),
        ));
    }
    if m.seeds.seed != spec.seed {
        return Err(mismatch(
            "seeds.seed",
            spec.seed.to_string(),
            m.seeds.seed.to_string(),
        ));
    }
    let (a, b, c) = spec.split_sizes();
    // An imported dataset keeps its source's split; it must still cover the trials.
    let imported_ok =
        m.provenance.is_some() && m.split_sizes.iter().sum::<usize>() == spec.n_samples;
    if m.split_sizes != [a, b, c] && !imported_ok {
        return Err(mismatch(
            "split_sizes",
            format!("{:?}", [a, b, c]),
            format!("{:?}", m.split_sizes),
        ));
    }
    if m.spikes_dtype != "uint32" {
        return Err(mismatch(
            "spikes_dtype",
            "uint32".into(),
            m.spikes_dtype.clone(),
        ));
    }
    Ok(())
}

pub(crate) struct ArrayReader<'a> {
    pub(crate) path: &'a Path,
    pub(crate) npz: &'a mut NpzReader<BufReader<File>>,
    pub(crate) names: &'a [String],
}

impl ArrayReader<'_> {
    /// Whether the archive holds `field`.
    pub(crate) fn has(&self, field: &str) -> bool {
        let file_name = format!("{field}.npy");
        self.names.iter().any(|n| n == field || *n == file_name)
    }

    pub(crate) fn read<A, D>(
        &mut self,
        field: &str,
        expected: &[usize],
    ) -> Result<ndarray::Array<A, D>, DataError>
    where
        A: ReadableElement,
        D: Dimension,
    {
        let file_name = format!("{field}.npy");
        if !self.names.iter().any(|n| n == field || *n == file_name) {
            return Err(DataError::corrupt(
                self.path,
                field,
                "array is missing from the archive",
            ));
        }
        let arr: ndarray::ArrayD<A> = self
            .npz
            .by_name(field)
            .map_err(|e| DataError::corrupt(self.path, field, e))?;
        if arr.shape() != expected {
            return Err(DataError::Shape {
                path: self.path.into(),
                field: field.into(),
                expected: expected.to_vec(),
                found: arr.shape().to_vec(),
            });
        }
        arr.into_dimensionality::<D>()
            .map_err(|e| DataError::corrupt(self.path, field, e))
    }
}

/// What `try_each!` tried, for the error when none fits.
const NUMERIC_DTYPES: &str = "float64, float32, int8–int64, uint8–uint64";
/// What an index or label array may be.
const INTEGER_DTYPES: &str = "int8–int64, uint8–uint64";

/// Tries `$reader.read::<T, D>` for each listed type until one reads: a shape
/// error ends the search (the type was right); the first error is kept.
macro_rules! try_each {
    ($reader:expr, $field:expr, $expected:expr, $dim:ty, $conv:expr, [$($t:ty),+]) => {{
        let mut first = None;
        let mut out = None;
        $(
            if out.is_none() {
                match $reader.read::<$t, $dim>($field, $expected) {
                    Ok(a) => out = Some(a.mapv($conv)),
                    Err(e @ DataError::Shape { .. }) => return Err(e),
                    Err(e) => {
                        first.get_or_insert(e);
                    }
                }
            }
        )+
        match out {
            Some(a) => Ok(a),
            None => Err(first.expect("one type was tried")),
        }
    }};
}

impl ArrayReader<'_> {
    /// A float array of any numeric dtype (float64 as written; float32 and
    /// integers from other tools), as f64.
    // One conversion closure serves every dtype tried, f64 itself included.
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn read_f64<D: Dimension>(
        &mut self,
        field: &str,
        expected: &[usize],
    ) -> Result<ndarray::Array<f64, D>, DataError> {
        let path = self.path;
        try_each!(
            self,
            field,
            expected,
            D,
            |v| v as f64,
            [f64, f32, i64, i32, i16, i8, u64, u32, u16, u8]
        )
        .map_err(|e| unsupported(path, field, NUMERIC_DTYPES, e))
    }

    /// Trial indices of any integer dtype (int64 as written), as i64.
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn read_i64(
        &mut self,
        field: &str,
        expected: &[usize],
    ) -> Result<Array1<i64>, DataError> {
        let path = self.path;
        try_each!(
            self,
            field,
            expected,
            ndarray::Ix1,
            |v| v as i64,
            [i64, i32, i16, i8, u32, u16, u8]
        )
        .or_else(|e| {
            // u64 indices beyond i64 are out of range anyway.
            self.read::<u64, ndarray::Ix1>(field, expected)
                .map(|a| a.mapv(|v| v.min(i64::MAX as u64) as i64))
                .map_err(|_| e)
        })
        .map_err(|e| unsupported(path, field, INTEGER_DTYPES, e))
    }

    /// Spike counts: uint32 as written, or any numeric array holding
    /// non-negative whole numbers (files produced by other tools).
    pub(crate) fn read_counts(
        &mut self,
        field: &str,
        expected: &[usize],
    ) -> Result<Array3<u32>, DataError> {
        match self.read::<u32, ndarray::Ix3>(field, expected) {
            Ok(a) => return Ok(a),
            Err(e @ DataError::Shape { .. }) => return Err(e),
            Err(_) => {}
        }
        let a: Array3<f64> = self.read_f64(field, expected)?;
        check_finite(self.path, field, a.view().into_dyn())?;
        if let Some((idx, v)) = a
            .indexed_iter()
            .find(|(_, v)| **v < 0.0 || v.fract() != 0.0 || **v > u32::MAX as f64)
        {
            return Err(DataError::corrupt(
                self.path,
                field,
                format!("value {v} at index {idx:?} is not a spike count"),
            ));
        }
        Ok(a.mapv(|v| v as u32))
    }
}

/// A read error of a type search: a missing array stays as it is; a wrong
/// dtype says which dtypes are accepted.
fn unsupported(path: &Path, field: &str, accepted: &str, e: DataError) -> DataError {
    match &e {
        DataError::Corrupt { reason, .. } if reason.contains("missing") => e,
        DataError::Corrupt { reason, .. } => DataError::corrupt(
            path,
            field,
            format!("{reason} (accepted dtypes: {accepted}; booleans and strings are not)"),
        ),
        _ => e,
    }
}

pub(crate) fn check_finite<S: Data<Elem = f64>>(
    path: &Path,
    field: &str,
    arr: ArrayBase<S, ndarray::IxDyn>,
) -> Result<(), DataError> {
    if let Some((idx, _)) = arr.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(DataError::NonFinite {
            path: path.into(),
            field: field.into(),
            index: idx.slice().to_vec(),
        });
    }
    Ok(())
}

type Split = (Vec<usize>, Vec<usize>, Vec<usize>);

pub(crate) fn check_split(
    path: &Path,
    n: usize,
    train: &Array1<i64>,
    valid: &Array1<i64>,
    test: &Array1<i64>,
) -> Result<Split, DataError> {
    check_split_named(
        path,
        n,
        [
            ("train_idx", train),
            ("valid_idx", valid),
            ("test_idx", test),
        ],
    )
}

/// The (train, valid, test) index arrays, stored under the given names,
/// must be disjoint, inside 0..n and cover it; errors name the array.
pub(crate) fn check_split_named(
    path: &Path,
    n: usize,
    parts: [(&str, &Array1<i64>); 3],
) -> Result<Split, DataError> {
    let mut seen = vec![None::<&str>; n];
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (field, arr) in parts {
        let mut v = Vec::with_capacity(arr.len());
        for &i in arr {
            if i < 0 || i as u64 >= n as u64 {
                return Err(DataError::corrupt(
                    path,
                    field,
                    format!("index {i} outside 0..{n}"),
                ));
            }
            let i = i as usize;
            if let Some(other) = seen[i] {
                return Err(DataError::corrupt(
                    path,
                    field,
                    format!("sample {i} is also in {other}"),
                ));
            }
            seen[i] = Some(field);
            v.push(i);
        }
        out.push(v);
    }
    if let Some(i) = seen.iter().position(Option::is_none) {
        return Err(DataError::corrupt(
            path,
            parts[0].0,
            format!("sample {i} is in no split"),
        ));
    }
    let test = out.pop().unwrap_or_default();
    let valid = out.pop().unwrap_or_default();
    let train = out.pop().unwrap_or_default();
    Ok((train, valid, test))
}

/// Writes through `write` into a temporary file in `path`'s directory, then renames it
/// to `path`; on failure the temporary file is removed and `path` is untouched.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), DataError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("dataset");
    let prefix = format!(".{file_name}.tmp");
    // Temporary files of writers that were killed (their pid is gone) would
    // otherwise stay forever, hidden, as large as a dataset.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != std::process::id() && !crate::process_alive(pid) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let tmp = dir.join(format!("{prefix}{}", std::process::id()));
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        DataError::io(path, e)
    })
}
