//! `latentdyn eval`: the metrics of a run's best checkpoint on the
//! validation and test splits, and its fixed points.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use latentdyn_models::DeviceChoice;
use latentdyn_train::{evaluate, files, RunConfig, Scores};

use super::common::{load_run_data, print_alignment};

/// Arguments of `latentdyn eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A run directory (holding config.json and best.safetensors).
    run: PathBuf,
    /// Where datasets are looked up and generated.
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Skip the fixed-point search (tens of seconds) after the metrics.
    #[arg(long)]
    no_fixed_points: bool,
}

/// Runs `latentdyn eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let cfg_path = args.run.join(files::CONFIG);
    let text = std::fs::read_to_string(&cfg_path).with_context(|| {
        format!(
            "{} is not a run directory (no readable {})",
            args.run.display(),
            files::CONFIG
        )
    })?;
    let cfg: RunConfig =
        serde_json::from_str(&text).with_context(|| format!("reading {}", cfg_path.display()))?;
    let data = load_run_data(&cfg, &args.datasets)?;
    let device = args.device.resolve()?;
    let ev = evaluate(&args.run, &data, device)
        .with_context(|| format!("evaluating {}", args.run.display()))?;
    let json = serde_json::to_string_pretty(&ev)?;
    // Print first: a read-only run still shows its numbers.
    let saved = latentdyn_train::io::atomic_write(
        &args.run.join("eval.json"),
        format!("{json}\n").as_bytes(),
    );
    if let Err(e) = saved {
        eprintln!("warning: could not save eval.json: {e}");
    }
    if args.json {
        println!("{json}");
        return Ok(());
    }
    println!(
        "{}",
        super::common::wrap(&format!(
            "{} on {}: the best checkpoint ({}{}; lowest validation NLL), each split scored \
             once; the report shows medians over the last epochs instead",
            ev.run,
            ev.dataset,
            ev.checkpoint,
            ev.checkpoint_epoch
                .map_or_else(String::new, |e| format!(", epoch {}", e + 1))
        ))
    );
    print_scores(&[("valid", &ev.valid), ("test", &ev.test)]);
    if args.no_fixed_points {
        return Ok(());
    }
    eprintln!("fixed points (searched unless fixed_points.json is fresh; --no-fixed-points");
    eprintln!("skips them)…");
    use latentdyn_experiments::analyse::{analysis_is_fresh, load_fixed_points, save_fixed_points};
    // A fresh fixed_points.json is reused; a new search is saved for next time.
    let record = match analysis_is_fresh(&args.run)
        .then(|| load_fixed_points(&args.run))
        .flatten()
    {
        Some(r) => r,
        None => {
            let a = latentdyn_experiments::analyse_run(&args.run, &args.datasets, 0)
                .with_context(|| format!("fixed points of {}", args.run.display()))?;
            if let Err(e) = save_fixed_points(&args.run, &a.record) {
                eprintln!("warning: could not save fixed_points.json: {e}");
            }
            a.record
        }
    };
    match &record.truth {
        Some(t) => println!(
            "fixed points: {} in the model, {} in the truth ({:.1} s)",
            record.model.points.len(),
            t.points.len(),
            record.model.seconds
        ),
        None => println!(
            "fixed points: {} in the model ({:.1} s; no ground truth to match them to)",
            record.model.points.len(),
            record.model.seconds
        ),
    }
    if let Some(a) = &record.alignment {
        print_alignment(a);
    }
    Ok(())
}

/// The splits' scores as a table: the truth's metrics on synthetic data,
/// co-smoothing and decoding on a recording ("—": the recording cannot
/// give that score).
fn print_scores(rows: &[(&str, &Scores)]) {
    let opt = |v: Option<f64>| v.map_or_else(|| format!("{:>8}", "—"), |v| format!("{v:>8.4}"));
    match rows.first().map(|r| r.1) {
        Some(Scores::Truth(_)) => println!(
            "{:<6} {:>8} {:>8} {:>8} {:>8}   {:>24}",
            "split", "NLL", "rate R²", "state R²", "lat. R²", "rate R² early/mid/late"
        ),
        Some(Scores::Recording(_)) => {
            println!("(a recording, no ground truth: state and rate R² do not apply)");
            println!(
                "{:<6} {:>8} {:>8} {:>8} {:>8} {:>8}",
                "split", "NLL in", "co-bps", "bps in", "vel R²", "PSTH R²"
            )
        }
        None => {}
    }
    for (name, s) in rows {
        match s {
            Scores::Truth(m) => println!(
                "{:<6} {:>8.4} {:>8.4} {:>8.4} {:>8.4}   {:>7.3} {:>7.3} {:>7.3}",
                name,
                m.nll,
                m.rate_r2,
                m.state_r2,
                m.latent_r2,
                m.early.rate_r2,
                m.middle.rate_r2,
                m.late.rate_r2
            ),
            Scores::Recording(m) => println!(
                "{:<6} {:>8.4} {} {} {} {}",
                name,
                m.nll,
                opt(m.co_bps),
                opt(m.heldin_bps),
                opt(m.velocity_r2),
                opt(m.psth_r2)
            ),
        }
    }
}
