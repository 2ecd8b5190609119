//! The training loop: one loop for every dynamics.
//!
//! Per epoch: reseed dropout and the batch order from (seed, epoch), walk the
//! shuffled training trials in batches, take Adam steps on the Poisson NLL
//! of the first K bins, then validate every metric on the validation split,
//! append a row to `metrics.csv`, keep the best checkpoint (lowest
//! full-horizon validation NLL) and write the resumable `last.safetensors`
//! (both through [`crate::checkpoint`]). The loop also writes the run's
//! `config.json` and `summary.json`.
//!
//! Because every random draw of an epoch derives from (seed, epoch), and the
//! model, optimiser and bookkeeping of the last finished epoch are written
//! in one atomic file, a run killed at any point resumes from its last epoch
//! and finishes bit-identical (on CPU) to one that never stopped.

use std::path::PathBuf;
use std::time::Instant;

use latentdyn_analysis::{
    bits_per_spike, compute_metrics, decode_r2, poisson_nll as nll_f64, poisson_nll_on, psth_r2,
    psths, AnalysisError, NllBasis, RecordingMetrics,
};
use latentdyn_data::Data;
use latentdyn_models::{
    array3_to_tensor, parameter_count, poisson_nll, tensor_to_array3, Kernels,
    SequentialAutoencoder,
};
use ndarray::{Array3, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{nn::VarStore, Device, Tensor};

use crate::adam::Adam;
use crate::checkpoint::{load_last, save_last, save_params, Progress};
use crate::config::RunConfig;
use crate::io::write_json;
use crate::record::{EpochRecord, MetricsCsv, Scores};
use crate::run_dir::{files, RunDir, RunState};
use crate::TrainError;

/// How a run is executed (none of this changes its results on CPU).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run directory.
    pub out_dir: PathBuf,
    /// Where tensors live.
    pub device: Device,
    /// libtorch intra-op threads (all cores when `None`).
    pub threads: Option<usize>,
    /// Continue from `last.safetensors` when the directory holds one.
    pub resume: bool,
    /// Stop after this many epochs of this call (for tests of resuming).
    pub stop_after: Option<usize>,
    /// On the CPU, train the encoder and the dynamics by the hand-written
    /// kernels of `latentdyn_models` (the default; their speed is measured
    /// in `docs/user-guide.md`) or by libtorch's operators and autograd.
    /// Both compute the same gradients up to f32 rounding.
    pub kernels: Kernels,
    /// Stop (resumably) at the next epoch once the process with this id is
    /// no longer this one's parent: a grid worker ends with its runner,
    /// even when the runner is killed with SIGKILL.
    pub exit_with_parent: Option<u32>,
    /// How long to wait for another process training in the directory to
    /// stop before giving up (zero: refuse at once).
    pub lock_patience: std::time::Duration,
}

impl RunOptions {
    /// CPU, all cores, resuming, in `out_dir`.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        Self {
            out_dir: out_dir.into(),
            device: Device::Cpu,
            threads: None,
            resume: true,
            stop_after: None,
            kernels: Kernels::Hand,
            exit_with_parent: None,
            lock_patience: std::time::Duration::ZERO,
        }
    }
}

/// How a run ended (or, in tables, where it stands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// All epochs done.
    Completed,
    /// Stopped before its last epoch (on request, killed, or still
    /// training); resumable.
    Interrupted,
    /// The loss or the parameters became non-finite; the run stopped there.
    Diverged,
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunStatus::Completed => "completed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Diverged => "diverged",
        })
    }
}

