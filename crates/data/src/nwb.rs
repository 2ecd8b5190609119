//! NWB 2 recordings binned into trials: the Units table's ragged spike
//! times, the Trials table, and optionally a behaviour time series, cut
//! into equal windows around an alignment column and counted in half-open
//! bins.
//!
//! The layout read is NWB 2's (as pynwb writes it):
//! - `units/spike_times` with `units/spike_times_index` (the end offset of
//!   each unit's times), optional `units/obs_intervals` (+ `_index`), and
//!   any boolean column for held-out units;
//! - `intervals/trials/{start_time, stop_time, <align>, <condition>}`;
//! - a `TimeSeries` group with `data` (`[T]` or `[T, D]`, scaled by its
//!   `conversion` and `offset` attributes) and either `timestamps` or
//!   `starting_time` with its `rate` attribute.
//!
//! Every defect is an error naming the table and the column: a missing
//! column, windows past the session, overlapping trials or windows,
//! non-finite times or behaviour. Units without spikes are kept (and
//! reported); spikes outside every trial are ignored (and counted).

use std::path::Path;

use ndarray::{Array2, Array3, ArrayD, Axis, Ix2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::h5::{self, H5};
use crate::DataError;

/// Where an NWB 2 file keeps what the import reads, for errors.
const NWB_LAYOUT: &str = "an NWB 2 file has units/spike_times with units/spike_times_index, \
     intervals/trials/{start_time,stop_time,…}, and TimeSeries groups with data and \
     timestamps (or starting_time)";

/// Which units are held out for co-smoothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Heldout {
    /// None: every unit is held in.
    None,
    /// The units whose boolean column of the Units table (`units/<name>`) is true.
    Column {
        /// The column's name.
        name: String,
    },
    /// `count` units drawn at random, seeded.
    Random {
        /// How many.
        count: usize,
        /// The draw's seed.
        seed: u64,
    },
}

/// How to cut a recording into trials and bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportOptions {
    /// Bin width in ms.
    pub bin_ms: f64,
    /// The Trials table's column the windows are aligned on (s).
    pub align: String,
    /// The window around the alignment time, in ms (start < end).
    pub window_ms: (f64, f64),
    /// Held-out units.
    pub heldout: Heldout,
    /// A behaviour `TimeSeries` group's path (`processing/behavior/…/hand_vel`).
    pub behavior: Option<String>,
    /// The Trials table's column holding each trial's condition (integers).
    pub condition: Option<String>,
    /// Seed of the train / valid / test split.
    pub split_seed: u64,
}

/// Counts and notes of an import, for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Units in the file (all kept).
    pub units: usize,
    /// Trials.
    pub trials: usize,
    /// Bins per trial.
    pub bins: usize,
    /// Held-out units.
    pub heldout: usize,
    /// Spikes in the file.
    pub spikes_total: u64,
    /// Spikes that fell in a trial's window (the binned counts' sum).
    pub spikes_binned: u64,
    /// Spikes outside every trial's `[start_time, stop_time)` (ignored).
    pub spikes_outside_trials: u64,
    /// Units without a single spike in the file (kept).
    pub silent_units: Vec<usize>,
    /// Mean firing rate over the binned windows, in Hz.
    pub mean_rate_hz: f64,
}

/// A recording cut into trials: counts, optional behaviour and conditions,
/// held-out units and a split.
#[derive(Debug, Clone)]
pub struct BinnedRecording {
    /// Spike counts, `[trials, bins, units]`.
    pub spikes: Array3<u32>,
    /// Behaviour at the bin centres, `[trials, bins, dims]`.
    pub behavior: Option<Array3<f64>>,
    /// Each trial's condition.
    pub conditions: Option<Vec<i64>>,
    /// Held-out units (`true`), one per unit.
    pub heldout: Vec<bool>,
    /// Each trial's alignment time (s), in the file's trial order.
    pub align_times: Vec<f64>,
    /// Training trials (sorted).
    pub train_idx: Vec<usize>,
    /// Validation trials (sorted).
    pub valid_idx: Vec<usize>,
    /// Test trials (sorted).
    pub test_idx: Vec<usize>,
    /// What the import found.
    pub summary: ImportSummary,
}

