//! `latentdyn`: the command line of the latentdyn workbench.
//!
//! Subcommands: `data`, `train`, `eval`, `infer`, `fixed-points`, `figures`, `ablate`
//! and `report`, each in the module of [`commands`] named after it. Errors
//! carry the file, preset or field they concern; nothing already written is
//! lost.

mod commands;

use anyhow::Result;
use clap::{Parser, Subcommand};

use commands::{ablate, data, eval, figures, fixed_points, infer, report, train};

/// Recover latent dynamical systems from neural population activity.
#[derive(Parser, Debug)]
#[command(
    name = "latentdyn",
    version,
    about,
    propagate_version = true,
    max_term_width = 80
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Datasets: generate synthetic ones, import recordings (NWB) or the study's files, inspect.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Train one sequential autoencoder (resumes an interrupted run).
    Train(train::TrainArgs),
    /// Metrics of a run's best checkpoint on the validation and test splits.
    Eval(eval::EvalArgs),
    /// Write what a run infers for each trial of a split (z0, latents, rates) as .npz.
    Infer(infer::InferArgs),
    /// Fixed points of a run's latent dynamics matched to the true system's
    /// (or of a true system alone, with --system).
    FixedPoints(fixed_points::FixedPointsArgs),
    /// Figures of one run: 3-D trajectories, eigenvalues, the learned flow.
    Figures(figures::FiguresArgs),
    /// Run a grid of training runs (smoke, quick, paper or a file), resumably.
    Ablate(ablate::AblateArgs),
    /// Merge grid directories into results.csv and the table beside the published values.
    Report(report::ReportArgs),
}

fn main() {
    // Before anything else: libgomp and glibc read their settings at load time.
    if let Err(e) = latentdyn_models::runtime::restart_with_tuned_runtime() {
        eprintln!("latentdyn: note: could not restart with the OpenMP and malloc settings ({e})");
    }
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    if let Err(err) = run(cli) {
        eprintln!("latentdyn: error: {}", error_chain(&err));
        std::process::exit(1);
    }
}

/// The exit status of a process killed by SIGPIPE (128 + 13), what a
/// shell reports for `cat` in `cat big | head`.
const CLOSED_PIPE_STATUS: i32 = 141;

/// Ends the process quietly, as Unix tools do, when standard output is a
/// pipe its reader closed (`latentdyn data show … --json | head`): Rust
/// ignores SIGPIPE, so `println!` panics on the broken pipe instead.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(CLOSED_PIPE_STATUS);
        }
        default(info)
    }));
}

/// The error and its causes, `: `-joined, skipping a cause whose text the
/// message before it already ends with (our errors show their source).
fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Data(cmd) => data::run(cmd),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Infer(args) => infer::run(args),
        Command::FixedPoints(args) => fixed_points::run(args),
        Command::Figures(args) => figures::run(args),
        Command::Ablate(args) => ablate::run(args),
        Command::Report(args) => report::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[test]
    fn error_chain_shows_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        #[derive(Debug)]
        struct Wrapped {
            source: std::io::Error,
        }
        impl std::fmt::Display for Wrapped {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "data.npz: {}", self.source)
            }
        }
        impl std::error::Error for Wrapped {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.source)
            }
        }
        let err = anyhow::Error::new(Wrapped { source: io }).context("loading the dataset");
        assert_eq!(
            error_chain(&err),
            "loading the dataset: data.npz: no such file"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_chain(&plain), "outer: inner");
    }
}