/// The numbers a run reports: medians over the last `report_last` epochs
/// (or over the epochs that exist, for shorter runs), validation split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reported {
    /// Epochs the medians are taken over.
    pub epochs: usize,
    /// Validation spike NLL over all bins (a recording's: held-in units).
    pub nll: f64,
    /// Rate R² (synthetic data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_r2: Option<f64>,
    /// State R², true → inferred (synthetic data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_r2: Option<f64>,
    /// Latent R², inferred → true (synthetic data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latent_r2: Option<f64>,
    /// Co-smoothing bits per spike (a recording with held-out units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub co_bps: Option<f64>,
    /// Held-in bits per spike (a recording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldin_bps: Option<f64>,
    /// Behaviour decoding R² (a recording with behaviour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub velocity_r2: Option<f64>,
    /// PSTH R² (a recording with conditions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psth_r2: Option<f64>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Completed, interrupted or diverged.
    pub status: RunStatus,
    /// Why it diverged, when it did.
    pub message: Option<String>,
    /// Epochs finished.
    pub epochs_done: usize,
    /// Epochs configured.
    pub epochs: usize,
    /// The epoch of `best.safetensors`.
    pub best_epoch: Option<usize>,
    /// Its validation NLL.
    pub best_valid_nll: Option<f64>,
    /// The study's reported numbers (medians over the tail), when any epoch finished.
    pub reported: Option<Reported>,
    /// Trainable parameters.
    pub parameters: i64,
    /// Training wall time over all sessions of the run, seconds.
    pub wall_seconds: f64,
    /// The device it last ran on (`cpu`, `cuda:N`; `Cpu` in runs before 2026-12-01).
    pub device: String,
    /// Peak resident memory of the process that finished the run, MiB
    /// (Linux `VmHWM`; `None` elsewhere). Covers everything the process did
    /// before, so it is per run when each run has its own process, as in a grid.
    #[serde(default)]
    pub peak_rss_mib: Option<f64>,
}

/// The tensors of one split, ready on the device, plus what scores them
/// on the host.
pub(crate) struct Split {
    /// Every unit's counts: what the loss compares the rates with.
    spikes: Tensor,
    /// What the encoder reads: a recording's held-in units (`spikes`
    /// itself for synthetic data).
    pub(crate) input: Tensor,
    /// True rates and latents (synthetic data, when asked for).
    truth: Option<(Array3<f64>, Array3<f64>)>,
    /// A recording's behaviour of these trials.
    behavior: Option<Array3<f64>>,
    /// A recording's conditions of these trials.
    conditions: Option<Vec<i64>>,
}

pub(crate) fn split(
    ds: &Data,
    idx: &[usize],
    device: Device,
    with_truth: bool,
) -> Result<Split, TrainError> {
    let spikes = ds.spikes().select(Axis(0), idx).mapv(f64::from);
    let spikes = array3_to_tensor(spikes.view(), device)?;
    let held_in = ds.held_in();
    let input = if held_in.len() == ds.spikes().dim().2 {
        spikes.shallow_clone()
    } else {
        let cols: Vec<i64> = held_in.iter().map(|&u| u as i64).collect();
        spikes.f_index_select(2, &Tensor::from_slice(&cols).to_device(device))?
    };
    let pick = |a: &Array3<f64>| a.select(Axis(0), idx);
    let rec = ds.recording();
    Ok(Split {
        spikes,
        input,
        truth: ds
            .truth()
            .filter(|_| with_truth)
            .map(|(rates, latents)| (pick(rates), pick(latents))),
        behavior: rec.and_then(|r| r.behavior.as_ref()).map(pick),
        conditions: rec
            .and_then(|r| r.conditions.as_ref())
            .map(|c| idx.iter().map(|&i| c[i]).collect()),
    })
}

/// What scoring a recording needs beyond the split scored: its held-in
/// and held-out units, the training trials (the behaviour decoder is
/// fitted on them) and the empirical PSTHs.
pub(crate) struct RecordingScoring {
    held_in: Vec<usize>,
    held_out: Vec<usize>,
    /// The training trials, when there is behaviour to decode.
    train: Option<Split>,
    /// Condition keys and the PSTHs of every trial's counts, when the
    /// recording has conditions.
    psths: Option<(Vec<i64>, Array3<f64>)>,
}

