//! `latentdyn infer`: what a run's best checkpoint infers for each trial of
//! a split — initial conditions, latents, rates — written as `.npz`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use latentdyn_models::DeviceChoice;
use latentdyn_train::{infer, RunDir};

use super::common::load_run_data;

/// Arguments of `latentdyn infer`.
#[derive(Args, Debug)]
pub struct InferArgs {
    /// A run directory (holding config.json and best.safetensors).
    run: PathBuf,
    /// Which trials: train, valid or test.
    #[arg(long, default_value = "test")]
    split: String,
    /// The `.npz` to write (`trials`, `z0`, `latents`, `rates` in counts
    /// per bin, `spikes`, and a recording's `conditions`).
    #[arg(long, default_value = "posterior.npz")]
    out: PathBuf,
    /// Where datasets are looked up and generated.
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
}

/// Runs `latentdyn infer`.
pub fn run(args: InferArgs) -> Result<()> {
    let cfg = RunDir::new(&args.run)
        .config()
        .with_context(|| format!("{} is not a run directory", args.run.display()))?;
    let data = load_run_data(&cfg, &args.datasets)?;
    let device = args.device.resolve()?;
    let post = infer(&args.run, &data, &args.split, device)
        .with_context(|| format!("inferring with {}", args.run.display()))?;
    post.save_npz(&data, &args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let (n, t, l) = post.latents.dim();
    println!(
        "{} on the {} {} trials of {}: z0 {n}×{l}, latents {n}×{t}×{l}, rates {n}×{t}×{} -> {}",
        cfg.run_name(),
        n,
        args.split,
        data.name(),
        post.rates.dim().2,
        args.out.display()
    );
    Ok(())
}
