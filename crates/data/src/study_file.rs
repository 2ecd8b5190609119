//! The study's own dataset files: HDF5 in the layout of its
//! `paper_src/data.py` (root-level `{train,valid,test}_{data,activity,
//! latents,times,inds}`, `readout`, `orig_mean`, `orig_std`), read into a
//! [`Dataset`] with the same validation as latentdyn's own files.
//!
//! HDF5 is read by the pure-Rust `hdf5-reader` crate (no C library to
//! build or install; `docs/ARCHITECTURE.md` says why).
//!
//! The trials of each split are stored in shuffled order with `inds`, the
//! index of each trial's chunk of the one long trajectory; the reader puts
//! every trial back at its chunk index, so sample `i` of the dataset is
//! chunk `i` and the split index lists are the sorted `inds`.

use std::path::Path;

use ndarray::{Array1, Array2, Array3, Axis, Ix2};

use crate::dataset::{check_finite, check_split_named, Integrator, Metadata, Provenance, Seeds};
use crate::h5::{self, H5};
use crate::simulate::LatentInfo;
use crate::{file_sha256, DataError, Dataset, DatasetSpec, SystemKind};

/// Where the study's files keep their arrays, for error messages.
const STUDY_LAYOUT: &str = "the study's layout has root-level \
     {train,valid,test}_{data,activity,latents,times,inds}, readout, orig_mean and orig_std";

/// The splits in the order of the file's keys.
const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// Relative tolerance of `activity == exp((latents · readout − orig_mean) / orig_std)`.
const ACTIVITY_RTOL: f64 = 1e-9;

/// Loads a dataset file by its extension: `.h5` / `.hdf5` in the study's
/// layout ([`load_study_h5`]), anything else as latentdyn's `.npz` + `.json`
/// ([`Dataset::load`]).
pub fn load_dataset_file(path: &Path) -> Result<Dataset, DataError> {
    if path.is_dir() {
        return Err(DataError::corrupt(
            path,
            "(path)",
            "is a directory; give a dataset file (.npz or .json of latentdyn's format, or the \
             study's .h5)",
        ));
    }
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase)
        .as_deref()
    {
        Some("h5" | "hdf5") => load_study_h5(path),
        _ => Dataset::load(path),
    }
}

