//! `latentdyn train`: train one sequential autoencoder, or resume its run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use latentdyn_data::{Data, DatasetRef};
use latentdyn_models::{DeviceChoice, Kernels};
use latentdyn_train::{train, RunConfig, RunDir, RunOptions, RunState, RunStatus, Summary};

use super::common::load_run_data;

/// Arguments of `latentdyn train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Dataset: a study preset (arneodo, lorenz, …; generated), `study:<preset>`
    /// (the study's own file, in `<datasets>/study/` or `$LATENTDYN_STUDY_DATASETS`),
    /// or a dataset file (`.npz`, or the study's `.h5`) [default: arneodo].
    #[arg(long, conflicts_with = "config")]
    data: Option<String>,
    /// Model preset: gru, node, node-discrete, ablation0 … ablation4 [default: node].
    #[arg(long, conflicts_with = "config")]
    model: Option<String>,
    /// Train the run described by this config file (a run's `config.json`)
    /// instead of a preset.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Latent size L (the preset's default when omitted).
    #[arg(long, conflicts_with = "config")]
    latent: Option<usize>,
    /// Seed of initialisation, dropout and batch order.
    #[arg(long, default_value_t = 0, conflicts_with = "config")]
    seed: u64,
    /// Epochs (study: 3000); the loss-horizon schedule is scaled to match.
    #[arg(long)]
    epochs: Option<usize>,
    /// Set any config field: `--set train.optimizer.lr=0.01` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    // An explicit help string: as a doc comment, rustdoc would read the
    // placeholders as HTML tags.
    #[arg(
        long,
        help = "Run directory (default: runs/<dataset>/<preset>-L<L>-s<seed>)"
    )]
    out: Option<PathBuf>,
    /// Where datasets are looked up and generated.
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// libtorch threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Start over even if the directory holds a resumable run.
    #[arg(long)]
    fresh: bool,
    /// Run as a grid worker: stop (resumably) when the process that started
    /// this one ends.
    #[arg(long, hide = true)]
    worker: bool,
    /// Which code trains on the CPU: `hand` (the hand-written kernels) or
    /// `libtorch` (its operators and autograd throughout: the same
    /// gradients up to f32 rounding, slower).
    #[arg(long, default_value = "hand")]
    kernels: Kernels,
}

/// A run configuration from a file: a run's `config.json`, or the same
/// fields as TOML (`.toml`, the format of `configs/presets/`).
fn read_config(path: &Path) -> Result<RunConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading run config {}", path.display()))?;
    let cfg: RunConfig = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).with_context(|| format!("parsing run config {}", path.display()))?
    } else {
        serde_json::from_str(&text)
            .with_context(|| format!("parsing run config {}", path.display()))?
    };
    cfg.validate()
        .with_context(|| format!("checking run config {}", path.display()))?;
    Ok(cfg)
}

/// Runs `latentdyn train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let data_arg = args.data.clone().unwrap_or_else(|| "arneodo".into());
    let mut cfg = match &args.config {
        Some(path) => read_config(path)?,
        None => {
            let r = DatasetRef::parse(&data_arg)?;
            let (spec, data_file) =
                latentdyn_experiments::analyse::resolve_dataset(&r, &args.datasets)?;
            let model = args.model.as_deref().unwrap_or("node");
            let mut cfg = RunConfig::preset(model, args.latent, spec, args.seed)?;
            cfg.data_file = data_file;
            cfg
        }
    };
    if let Some(epochs) = args.epochs {
        cfg = cfg.with_epochs(epochs);
    }
    for assignment in &args.set {
        cfg.set(assignment)
            .with_context(|| format!("--set {assignment}"))?;
    }
    // After --set, so that `--set dataset.seed=1` trains on that dataset.
    let data = load_run_data(&cfg, &args.datasets)?;
    let dataset_label = match (&args.config, DatasetRef::parse(&data_arg)) {
        (None, Ok(r)) => r.dir_name(),
        _ => cfg.dataset.name(),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs")
            .join(dataset_label)
            .join(cfg.run_name())
    });
    let run = RunDir::new(&out);
    if args.fresh && out.exists() {
        run.clear()
            .with_context(|| format!("starting {} afresh", out.display()))?;
    }
    if let RunState::Completed(s) | RunState::Diverged(s) = run.state() {
        if run.differences(&cfg)?.is_empty() {
            println!(
                "{} is already {} ({}); nothing to train (--fresh trains it again)",
                out.display(),
                run.state().word(),
                epochs(s.epochs_done)
            );
            print_summary(&out, &s);
            return Ok(());
        }
    }
    let device = args.device.resolve()?;
    let mut opts = RunOptions::new(&out);
    opts.device = device;
    opts.threads = args.threads;
    opts.kernels = args.kernels;
    if args.worker {
        // A worker of a grid rerun right after its runner was killed waits
        // for the old worker, which stops at its next epoch.
        opts.lock_patience = Duration::from_secs(300);
        #[cfg(unix)]
        {
            opts.exit_with_parent = Some(std::os::unix::process::parent_id());
        }
    }
    eprintln!(
        "training {} on {} ({}, {}) -> {}",
        cfg.run_name(),
        cfg.dataset.name(),
        epochs(cfg.train.epochs),
        latentdyn_models::device_name(device),
        out.display()
    );
    let summary = train_with_bar(&cfg, &data, &opts)?;
    print_summary(&out, &summary);
    if summary.status == RunStatus::Diverged {
        bail!(
            "{}: {}",
            out.display(),
            summary.message.unwrap_or_else(|| "diverged".into())
        );
    }
    Ok(())
}