/// The bins of a window starting at `start`: bin k is
/// `[start + k·w, start + (k + 1)·w)`. Returns the bin of `t`, if any.
fn bin_of(t: f64, start: f64, w: f64, bins: usize) -> Option<usize> {
    // NaN fails both comparisons and falls out here.
    if t.is_nan() || t < start {
        return None;
    }
    let guess = ((t - start) / w).floor();
    if guess.is_nan() || guess >= bins as f64 + 1.0 {
        return None;
    }
    let mut k = guess as usize;
    // The division may round across an edge: settle on the definition.
    if k > 0 && t < start + k as f64 * w {
        k -= 1;
    } else if t >= start + (k + 1) as f64 * w {
        k += 1;
    }
    (k < bins).then_some(k)
}

/// A numeric column of an NWB file's Trials table (`intervals/trials/<name>`),
/// as f64: e.g. the trials' `start_time`, to line other data up with them.
pub fn nwb_trials_column(path: &Path, name: &str) -> Result<Vec<f64>, DataError> {
    let file = h5::open(path)?;
    let r = H5 {
        path,
        file: &file,
        layout: NWB_LAYOUT,
    };
    let column = format!("intervals/trials/{name}");
    if !r.has(&column) {
        return Err(DataError::corrupt(
            path,
            &column,
            "no such column in the Trials table",
        ));
    }
    Ok(r.read_f64(&column)?.into_raw_vec_and_offset().0)
}