impl Split {
    /// The same split, sharing the tensors' storage.
    fn shallow_clone(&self) -> Split {
        Split {
            spikes: self.spikes.shallow_clone(),
            input: self.input.shallow_clone(),
            truth: self.truth.clone(),
            behavior: self.behavior.clone(),
            conditions: self.conditions.clone(),
        }
    }
}

impl RecordingScoring {
    /// `None` for synthetic data. `train` is the training split when the
    /// caller has it on the device already (the trainer), else it is made.
    pub(crate) fn of(
        data: &Data,
        device: Device,
        train: Option<&Split>,
    ) -> Result<Option<Self>, TrainError> {
        let Some(rec) = data.recording() else {
            return Ok(None);
        };
        let train = match (rec.behavior.as_ref(), train) {
            (None, _) => None,
            (Some(_), Some(t)) => Some(t.shallow_clone()),
            (Some(_), None) => Some(split(data, &rec.train_idx, device, false)?),
        };
        let psths = match &rec.conditions {
            Some(c) => Some(psths(rec.spikes.mapv(f64::from).view(), c)?),
            None => None,
        };
        Ok(Some(Self {
            held_in: rec.held_in(),
            held_out: rec.held_out(),
            train,
            psths,
        }))
    }
}

/// Trains (or resumes) the run `cfg` on `data`, writing everything into
/// `opts.out_dir`. `observer` sees each finished epoch (for progress bars).
///
/// A diverging run is not an error: it returns a summary with status
/// `Diverged` after writing it, and everything written before stays.
///
/// libtorch's random generator (initialisation, dropout) is global to the
/// process, so runs in one process take turns: a second call waits for the
/// first. Run parallel trainings in separate processes (the grid runner does).
pub fn train(
    cfg: &RunConfig,
    data: &Data,
    opts: &RunOptions,
    observer: &mut dyn FnMut(&EpochRecord),
) -> Result<Summary, TrainError> {
    let _turn = TORCH_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cfg.validate()?;
    if data.spec() != cfg.dataset {
        return Err(TrainError::Config {
            field: "dataset".into(),
            reason: format!(
                "the config names {} but the data are {}",
                cfg.dataset.name(),
                data.name()
            ),
        });
    }
    let dir = &opts.out_dir;
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
        path: dir.clone(),
        source,
    })?;
    let run = RunDir::new(dir);
    let _lock = run.lock_waiting(opts.lock_patience)?;
    let foreign = run.foreign_files();
    if !foreign.is_empty() {
        return Err(TrainError::Config {
            field: "run directory".into(),
            reason: format!(
                "{} is not a run directory but holds {}, which training would overwrite; \
                 choose another directory",
                dir.display(),
                foreign.join(", ")
            ),
        });
    }
    // A finished run of this configuration is not trained again (with or
    // without its last checkpoint); its summary stays as it was.
    run.check_same_run(cfg)?;
    if let RunState::Completed(s) | RunState::Diverged(s) = run.state() {
        if !run.file(files::BEST).is_file() && s.best_epoch.is_some() {
            return Err(TrainError::Checkpoint {
                path: run.file(files::BEST),
                reason: format!(
                    "missing from this finished run ({} epochs): it was deleted; retrain with \
                     --fresh",
                    s.epochs_done
                ),
            });
        }
        if run.file(files::BEST).is_file() {
            run.verify(files::BEST)?;
        }
        return Ok(s);
    }
    run.record_dataset(data)?;
    let threads = check_threads(opts.threads)?;
    tch::set_num_threads(threads as i32);

    // Build the model from the seed: this fixes the initialisation.
    tch::manual_seed(cfg.seed as i64);
    let mut vs = VarStore::new(opts.device);
    let (_, steps, channels) = data.spikes().dim();
    let mut model = SequentialAutoencoder::with_io(
        &vs.root(),
        &cfg.model,
        data.held_in().len() as i64,
        channels as i64,
    )?;
    model.set_kernels(opts.kernels);
    let mut adam = Adam::new(&vs, cfg.train.optimizer);
    let n_params = parameter_count(&vs);

    let config_path = run.file(files::CONFIG);
    let last_path = run.file(files::LAST);
    let metrics_path = run.file(files::METRICS);
    let mut progress = Progress::start();
    if opts.resume && last_path.exists() {
        progress = load_last(&run, &mut vs, &mut adam)?;
    } else {
        write_json(&config_path, cfg)?;
    }
    let mut csv = MetricsCsv::open(
        &metrics_path,
        progress.next_epoch,
        data.recording().is_some(),
    )?;
    let mut history = csv.history().to_vec();

    let train_split = split(data, data.train_idx(), opts.device, false)?;
    let valid = split(data, data.valid_idx(), opts.device, true)?;
    let scoring = RecordingScoring::of(data, opts.device, Some(&train_split))?;
    let n_train = data.train_idx().len();
    let batch = cfg.train.batch_size.min(n_train).max(1);

    let mut status = RunStatus::Completed;
    let mut message = None;
    let session_start = Instant::now();
    let wall_before = progress.wall_seconds;
    for (epochs_this_call, epoch) in (progress.next_epoch..cfg.train.epochs).enumerate() {
        if opts.stop_after.is_some_and(|n| epochs_this_call >= n) {
            status = RunStatus::Interrupted;
            break;
        }
        if let Some(parent) = opts.exit_with_parent.filter(|&p| !parent_alive(p)) {
            status = RunStatus::Interrupted;
            message = Some(format!(
                "the process that started this run ({parent}) ended; stopped after epoch \
                 {epoch} (rerun to resume)"
            ));
            break;
        }
        let epoch_start = Instant::now();
        let k = cfg.train.horizon.at(epoch, steps);
        // Every random draw of this epoch derives from (seed, epoch).
        let epoch_seed = mix(cfg.seed, epoch as u64);
        tch::manual_seed(epoch_seed as i64);
        let mut order: Vec<i64> = (0..n_train as i64).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(epoch_seed));

        let mut loss_sum = 0.0;
        for chunk in order.chunks(batch) {
            let idx = Tensor::from_slice(chunk).to_device(opts.device);
            let x = train_split.spikes.f_index_select(0, &idx)?;
            let input = train_split.input.f_index_select(0, &idx)?;
            // The loss covers every unit of the training trials.
            let out = match model.forward_t(&input, true) {
                Ok(out) => out,
                // The solver gave up on a blown-up vector field: divergence.
                Err(e) if e.is_divergence() => {
                    loss_sum = f64::NAN;
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            let loss = poisson_nll(&out.log_rates, &x, Some(k))?;
            adam.zero_grad();
            out.backward(&loss)?;
            adam.step();
            loss_sum += loss.f_double_value(&[])? * chunk.len() as f64;
        }
        let train_loss = loss_sum / n_train as f64;

        let validated = if train_loss.is_finite() && params_finite(&vs) {
            metrics_on(&model, &valid, k, cfg.train.nll_basis, scoring.as_ref())?
        } else {
            None
        };
        let Some((valid_loss, metrics)) = validated else {
            status = RunStatus::Diverged;
            message = Some(format!(
                "non-finite training loss, parameters or validation outputs at epoch {epoch} \
                 (train loss {train_loss}); the run stopped, its earlier epochs and \
                 checkpoints are kept"
            ));
            break;
        };
        let record = EpochRecord {
            epoch,
            horizon: k,
            train_loss,
            valid_loss,
            metrics,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        csv.append(&record)?;
        history.push(record.clone());
        observer(&record);
        if record.metrics.nll() < progress.best_valid_nll {
            progress.best_valid_nll = record.metrics.nll();
            progress.best_epoch = Some(epoch);
            save_params(&run, files::BEST, &vs)?;
        }
        progress.next_epoch = epoch + 1;
        progress.wall_seconds = wall_before + session_start.elapsed().as_secs_f64();
        save_last(&run, &vs, &adam, &progress)?;
    }
    progress.wall_seconds = wall_before + session_start.elapsed().as_secs_f64();

    let summary = Summary {
        status,
        message,
        epochs_done: progress.next_epoch,
        epochs: cfg.train.epochs,
        best_epoch: progress.best_epoch,
        best_valid_nll: progress.best_epoch.map(|_| progress.best_valid_nll),
        reported: reported(&history, cfg.train.report_last),
        parameters: n_params,
        wall_seconds: progress.wall_seconds,
        device: latentdyn_models::device_name(opts.device),
        peak_rss_mib: peak_rss_mib(),
    };
    write_json(&run.file(files::SUMMARY), &summary)?;
    Ok(summary)
}

/// Whether `parent` is still this process's parent.
fn parent_alive(parent: u32) -> bool {
    #[cfg(unix)]
    {
        std::os::unix::process::parent_id() == parent
    }
    #[cfg(not(unix))]
    {
        let _ = parent;
        true
    }
}

/// This process's peak resident set size in MiB, from `/proc/self/status`
/// (`VmHWM`, in kB); `None` where that file does not exist or parse.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Serialises users of libtorch's process-global random generator.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A 64-bit mix of the run seed and the epoch (splitmix64 finaliser), so
/// neighbouring epochs get unrelated streams.
fn mix(seed: u64, epoch: u64) -> u64 {
    let mut z = seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) & (i64::MAX as u64)
}

