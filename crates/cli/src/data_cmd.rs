//! `latentdyn data …`: generate and inspect synthetic spiking datasets.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use latentdyn_data::{generate_with_progress, Dataset, DatasetSpec, SystemKind};
use rayon::prelude::*;

/// `latentdyn data` subcommands.
#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Generate datasets: study presets, or any system and size you ask for.
    Generate(GenerateArgs),
    /// Print a dataset's metadata and statistics.
    Show(ShowArgs),
}

/// Arguments of `latentdyn data generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Study preset(s): arneodo, lorenz, rossler, arneodo100, mackeyglass100,
    /// macarthur100, or `all`. Other flags override the preset's fields.
    #[arg(long, value_delimiter = ',')]
    preset: Vec<String>,
    /// System to simulate (arneodo, lorenz, rossler, mackeyglass, macarthur).
    #[arg(long)]
    system: Option<SystemKind>,
    /// Number of neurons (channels).
    #[arg(long)]
    obs_dim: Option<usize>,
    /// Number of trials.
    #[arg(long)]
    n_samples: Option<usize>,
    /// Bins per trial.
    #[arg(long)]
    n_timesteps: Option<usize>,
    /// Samples per period of the attractor.
    #[arg(long)]
    pts_per_period: Option<usize>,
    /// Seed of the readout, spikes and split.
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory.
    #[arg(long, default_value = "datasets")]
    out: PathBuf,
    /// Regenerate even if a valid file with the same name exists.
    #[arg(long)]
    force: bool,
}

/// Arguments of `latentdyn data show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A dataset's `.npz` or `.json` file.
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs a `latentdyn data` subcommand.
pub fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Generate(args) => generate(args),
        DataCommand::Show(args) => show(&args),
    }
}

fn generate(args: GenerateArgs) -> Result<()> {
    let specs = specs_from_args(&args)?;
    generate_specs(&specs, &args.out, args.force)?;
    Ok(())
}

/// Resolves the flags into dataset specs: presets with overrides, or one
/// custom spec built from `--system`.
fn specs_from_args(args: &GenerateArgs) -> Result<Vec<DatasetSpec>> {
    let mut specs = if args.preset.is_empty() {
        let Some(system) = args.system else {
            bail!("give --preset NAME (or `all`) or --system NAME");
        };
        vec![DatasetSpec::new(system, args.obs_dim.unwrap_or(10))]
    } else {
        resolve_presets(&args.preset)?
    };
    for spec in &mut specs {
        if let Some(v) = args.system {
            spec.system = v;
        }
        if let Some(v) = args.obs_dim {
            spec.obs_dim = v;
        }
        if let Some(v) = args.n_samples {
            spec.n_samples = v;
        }
        if let Some(v) = args.n_timesteps {
            spec.n_timesteps = v;
        }
        if let Some(v) = args.pts_per_period {
            spec.pts_per_period = v;
        }
        if let Some(v) = args.seed {
            spec.seed = v;
        }
        spec.validate()
            .with_context(|| format!("invalid dataset {}", spec.name()))?;
    }
    Ok(specs)
}

/// Preset names (or `all`) to specs, with a clear error for unknown names.
fn resolve_presets(names: &[String]) -> Result<Vec<DatasetSpec>> {
    let mut specs = Vec::new();
    for name in names {
        if name == "all" {
            specs.extend(DatasetSpec::study_presets().into_iter().map(|(_, s)| s));
        } else {
            specs.push(DatasetSpec::preset(name)?);
        }
    }
    Ok(specs)
}

/// Generates `specs` in parallel with one progress bar each and prints a
/// one-line summary per dataset. Existing valid files are kept unless `force`.
pub fn generate_specs(specs: &[DatasetSpec], dir: &Path, force: bool) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let multi = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:>40} [{bar:30}] {percent:>3}% {elapsed}")
        .expect("valid template")
        .progress_chars("=> ");
    let results: Vec<Result<PathBuf>> = specs
        .par_iter()
        .map(|spec| {
            let name = spec.name();
            let path = dir.join(format!("{name}.npz"));
            if !force && path.exists() {
                match Dataset::load(&path) {
                    Ok(ds) if ds.spec == *spec => {
                        multi.suspend(|| println!("{name}: up to date ({})", path.display()));
                        return Ok(path);
                    }
                    Ok(_) => multi.suspend(|| eprintln!("{name}: metadata differ, regenerating")),
                    Err(e) => multi.suspend(|| eprintln!("{name}: unreadable ({e}), regenerating")),
                }
            }
            let bar = multi.add(ProgressBar::new(1000));
            bar.set_style(style.clone());
            bar.set_prefix(name.clone());
            bar.enable_steady_tick(Duration::from_millis(200));
            let started = Instant::now();
            let ds = generate_with_progress(spec, &|f| bar.set_position((f * 1000.0) as u64))
                .with_context(|| format!("generating {name}"))?;
            let written = ds
                .save(dir)
                .with_context(|| format!("writing {name} to {}", dir.display()))?;
            bar.finish_and_clear();
            let line = format!(
                "{}  ({:.2} s) -> {}",
                one_line(&ds),
                started.elapsed().as_secs_f64(),
                written.display()
            );
            // Printed outside the bars, so it also shows when stdout is not a terminal.
            multi.suspend(|| println!("{line}"));
            Ok(written)
        })
        .collect();
    results.into_iter().collect()
}

/// `name: S×T×C spikes, mean count m, latent dim d`.
fn one_line(ds: &Dataset) -> String {
    let (s, t, c) = ds.spikes.dim();
    let n = ds.spikes.len().max(1) as f64;
    let mean = ds.spikes.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    format!(
        "{}: {s}×{t}×{c} spikes, mean count {mean:.3} per bin, latent dim {}",
        ds.spec.name(),
        ds.latents.dim().2
    )
}

fn show(args: &ShowArgs) -> Result<()> {
    let ds = Dataset::load(&args.file)
        .with_context(|| format!("reading dataset {}", args.file.display()))?;
    let summary = ds.summary();
    if args.json {
        let value = serde_json::json!({ "metadata": ds.metadata, "summary": summary });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{}", one_line(&ds));
        println!("{summary}");
        println!("metadata:");
        println!("{}", serde_json::to_string_pretty(&ds.metadata)?);
    }
    Ok(())
}