/// Trains with a progress bar in two lines of at most 80 columns: the
/// epochs with the time left, then the loss and the validation scores.
fn train_with_bar(cfg: &RunConfig, data: &Data, opts: &RunOptions) -> Result<Summary> {
    let bar = ProgressBar::new(cfg.train.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:24}] {pos}/{len} epochs ({elapsed} < {eta})\n  {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(cfg.run_name());
    bar.enable_steady_tick(Duration::from_millis(250));
    // Without a terminal the bar is hidden: log a line every 5 % instead.
    let plain = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let every = (cfg.train.epochs / 20).max(1);
    let summary = train(cfg, data, opts, &mut |r| {
        let msg = epoch_message(r);
        if plain && ((r.epoch + 1) % every == 0 || r.epoch + 1 == cfg.train.epochs) {
            let line = format!("epoch {}/{} {msg}", r.epoch + 1, cfg.train.epochs);
            eprintln!("{}", super::common::wrap(&line));
        }
        bar.set_position(r.epoch as u64 + 1);
        bar.set_message(msg);
    })
    .with_context(|| format!("training run {}", opts.out_dir.display()))?;
    bar.finish_and_clear();
    Ok(summary)
}

/// One epoch in words: the loss and the validation scores the data allow.
fn epoch_message(r: &latentdyn_train::EpochRecord) -> String {
    let scores = match &r.metrics {
        latentdyn_train::Scores::Truth(m) => format!(
            "NLL {:.4}  rate R² {:.3}  state R² {:.3}",
            m.nll, m.rate_r2, m.state_r2
        ),
        latentdyn_train::Scores::Recording(m) => {
            // Single spaces: with every score it still fits 80 columns.
            let mut s = format!("NLL in {:.4}", m.nll);
            if let Some(v) = m.co_bps {
                s.push_str(&format!(" co-bps {v:.3}"));
            }
            if let Some(v) = m.velocity_r2 {
                s.push_str(&format!(" vel R² {v:.3}"));
            }
            if let Some(v) = m.psth_r2 {
                s.push_str(&format!(" PSTH R² {v:.3}"));
            }
            s
        }
    };
    // A recording's scores are all of validation trials ("NLL in": of the
    // held-in units); its line drops the word to fit 80 columns.
    let valid = match r.metrics {
        latentdyn_train::Scores::Truth(_) => "valid ",
        latentdyn_train::Scores::Recording(_) => "",
    };
    format!("loss {:.4}  {valid}{scores}  K {}", r.train_loss, r.horizon)
}

/// `1 epoch`, `300 epochs`.
fn epochs(n: usize) -> String {
    if n == 1 {
        "1 epoch".into()
    } else {
        format!("{n} epochs")
    }
}

fn print_summary(dir: &Path, s: &Summary) {
    println!(
        "{}: {} after {}/{} in {:.1} s",
        dir.display(),
        s.status,
        s.epochs_done,
        epochs(s.epochs),
        s.wall_seconds
    );
    if let Some(r) = &s.reported {
        let mut line = format!(
            "median over the last {} epochs (validation): NLL {:.4}",
            r.epochs, r.nll
        );
        for (name, v) in [
            ("rate R²", r.rate_r2),
            ("state R²", r.state_r2),
            ("latent R²", r.latent_r2),
            ("co-bps", r.co_bps),
            ("held-in bps", r.heldin_bps),
            ("velocity R²", r.velocity_r2),
            ("PSTH R²", r.psth_r2),
        ] {
            if let Some(v) = v {
                line.push_str(&format!("  {name} {v:.4}"));
            }
        }
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::epoch_message;
    use latentdyn_analysis::RecordingMetrics;
    use latentdyn_train::{EpochRecord, Scores};

    /// The bar's second line ("  " + message) fits 80 columns on a
    /// recording with every score, at its widest plausible values
    /// (negative scores, a three-digit horizon).
    #[test]
    fn epoch_message_fits_80_columns_with_every_score() {
        let r = EpochRecord {
            epoch: 2999,
            horizon: 140,
            train_loss: 1.2345,
            valid_loss: 1.2345,
            metrics: Scores::Recording(RecordingMetrics {
                nll: 1.2345,
                co_bps: Some(-0.1234),
                heldin_bps: Some(-0.1234),
                velocity_r2: Some(-0.123),
                psth_r2: Some(-0.123),
            }),
            seconds: 1.0,
        };
        let msg = epoch_message(&r);
        assert!(msg.contains("co-bps") && msg.contains("PSTH R²"), "{msg}");
        assert!(
            2 + msg.chars().count() <= 80,
            "{} columns: {msg}",
            2 + msg.chars().count()
        );
    }
}