/// Loss at horizon `k` (the full NLL, as trained on) and every metric on a
/// split, in eval mode, the metrics' NLL on `basis`; `None` when the
/// model's outputs are not finite. On a recording (`scoring`), the loss and
/// the NLL cover the held-in units only, and the scores are those of
/// [`RecordingMetrics`].
pub(crate) fn metrics_on(
    model: &SequentialAutoencoder,
    valid: &Split,
    k: usize,
    basis: NllBasis,
    scoring: Option<&RecordingScoring>,
) -> Result<Option<(f64, Scores)>, TrainError> {
    tch::no_grad(|| {
        let Some((log_rates, latents)) = infer_finite(model, valid)? else {
            return Ok(None);
        };
        let spikes = tensor_to_array3(&valid.spikes)?;
        let Some(sc) = scoring else {
            let (rates, true_latents) = valid.truth.as_ref().expect("validation keeps the truth");
            let valid_loss = nll_f64(log_rates.view(), spikes.view(), Some(k))?;
            let metrics = compute_metrics(
                log_rates.view(),
                spikes.view(),
                rates.view(),
                true_latents.view(),
                latents.view(),
                None,
                basis,
            )?;
            return Ok(Some((valid_loss, Scores::Truth(metrics))));
        };
        let cols = |a: &Array3<f64>, units: &[usize]| a.select(Axis(2), units);
        let (lr_in, sp_in) = (cols(&log_rates, &sc.held_in), cols(&spikes, &sc.held_in));
        let valid_loss = nll_f64(lr_in.view(), sp_in.view(), Some(k))?;
        let nll = poisson_nll_on(basis, lr_in.view(), sp_in.view(), None)?;
        let rates = log_rates.mapv(f64::exp);
        let bps = |units: &[usize]| -> Result<Option<f64>, TrainError> {
            if units.is_empty() {
                return Ok(None);
            }
            match bits_per_spike(cols(&rates, units).view(), cols(&spikes, units).view()) {
                Ok(v) => Ok(Some(v)),
                // No spike of these units in the split: nothing to score.
                Err(AnalysisError::Empty { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        };
        let velocity_r2 = match (&sc.train, &valid.behavior) {
            (Some(train), Some(beh)) => {
                let Some((train_lr, _)) = infer_finite(model, train)? else {
                    return Ok(None);
                };
                let train_beh = train.behavior.as_ref().expect("a recording's behaviour");
                Some(
                    decode_r2(
                        train_lr.mapv(f64::exp).view(),
                        train_beh.view(),
                        rates.view(),
                        beh.view(),
                    )?
                    .r2,
                )
            }
            _ => None,
        };
        let psth = match (&sc.psths, &valid.conditions) {
            (Some((keys, empirical)), Some(c)) => {
                Some(psth_r2(rates.view(), c, keys, empirical.view())?)
            }
            _ => None,
        };
        let metrics = RecordingMetrics {
            nll,
            co_bps: bps(&sc.held_out)?,
            heldin_bps: bps(&sc.held_in)?,
            velocity_r2,
            psth_r2: psth,
        };
        Ok(Some((valid_loss, Scores::Recording(metrics))))
    })
}

/// Log-rates and latents of a split, `[trial, bin, ·]`.
type Inferred = (Array3<f64>, Array3<f64>);

/// Log-rates and latents of a split in eval mode, `None` when not finite.
fn infer_finite(model: &SequentialAutoencoder, s: &Split) -> Result<Option<Inferred>, TrainError> {
    let out = match model.forward_t(&s.input, false) {
        Ok(out) => out,
        // A vector field that blew up makes the adaptive solver fail.
        Err(e) if e.is_divergence() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let log_rates = tensor_to_array3(&out.log_rates)?;
    let latents = tensor_to_array3(&out.latents)?;
    if !(log_rates.iter().all(|v| v.is_finite()) && latents.iter().all(|v| v.is_finite())) {
        return Ok(None);
    }
    Ok(Some((log_rates, latents)))
}

fn params_finite(vs: &VarStore) -> bool {
    vs.trainable_variables().iter().all(|t| {
        t.isfinite()
            .all()
            .f_int64_value(&[])
            .map(|v| v != 0)
            .unwrap_or(false)
    })
}

/// The medians over the last `window` epochs of the history.
pub fn reported(history: &[EpochRecord], window: usize) -> Option<Reported> {
    let tail = &history[history.len().saturating_sub(window)..];
    if tail.is_empty() {
        return None;
    }
    let med = |f: &dyn Fn(&EpochRecord) -> f64| median(tail.iter().map(f).collect());
    // A score some epochs lack (a split without held-out spikes) is the
    // median of the epochs that have it.
    let med_opt = |f: &dyn Fn(&EpochRecord) -> Option<f64>| {
        let v: Vec<f64> = tail.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| median(v))
    };
    let truth = |f: fn(&latentdyn_analysis::Metrics) -> f64| {
        med_opt(&|r: &EpochRecord| r.metrics.truth().map(f))
    };
    let rec = |f: fn(&RecordingMetrics) -> Option<f64>| {
        med_opt(&|r: &EpochRecord| r.metrics.recording().and_then(f))
    };
    Some(Reported {
        epochs: tail.len(),
        nll: med(&|r| r.metrics.nll()),
        rate_r2: truth(|m| m.rate_r2),
        state_r2: truth(|m| m.state_r2),
        latent_r2: truth(|m| m.latent_r2),
        co_bps: rec(|m| m.co_bps),
        heldin_bps: rec(|m| m.heldin_bps),
        velocity_r2: rec(|m| m.velocity_r2),
        psth_r2: rec(|m| m.psth_r2),
    })
}

/// The median (mean of the middle two for an even count); NaN sorts last.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// The libtorch threads to use: all cores when `None`; 0 or more than the
/// machine has is an error (more would only oversubscribe it).
pub fn check_threads(threads: Option<usize>) -> Result<usize, TrainError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match threads {
        None => Ok(cores),
        Some(t) if (1..=cores).contains(&t) => Ok(t),
        Some(t) => Err(TrainError::Config {
            field: "threads".into(),
            reason: format!("{t} is not between 1 and this machine's {cores} cores"),
        }),
    }
}