/// Reads `path` and bins it by `opts`; `progress(done, total)` is called as
/// units are binned (for a progress bar).
pub fn import_nwb(
    path: &Path,
    opts: &ImportOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<BinnedRecording, DataError> {
    if !path.is_file() {
        return Err(DataError::Missing {
            path: path.to_path_buf(),
            what: "an NWB 2 recording".into(),
        });
    }
    let bad = |field: &str, reason: String| DataError::corrupt(path, field, reason);
    if !(opts.bin_ms.is_finite() && opts.bin_ms > 0.0) {
        return Err(bad(
            "--bin-ms",
            format!("{} is not a positive width", opts.bin_ms),
        ));
    }
    let (w0, w1) = opts.window_ms;
    if !(w0.is_finite() && w1.is_finite() && w1 > w0) {
        return Err(bad(
            "--window",
            format!("{w0}:{w1} ms is not a window (start < end)"),
        ));
    }
    let bins_f = (w1 - w0) / opts.bin_ms;
    let bins = bins_f.round() as usize;
    if bins == 0 || (bins_f - bins as f64).abs() > 1e-9 * bins_f.max(1.0) {
        return Err(bad(
            "--window",
            format!(
                "{w0}:{w1} ms is not a whole number of {} ms bins",
                opts.bin_ms
            ),
        ));
    }
    let file = h5::open(path)?;
    let r = H5 {
        path,
        file: &file,
        layout: NWB_LAYOUT,
    };

    // The Units table.
    let times = r.read_f64("units/spike_times")?.into_raw_vec_and_offset().0;
    let ends = r.read_i64("units/spike_times_index")?;
    let units = ends.len();
    if units == 0 {
        return Err(bad(
            "units/spike_times_index",
            "the Units table is empty".into(),
        ));
    }
    let mut unit_times = Vec::with_capacity(units);
    let mut begin = 0usize;
    for (u, &end) in ends.iter().enumerate() {
        let end = usize::try_from(end)
            .ok()
            .filter(|&e| e >= begin && e <= times.len());
        let Some(end) = end else {
            return Err(bad(
                "units/spike_times_index",
                format!(
                    "entry {u} ({}) is not an end offset into spike_times ({} spikes; offsets \
                     must not decrease)",
                    ends[u],
                    times.len()
                ),
            ));
        };
        let mut t = times[begin..end].to_vec();
        if let Some(i) = t.iter().position(|v| !v.is_finite()) {
            return Err(bad(
                "units/spike_times",
                format!("unit {u}'s spike {i} is {}", t[i]),
            ));
        }
        t.sort_by(f64::total_cmp);
        unit_times.push(t);
        begin = end;
    }
    if begin != times.len() {
        return Err(bad(
            "units/spike_times_index",
            format!(
                "the last offset is {begin} but spike_times holds {} spikes",
                times.len()
            ),
        ));
    }
    let session_end = session_end(&r, units)?;

    // The Trials table.
    let column = |name: &str| format!("intervals/trials/{name}");
    let starts = r
        .read_f64(&column("start_time"))?
        .into_raw_vec_and_offset()
        .0;
    let stops = r
        .read_f64(&column("stop_time"))?
        .into_raw_vec_and_offset()
        .0;
    if !r.has(&column(&opts.align)) {
        return Err(bad(
            &column(&opts.align),
            "no such column in the Trials table (--align)".into(),
        ));
    }
    let align = r
        .read_f64(&column(&opts.align))?
        .into_raw_vec_and_offset()
        .0;
    let trials = starts.len();
    if trials == 0 {
        return Err(bad(
            &column("start_time"),
            "the Trials table is empty".into(),
        ));
    }
    for (name, v) in [("stop_time", &stops), (opts.align.as_str(), &align)] {
        if v.len() != trials {
            return Err(bad(
                &column(name),
                format!("{} rows, but start_time has {trials}", v.len()),
            ));
        }
    }
    for k in 0..trials {
        for (name, v) in [
            ("start_time", &starts),
            ("stop_time", &stops),
            (opts.align.as_str(), &align),
        ] {
            if !v[k].is_finite() {
                return Err(bad(&column(name), format!("trial {k} has {}", v[k])));
            }
        }
        if stops[k] < starts[k] {
            return Err(bad(
                &column("stop_time"),
                format!(
                    "trial {k} stops ({}) before it starts ({})",
                    stops[k], starts[k]
                ),
            ));
        }
    }
    let mut order: Vec<usize> = (0..trials).collect();
    order.sort_by(|&a, &b| starts[a].total_cmp(&starts[b]));
    for pair in order.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if starts[b] < stops[a] {
            return Err(bad(
                "intervals/trials",
                format!(
                    "trials {a} [{}, {}) and {b} [{}, {}) overlap",
                    starts[a], stops[a], starts[b], stops[b]
                ),
            ));
        }
    }
    let w = opts.bin_ms / 1000.0;
    let window_start: Vec<f64> = align.iter().map(|&a| a + w0 / 1000.0).collect();
    let window_end = |k: usize| window_start[k] + bins as f64 * w;
    for k in 0..trials {
        if window_start[k] < 0.0 || window_end(k) > session_end {
            return Err(bad(
                &column(&opts.align),
                format!(
                    "trial {k}'s window [{:.4}, {:.4}) s lies outside the session [0, {session_end:.4}) s",
                    window_start[k],
                    window_end(k)
                ),
            ));
        }
    }
    let mut by_window: Vec<usize> = (0..trials).collect();
    by_window.sort_by(|&a, &b| window_start[a].total_cmp(&window_start[b]));
    for pair in by_window.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if window_start[b] < window_end(a) {
            return Err(bad(
                &column(&opts.align),
                format!(
                    "the windows of trials {a} and {b} overlap: their spikes would be counted twice"
                ),
            ));
        }
    }

    // Binning: units in parallel, each unit's sorted times against every window.
    let done = std::sync::atomic::AtomicUsize::new(0);
    let per_unit: Vec<(Vec<u32>, u64)> = unit_times
        .par_iter()
        .map(|t| {
            let mut counts = vec![0u32; trials * bins];
            for k in 0..trials {
                let lo = t.partition_point(|&x| x < window_start[k]);
                for &x in &t[lo..] {
                    if x >= window_end(k) {
                        break;
                    }
                    if let Some(b) = bin_of(x, window_start[k], w, bins) {
                        counts[k * bins + b] += 1;
                    }
                }
            }
            // Spikes outside every trial (trials sorted by start).
            let mut outside = 0u64;
            let mut j = 0;
            for &x in t {
                while j < order.len() && stops[order[j]] <= x {
                    j += 1;
                }
                if j == order.len() || x < starts[order[j]] {
                    outside += 1;
                }
            }
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(n, units);
            (counts, outside)
        })
        .collect();
    let mut spikes = Array3::<u32>::zeros((trials, bins, units));
    let mut outside = 0;
    for (u, (counts, out)) in per_unit.iter().enumerate() {
        outside += out;
        for k in 0..trials {
            for b in 0..bins {
                spikes[[k, b, u]] = counts[k * bins + b];
            }
        }
    }
    let spikes_binned: u64 = spikes.iter().map(|&c| u64::from(c)).sum();

    let heldout = match &opts.heldout {
        Heldout::None => vec![false; units],
        Heldout::Column { name } => {
            let key = format!("units/{name}");
            if !r.has(&key) {
                return Err(bad(
                    &key,
                    "no such column in the Units table (--heldout-column)".into(),
                ));
            }
            let mask = r.read_bool(&key)?;
            if mask.len() != units {
                return Err(bad(&key, format!("{} rows for {units} units", mask.len())));
            }
            mask
        }
        Heldout::Random { count, seed } => {
            if *count >= units {
                return Err(bad(
                    "--heldout",
                    format!("{count} held-out units of {units}: at least one must stay held in"),
                ));
            }
            let mut ids: Vec<usize> = (0..units).collect();
            crate::random::shuffle(
                &mut crate::random::stream(*seed, crate::random::Purpose::Heldout),
                &mut ids,
            );
            let mut mask = vec![false; units];
            for &u in &ids[..*count] {
                mask[u] = true;
            }
            mask
        }
    };
    if heldout.iter().all(|&h| h) {
        return Err(bad(
            "units",
            "every unit is held out: none is left for the encoder".into(),
        ));
    }

    let conditions = match &opts.condition {
        None => None,
        Some(name) => {
            let key = column(name);
            if !r.has(&key) {
                return Err(bad(
                    &key,
                    "no such column in the Trials table (--condition)".into(),
                ));
            }
            let v = r.read_f64(&key)?.into_raw_vec_and_offset().0;
            if v.len() != trials {
                return Err(bad(&key, format!("{} rows for {trials} trials", v.len())));
            }
            if let Some(k) = v.iter().position(|c| !(c.is_finite() && c.fract() == 0.0)) {
                return Err(bad(
                    &key,
                    format!("trial {k}'s condition {} is not an integer", v[k]),
                ));
            }
            Some(v.iter().map(|&c| c as i64).collect())
        }
    };

    let centres: Vec<Vec<f64>> = (0..trials)
        .map(|k| {
            (0..bins)
                .map(|b| window_start[k] + (b as f64 + 0.5) * w)
                .collect()
        })
        .collect();
    let behavior = match &opts.behavior {
        None => None,
        Some(group) => Some(resample(&r, group, &centres)?),
    };

    let (train_idx, valid_idx, test_idx) = crate::pipeline::split_trials(trials, opts.split_seed);
    let silent_units = unit_times
        .iter()
        .enumerate()
        .filter(|(_, t)| t.is_empty())
        .map(|(u, _)| u)
        .collect();
    let seconds = trials as f64 * bins as f64 * w;
    let summary = ImportSummary {
        units,
        trials,
        bins,
        heldout: heldout.iter().filter(|&&h| h).count(),
        spikes_total: times.len() as u64,
        spikes_binned,
        spikes_outside_trials: outside,
        silent_units,
        mean_rate_hz: spikes_binned as f64 / (seconds * units as f64),
    };
    Ok(BinnedRecording {
        spikes,
        behavior,
        conditions,
        heldout,
        align_times: align,
        train_idx,
        valid_idx,
        test_idx,
        summary,
    })
}

