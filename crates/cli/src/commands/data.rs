//! `latentdyn data …`: generate and inspect synthetic spiking datasets.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use latentdyn_data::{load_dataset_file, Dataset, DatasetRef, DatasetSpec, SystemKind};

use super::common::{generate_specs, one_line};

/// `latentdyn data` subcommands.
#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Generate datasets: study presets, or any system and size you ask for.
    Generate(GenerateArgs),
    /// Print a dataset's metadata and statistics.
    Show(ShowArgs),
    /// Import a dataset file (the study's HDF5 layout) into latentdyn's
    /// `.npz` + `.json`, recording the source file and its SHA-256.
    Import(ImportArgs),
}

/// Arguments of `latentdyn data import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The file: the study's `.h5` (e.g. its `datasets/Arneodo10_2000S_70T_35P_0seed_poisson.h5`)
    /// or `study:<preset>`.
    file: String,
    /// Output directory (kept apart from generated datasets, which share
    /// the study's names).
    #[arg(long, default_value = "datasets/imported")]
    out: PathBuf,
    /// Where `study:<preset>` files are looked up (`<dir>/study/`, or
    /// `$LATENTDYN_STUDY_DATASETS`).
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
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
    /// A dataset: a `.npz` / `.json` file, the study's `.h5`, a study
    /// preset (arneodo, …; generated into `--datasets` when missing) or
    /// `study:<preset>`.
    file: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Where presets and `study:` files are looked up.
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
}

/// Runs a `latentdyn data` subcommand.
pub fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Generate(args) => generate(args),
        DataCommand::Show(args) => show(&args),
        DataCommand::Import(args) => import(&args),
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

/// Loads any dataset reference: a file (by extension), `study:<preset>` or
/// a preset (generated into `datasets` when missing).
fn load_ref(data: &str, datasets: &Path) -> Result<Dataset> {
    let r = DatasetRef::parse(data)?;
    match latentdyn_experiments::analyse::locate(&r, datasets)? {
        Some(path) => {
            load_dataset_file(&path).with_context(|| format!("reading dataset {}", path.display()))
        }
        None => {
            let spec = r.preset_spec().context("a preset has a spec")?;
            let mut found = generate_specs(std::slice::from_ref(&spec), datasets, false)?;
            Ok(found.remove(0).1)
        }
    }
}

fn import(args: &ImportArgs) -> Result<()> {
    let ds = load_ref(&args.file, &args.datasets)?;
    if ds.metadata.provenance.is_none() {
        bail!(
            "{} is latentdyn's own format already: nothing to import",
            args.file
        );
    }
    let written = ds
        .save(&args.out)
        .with_context(|| format!("writing to {}", args.out.display()))?;
    let p = ds.metadata.provenance.as_ref().expect("checked");
    println!("{}", one_line(&ds));
    println!("  from   {} (sha256 {})", p.source, p.sha256);
    println!("  to     {} (+ .json)", written.display());
    println!(
        "train on it with: latentdyn train --data {}",
        written.display()
    );
    Ok(())
}

fn show(args: &ShowArgs) -> Result<()> {
    let ds = load_ref(&args.file, &args.datasets)?;
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
