//! `latentdyn`: the command line of the latentdyn workbench.
//!
//! Subcommands: `data generate`, `data show` and `ablate`. Errors carry the
//! file, preset or field they concern; nothing already written is lost.

mod data_cmd;
mod train_cmd;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Recover latent dynamical systems from neural population activity.
#[derive(Parser, Debug)]
#[command(name = "latentdyn", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Synthetic spiking datasets: generate or inspect.
    #[command(subcommand)]
    Data(data_cmd::DataCommand),
    /// Train one sequential autoencoder (resumes an interrupted run).
    Train(train_cmd::TrainArgs),
    /// Metrics of a run's best checkpoint on the validation and test splits.
    Eval(train_cmd::EvalArgs),
    /// Run an ablation grid (today: generate the study's datasets and list the grid).
    Ablate(AblateArgs),
}

/// Arguments of `latentdyn ablate`.
#[derive(clap::Args, Debug)]
struct AblateArgs {
    /// Grid to run; `smoke` is the small default.
    #[arg(long, default_value = "smoke")]
    grid: String,
    /// Where datasets are written and looked up.
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
}

fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli) {
        eprintln!("latentdyn: error: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Data(cmd) => data_cmd::run(cmd),
        Command::Train(args) => train_cmd::run_train(args),
        Command::Eval(args) => train_cmd::run_eval(args),
        Command::Ablate(args) => ablate(args),
    }
}

/// The cells of a named grid, as (dataset preset, model, latent size, seed).
fn grid_cells(grid: &str) -> Result<Vec<(&'static str, &'static str, usize, u64)>> {
    match grid {
        "smoke" => Ok(vec![("arneodo", "gru", 3, 0), ("arneodo", "node", 3, 0)]),
        other => anyhow::bail!(
            "unknown grid `{other}`: this version knows `smoke` (quick and paper arrive with the \
             experiment runner)"
        ),
    }
}

fn ablate(args: AblateArgs) -> Result<()> {
    let cells = grid_cells(&args.grid)?;
    let started = std::time::Instant::now();
    let presets: Vec<String> = latentdyn_data::DatasetSpec::study_presets()
        .into_iter()
        .map(|(name, _)| name.to_owned())
        .collect();
    let paths = data_cmd::generate_presets(&presets, &args.datasets, false)?;
    println!(
        "{} study datasets ready in {} ({:.1} s)",
        paths.len(),
        args.datasets.display(),
        started.elapsed().as_secs_f64()
    );
    println!("grid `{}`: {} cells", args.grid, cells.len());
    println!(
        "  {:<10} {:<6} {:>3} {:>5}",
        "dataset", "model", "L", "seed"
    );
    for (dataset, model, latent, seed) in &cells {
        println!("  {dataset:<10} {model:<6} {latent:>3} {seed:>5}");
    }
    println!(
        "training is not part of this version yet (issue 3): the cells above are what \
         `cargo xtask ablate` will train"
    );
    Ok(())
}