/// The end of the session: the last observation interval's end when the
/// Units table has `obs_intervals`, else infinity (windows are then only
/// checked against 0).
fn session_end(r: &H5<'_>, units: usize) -> Result<f64, DataError> {
    if !r.has("units/obs_intervals") {
        return Ok(f64::INFINITY);
    }
    let iv = r.read_f64("units/obs_intervals")?;
    let shape = iv.shape().to_vec();
    let iv = iv
        .into_dimensionality::<Ix2>()
        .ok()
        .filter(|a| a.ncols() == 2)
        .ok_or_else(|| r.shape_err("units/obs_intervals", &[units, 2], shape))?;
    let end = iv
        .column(1)
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if !end.is_finite() {
        return Err(r.corrupt("units/obs_intervals", "no finite interval end"));
    }
    Ok(end)
}

/// The behaviour time series at `group`, linearly interpolated at every
/// bin centre, `[trials, bins, dims]`.
fn resample(r: &H5<'_>, group: &str, centres: &[Vec<f64>]) -> Result<Array3<f64>, DataError> {
    let key = |name: &str| format!("{}/{name}", group.trim_end_matches('/'));
    let data_key = key("data");
    if !r.has(&data_key) {
        return Err(r.corrupt(
            &data_key,
            "missing: --behavior must name a TimeSeries group (with data and timestamps)",
        ));
    }
    let ds = r.dataset(&data_key)?;
    let scale = |name: &str, default: f64| {
        ds.attribute(name)
            .ok()
            .and_then(|a| a.read_as_f64().ok())
            .unwrap_or(default)
    };
    let (conversion, offset) = (scale("conversion", 1.0), scale("offset", 0.0));
    let raw: ArrayD<f64> = r.read_f64(&data_key)?;
    let data: Array2<f64> = match raw.ndim() {
        1 => raw
            .insert_axis(Axis(1))
            .into_dimensionality::<Ix2>()
            .expect("two axes"),
        2 => raw.into_dimensionality::<Ix2>().expect("two axes"),
        _ => return Err(r.shape_err(&data_key, &[0, 0], raw.shape().to_vec())),
    };
    let data = data.mapv(|v| v * conversion + offset);
    let n = data.nrows();
    if n < 2 {
        return Err(r.corrupt(
            &data_key,
            format!("{n} samples: at least 2 are needed to interpolate"),
        ));
    }
    if let Some(((i, j), v)) = data.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(r.corrupt(&data_key, format!("sample {i}, dimension {j} is {v}")));
    }
    let stamps: Vec<f64> = if r.has(&key("timestamps")) {
        let t = r.read_f64(&key("timestamps"))?.into_raw_vec_and_offset().0;
        if t.len() != n {
            return Err(r.shape_err(&key("timestamps"), &[n], vec![t.len()]));
        }
        if let Some(i) =
            (1..n).find(|&i| t[i] <= t[i - 1] || !t[i].is_finite() || t[i - 1].is_nan())
        {
            return Err(r.corrupt(
                &key("timestamps"),
                format!(
                    "timestamps must increase: sample {i} is {} after {}",
                    t[i],
                    t[i - 1]
                ),
            ));
        }
        t
    } else if r.has(&key("starting_time")) {
        let st = r.dataset(&key("starting_time"))?;
        let t0 = r
            .read_f64(&key("starting_time"))?
            .iter()
            .copied()
            .next()
            .unwrap_or(f64::NAN);
        let rate = st
            .attribute("rate")
            .ok()
            .and_then(|a| a.read_as_f64().ok())
            .ok_or_else(|| r.corrupt(&key("starting_time"), "has no `rate` attribute"))?;
        if !(t0.is_finite() && rate.is_finite() && rate > 0.0) {
            return Err(r.corrupt(
                &key("starting_time"),
                format!("starting time {t0} at rate {rate} Hz is not a time base"),
            ));
        }
        (0..n).map(|i| t0 + i as f64 / rate).collect()
    } else {
        return Err(r.corrupt(group, "has neither timestamps nor starting_time"));
    };
    let dims = data.ncols();
    let trials = centres.len();
    let bins = centres.first().map_or(0, Vec::len);
    let mut out = Array3::<f64>::zeros((trials, bins, dims));
    for (k, row) in centres.iter().enumerate() {
        for (b, &c) in row.iter().enumerate() {
            if c < stamps[0] || c > stamps[n - 1] {
                return Err(r.corrupt(
                    &key("timestamps"),
                    format!(
                        "trial {k}'s bin {b} (centre {c:.4} s) lies outside the series [{:.4}, {:.4}] s",
                        stamps[0],
                        stamps[n - 1]
                    ),
                ));
            }
            // stamps[i - 1] <= c <= stamps[i].
            let i = stamps.partition_point(|&t| t <= c).clamp(1, n - 1);
            let (ta, tb) = (stamps[i - 1], stamps[i]);
            let f = (c - ta) / (tb - ta);
            for d in 0..dims {
                let (a, z) = (data[[i - 1, d]], data[[i, d]]);
                out[[k, b, d]] = a + f * (z - a);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_half_open_at_their_edges() {
        let w = 0.02;
        assert_eq!(bin_of(0.0, 0.0, w, 3), Some(0));
        assert_eq!(bin_of(0.02, 0.0, w, 3), Some(1));
        assert_eq!(bin_of(0.019_999_999, 0.0, w, 3), Some(0));
        assert_eq!(bin_of(0.06, 0.0, w, 3), None);
        assert_eq!(bin_of(-1e-12, 0.0, w, 3), None);
        assert_eq!(bin_of(f64::NAN, 0.0, w, 3), None);
        // Edges computed as start + k·w, whatever the division says.
        let start = 0.66;
        for k in 0..35 {
            let edge = start + k as f64 * w;
            assert_eq!(bin_of(edge, start, w, 35), Some(k), "edge {k}");
        }
    }

    #[test]
    fn the_split_follows_the_study_proportions() {
        let split = crate::pipeline::split_trials;
        let (a, b, c) = split(2000, 0);
        assert_eq!((a.len(), b.len(), c.len()), (1280, 320, 400));
        let (a, b, c) = split(184, 3);
        // ⌈20 %⌉ test, ⌈20 %⌉ of the rest valid.
        assert_eq!((a.len(), b.len(), c.len()), (117, 30, 37));
        let mut all: Vec<usize> = a.iter().chain(&b).chain(&c).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..184).collect::<Vec<_>>());
        assert_eq!(split(184, 3), split(184, 3));
        assert_ne!(split(184, 3).0, split(184, 4).0);
        let (a, b, c) = split(1, 0);
        assert_eq!(a.len() + b.len() + c.len(), 1);
    }
}