/// Reads a dataset file in the study's HDF5 layout and validates it: every
/// key present with consistent shapes, finite values, whole non-negative
/// counts, disjoint splits that cover the trials, sample times on the
/// spec's grid, and `activity` equal to `exp((latents · readout −
/// orig_mean) / orig_std)`. The system and sampling come from the file's
/// name, which must follow the study's pattern
/// (`{System}{channels}_{trials}S_{bins}T_{points per period}P_{seed}seed_poisson.h5`).
/// Every error names the file and the key.
pub fn load_study_h5(path: &Path) -> Result<Dataset, DataError> {
    if !path.is_file() {
        return Err(DataError::Missing {
            path: path.to_path_buf(),
            what: "a dataset file in the study's HDF5 layout".into(),
        });
    }
    let spec = spec_from_name(path)?;
    let file = h5::open(path)?;
    let r = H5 {
        path,
        file: &file,
        layout: STUDY_LAYOUT,
    };

    let readout: Array2<f64> = r
        .read_f64("readout")?
        .into_dimensionality::<Ix2>()
        .map_err(|_| r.shape_err("readout", &[0, spec.obs_dim], r.shape("readout")))?;
    let (d, c) = readout.dim();
    if c != spec.obs_dim {
        return Err(r.shape_err("readout", &[d, spec.obs_dim], vec![d, c]));
    }
    let per_channel = |key: &str| -> Result<Array1<f64>, DataError> {
        let a = r.read_f64(key)?;
        let shape = a.shape().to_vec();
        if !(shape == [1, c] || shape == [c]) {
            return Err(r.shape_err(key, &[1, c], shape));
        }
        Ok(Array1::from_iter(a.iter().copied()))
    };
    let orig_mean = per_channel("orig_mean")?;
    let orig_std = per_channel("orig_std")?;
    for (key, a) in [
        ("readout", readout.view().into_dyn()),
        ("orig_mean", orig_mean.view().into_dyn()),
        ("orig_std", orig_std.view().into_dyn()),
    ] {
        check_finite(path, key, a)?;
    }
    if let Some(j) = orig_std.iter().position(|&s| s <= 0.0) {
        return Err(DataError::corrupt(
            path,
            "orig_std",
            format!("channel {j} has std {} (must be > 0)", orig_std[j]),
        ));
    }

    let (n, t) = (spec.n_samples, spec.n_timesteps);
    let mut spikes = Array3::<u32>::zeros((n, t, c));
    let mut rates = Array3::<f64>::zeros((n, t, c));
    let mut latents = Array3::<f64>::zeros((n, t, d));
    let mut times = Array2::<f64>::zeros((n, t));
    let mut inds = Vec::new();
    for split in SPLITS {
        let key = |what: &str| format!("{split}_{what}");
        let ind_key = key("inds");
        let ind = r.read_i64(&ind_key)?;
        let m = ind.len();
        let data = r.read3(&key("data"), [m, t, c])?;
        let activity = r.read3(&key("activity"), [m, t, c])?;
        let lat = r.read3(&key("latents"), [m, t, d])?;
        let tm: Array2<f64> = r
            .read_f64(&key("times"))?
            .into_dimensionality::<Ix2>()
            .ok()
            .filter(|a| a.dim() == (m, t))
            .ok_or_else(|| r.shape_err(&key("times"), &[m, t], r.shape(&key("times"))))?;
        for (k, a) in [
            (key("activity"), activity.view().into_dyn()),
            (key("latents"), lat.view().into_dyn()),
            (key("times"), tm.view().into_dyn()),
        ] {
            check_finite(path, &k, a)?;
        }
        let counts = counts_of(path, &key("data"), &data)?;
        check_activity(
            path,
            &key("activity"),
            &activity,
            &lat,
            &readout,
            &orig_mean,
            &orig_std,
        )?;
        check_times(path, &key("times"), &tm, &spec)?;
        for (i, &chunk) in ind.iter().enumerate() {
            // Out-of-range and repeated indices are reported by the split check below.
            if chunk < 0 || chunk as u64 >= n as u64 {
                continue;
            }
            let s = chunk as usize;
            spikes
                .index_axis_mut(Axis(0), s)
                .assign(&counts.index_axis(Axis(0), i));
            rates
                .index_axis_mut(Axis(0), s)
                .assign(&activity.index_axis(Axis(0), i));
            latents
                .index_axis_mut(Axis(0), s)
                .assign(&lat.index_axis(Axis(0), i));
            times
                .index_axis_mut(Axis(0), s)
                .assign(&tm.index_axis(Axis(0), i));
        }
        inds.push(ind);
    }
    let total: usize = inds.iter().map(|i| i.len()).sum();
    if total != n {
        return Err(DataError::corrupt(
            path,
            "train_inds",
            format!(
                "the splits hold {total} trials, but the file's name says {n} \
                 ({}+{}+{})",
                inds[0].len(),
                inds[1].len(),
                inds[2].len()
            ),
        ));
    }
    let (mut train_idx, mut valid_idx, mut test_idx) = check_split_named(
        path,
        n,
        [
            ("train_inds", &inds[0]),
            ("valid_inds", &inds[1]),
            ("test_inds", &inds[2]),
        ],
    )?;
    for v in [&mut train_idx, &mut valid_idx, &mut test_idx] {
        v.sort_unstable();
    }

    let mut metadata = Metadata::new(
        &spec,
        d,
        LatentInfo {
            standardised: false,
            raw_mean: None,
            raw_std: None,
            description: "the study's latents as stored in its dataset file".into(),
        },
        None,
    );
    if metadata.latent_dim != d {
        return Err(r.shape_err("readout", &[metadata.latent_dim, c], vec![d, c]));
    }
    metadata.split_sizes = [train_idx.len(), valid_idx.len(), test_idx.len()];
    metadata.integrator = Integrator {
        method: "Radau (dysts 0.1 in the study's paper_src/data.py)".into(),
        rtol: 1e-3,
        atol: 1e-6,
    };
    metadata.seeds = Seeds {
        rng: "numpy (the study's paper_src/data.py); streams do not apply".into(),
        ..metadata.seeds
    };
    metadata.provenance = Some(Provenance {
        source: path.display().to_string(),
        sha256: file_sha256(path)?,
        format: "HDF5, the study's layout (paper_src/data.py)".into(),
    });
    let mut ds = Dataset {
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
    ds.metadata.content_sha256 = Some(ds.content_sha256());
    Ok(ds)
}

/// The spec the study's file name encodes, e.g.
/// `Arneodo10_2000S_70T_35P_0seed_poisson.h5`.
fn spec_from_name(path: &Path) -> Result<DatasetSpec, DataError> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let bad = || {
        DataError::corrupt(
            path,
            "(file name)",
            format!(
                "`{stem}` does not say which system and sampling the file holds: a study \
                 dataset file is named {{System}}{{channels}}_{{trials}}S_{{bins}}T_\
                 {{points per period}}P_{{seed}}seed_poisson.h5, e.g. \
                 Arneodo10_2000S_70T_35P_0seed_poisson.h5"
            ),
        )
    };
    let parts: Vec<&str> = stem.split('_').collect();
    let [head, s, t, p, seed, "poisson"] = parts.as_slice() else {
        return Err(bad());
    };
    let split_at = head.find(|ch: char| ch.is_ascii_digit()).ok_or_else(bad)?;
    let (system, obs) = head.split_at(split_at);
    let system: SystemKind = system.parse().map_err(|_| bad())?;
    let num = |text: &str, suffix: &str| -> Result<usize, DataError> {
        text.strip_suffix(suffix)
            .and_then(|v| v.parse().ok())
            .ok_or_else(bad)
    };
    let spec = DatasetSpec {
        system,
        obs_dim: obs.parse().map_err(|_| bad())?,
        n_samples: num(s, "S")?,
        n_timesteps: num(t, "T")?,
        pts_per_period: num(p, "P")?,
        seed: num(seed, "seed")? as u64,
    };
    spec.validate()
        .map_err(|e| DataError::corrupt(path, "(file name)", e))?;
    Ok(spec)
}

