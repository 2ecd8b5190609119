//! `latentdyn figures`: the trajectories, eigenvalues and learned flow of
//! one run, as SVG and PNG.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use latentdyn_experiments::analyse::{self, analysis_for_figures, FIGURES};

/// Arguments of `latentdyn figures`.
#[derive(Args, Debug)]
pub struct FiguresArgs {
    /// A run directory (config.json and best.safetensors).
    run: PathBuf,
    /// Where the figures go (default: RUN/figures).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where datasets are looked up and generated.
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
    /// Trials drawn per panel.
    #[arg(long, default_value_t = 12)]
    trials: usize,
}

/// `latentdyn figures`: trajectories, eigenvalues and flow of one run.
pub fn run(args: FiguresArgs) -> Result<()> {
    // A fresh fixed_points.json is reused: only the latents are inferred again.
    let a = analysis_for_figures(&args.run, &args.datasets)
        .with_context(|| format!("fixed points of {}", args.run.display()))?;
    let out = args.out.clone().unwrap_or_else(|| args.run.join(FIGURES));
    for p in analyse::run_figures(&args.run, &a, &out, args.trials)? {
        println!("wrote {}", p.display());
    }
    Ok(())
}