/// Spike counts stored as floats must be whole, finite and ≥ 0.
fn counts_of(path: &Path, key: &str, data: &Array3<f64>) -> Result<Array3<u32>, DataError> {
    if let Some((idx, v)) = data
        .indexed_iter()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0 && v.fract() == 0.0 && **v <= u32::MAX as f64))
    {
        let (a, b, ch) = idx;
        return Err(DataError::corrupt(
            path,
            key,
            format!("value {v} at [{a}, {b}, {ch}] is not a spike count"),
        ));
    }
    Ok(data.mapv(|v| v as u32))
}

/// `activity` must be `exp((latents · readout − orig_mean) / orig_std)`.
fn check_activity(
    path: &Path,
    key: &str,
    activity: &Array3<f64>,
    latents: &Array3<f64>,
    readout: &Array2<f64>,
    mean: &Array1<f64>,
    std: &Array1<f64>,
) -> Result<(), DataError> {
    let (m, t, d) = latents.dim();
    let flat = latents
        .view()
        .into_shape_with_order((m * t, d))
        .map_err(|e| DataError::corrupt(path, key, e))?;
    let want = ((flat.dot(readout) - mean) / std).mapv(f64::exp);
    let got = activity
        .view()
        .into_shape_with_order((m * t, readout.ncols()))
        .map_err(|e| DataError::corrupt(path, key, e))?;
    for ((i, j), &w) in want.indexed_iter() {
        let g = got[[i, j]];
        if (g - w).abs() > ACTIVITY_RTOL * w.abs().max(1e-300) {
            return Err(DataError::corrupt(
                path,
                key,
                format!(
                    "trial {}, bin {}, channel {j}: {g} but exp((latents · readout − orig_mean) / \
                     orig_std) = {w}; the rates do not follow from the latents",
                    i / t,
                    i % t
                ),
            ));
        }
    }
    Ok(())
}

/// Each trial's times must step by the spec's sample spacing.
fn check_times(
    path: &Path,
    key: &str,
    times: &Array2<f64>,
    spec: &DatasetSpec,
) -> Result<(), DataError> {
    let dt = spec.sample_dt();
    for (i, row) in times.outer_iter().enumerate() {
        for b in 1..row.len() {
            let step = row[b] - row[b - 1];
            if (step - dt).abs() > 1e-6 * dt {
                return Err(DataError::corrupt(
                    path,
                    key,
                    format!(
                        "trial {i} steps by {step} between bins {} and {b}, but the file's name \
                         ({} points per period) implies {dt}",
                        b - 1,
                        spec.pts_per_period
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_names_give_the_spec() {
        let s = spec_from_name(Path::new("x/Lorenz10_2000S_70T_100P_0seed_poisson.h5")).unwrap();
        assert_eq!(s, DatasetSpec::preset("lorenz").unwrap());
        for bad in [
            "data.h5",
            "Lorenz10_2000S_70T_100P_0seed.h5",
            "Henon10_2000S_70T_35P_0seed_poisson.h5",
        ] {
            let e = spec_from_name(Path::new(bad)).unwrap_err().to_string();
            assert!(e.contains("(file name)"), "{e}");
        }
    }
}
