//! `latentdyn data …`: generate and inspect synthetic spiking datasets,
//! import the study's files and NWB 2 recordings.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use latentdyn_data::{
    file_sha256, import_nwb, load_data_file, Data, DatasetRef, DatasetSpec, Heldout, ImportOptions,
    Provenance, Recording, SystemKind,
};

use super::common::{generate_specs, one_line};

/// `latentdyn data` subcommands.
#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Generate datasets: study presets, or any system and size you ask for.
    Generate(GenerateArgs),
    /// Print a dataset's metadata and statistics.
    Show(ShowArgs),
    /// Import a file into latentdyn's `.npz` + `.json`, recording the
    /// source and its SHA-256: an NWB 2 recording (`.nwb`: binned into
    /// trials, with held-out units, behaviour and conditions) or a dataset
    /// in the study's HDF5 layout.
    Import(ImportArgs),
}

/// Arguments of `latentdyn data import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The file: an NWB 2 recording (`.nwb`), the study's `.h5` (e.g. its
    /// `datasets/Arneodo10_2000S_70T_35P_0seed_poisson.h5`) or `study:<preset>`.
    file: String,
    /// NWB: bin width in ms.
    #[arg(long, default_value_t = 20.0)]
    bin_ms: f64,
    /// NWB: the Trials table's column the windows are aligned on (seconds),
    /// e.g. move_onset_time [default: start_time].
    #[arg(long)]
    align: Option<String>,
    /// NWB: the window around the alignment time in ms, START:END (e.g.
    /// `--window=-250:450`; a whole number of bins) [default: 0:700].
    #[arg(long, allow_hyphen_values = true)]
    window: Option<String>,
    /// NWB: hold out the units whose boolean Units column of this name is true.
    #[arg(long, conflicts_with = "heldout")]
    heldout_column: Option<String>,
    /// NWB: hold out this many units drawn at random (seeded by --heldout-seed).
    #[arg(long)]
    heldout: Option<usize>,
    /// NWB: seed of the held-out draw.
    #[arg(long, default_value_t = 0)]
    heldout_seed: u64,
    /// NWB: a behaviour TimeSeries to resample at the bin centres, e.g.
    /// processing/behavior/hand_kinematics/hand_vel.
    #[arg(long)]
    behavior: Option<String>,
    /// NWB: the Trials table's column with each trial's condition (integers).
    #[arg(long)]
    condition: Option<String>,
    /// NWB: seed of the train / valid / test split (64 / 16 / 20 %).
    #[arg(long, default_value_t = 0)]
    split_seed: u64,
    /// NWB: the recording's name (the output files' stem) [default: the file's stem].
    #[arg(long)]
    name: Option<String>,
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
fn load_ref(data: &str, datasets: &Path) -> Result<Data> {
    let r = DatasetRef::parse(data)?;
    match latentdyn_experiments::analyse::locate(&r, datasets)? {
        Some(path) => {
            load_data_file(&path).with_context(|| format!("reading dataset {}", path.display()))
        }
        None => {
            let spec = r.preset_spec().context("a preset has a spec")?;
            let mut found = generate_specs(std::slice::from_ref(&spec), datasets, false)?;
            Ok(Data::Synthetic(found.remove(0).1))
        }
    }
}

/// `START:END` in ms.
fn parse_window(s: &str) -> Result<(f64, f64)> {
    let (a, b) = s
        .split_once(':')
        .with_context(|| format!("--window {s}: expected START:END in ms, e.g. -250:450"))?;
    let num = |v: &str| {
        v.trim()
            .parse::<f64>()
            .with_context(|| format!("--window {s}: `{v}` is not a number of ms"))
    };
    Ok((num(a)?, num(b)?))
}

fn import_recording(args: &ImportArgs, path: &Path) -> Result<()> {
    let window_ms = match &args.window {
        Some(w) => parse_window(w)?,
        None => (0.0, 700.0),
    };
    let heldout = match (&args.heldout_column, args.heldout) {
        (Some(name), _) => Heldout::Column { name: name.clone() },
        (None, Some(count)) => Heldout::Random {
            count,
            seed: args.heldout_seed,
        },
        (None, None) => Heldout::None,
    };
    let opts = ImportOptions {
        bin_ms: args.bin_ms,
        align: args.align.clone().unwrap_or_else(|| "start_time".into()),
        window_ms,
        heldout,
        behavior: args.behavior.clone(),
        condition: args.condition.clone(),
        split_seed: args.split_seed,
    };
    let started = std::time::Instant::now();
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("binning units [{bar:30}] {pos}/{len} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let binned = import_nwb(path, &opts, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("importing {}", path.display()))?;
    bar.finish_and_clear();
    let provenance = Provenance {
        source: args.file.clone(),
        sha256: file_sha256(path)?,
        format: "NWB 2 (HDF5)".into(),
    };
    let name = args.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map_or_else(|| "recording".into(), |s| s.to_string_lossy().into_owned())
    });
    let summary = binned.summary.clone();
    let rec = Recording::from_nwb(binned, &name, &opts, provenance)?;
    let written = rec
        .save(&args.out)
        .with_context(|| format!("writing to {}", args.out.display()))?;
    println!("{}", rec.summary());
    println!(
        "  spikes           {} in the file, {} binned, {} outside every trial (ignored)",
        summary.spikes_total, summary.spikes_binned, summary.spikes_outside_trials
    );
    if !summary.silent_units.is_empty() {
        eprintln!(
            "warning: {} unit(s) without a spike in the file (kept): {:?}",
            summary.silent_units.len(),
            summary.silent_units
        );
    }
    println!(
        "  from             {} (sha256 {})",
        args.file,
        rec.metadata.provenance.as_ref().map_or("", |p| &p.sha256)
    );
    println!(
        "  to               {} (+ .json) in {:.2} s",
        written.display(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "train on it with: latentdyn train --data {} --model node --latent 6",
        written.display()
    );
    Ok(())
}

fn import(args: &ImportArgs) -> Result<()> {
    let path = PathBuf::from(&args.file);
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("nwb"))
    {
        return import_recording(args, &path);
    }
    let data = load_ref(&args.file, &args.datasets)?;
    let Data::Synthetic(ds) = data else {
        bail!(
            "{} is a recording in latentdyn's format already: nothing to import",
            args.file
        );
    };
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
    println!("{}", super::common::wrap(&one_line(&ds)));
    println!("  from   {}", p.source);
    println!("  sha256 {}", p.sha256);
    println!("  to     {} (+ .json)", written.display());
    println!(
        "train on it with: latentdyn train --data {}",
        written.display()
    );
    Ok(())
}

fn show(args: &ShowArgs) -> Result<()> {
    let ds = match load_ref(&args.file, &args.datasets)? {
        Data::Synthetic(ds) => ds,
        Data::Recording(rec) => {
            let summary = rec.summary();
            if args.json {
                let value = serde_json::json!({ "metadata": rec.metadata, "summary": summary });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!("{summary}");
                if let Some(p) = &rec.metadata.provenance {
                    println!("  source           {}", p.source);
                    println!("  source sha256    {}", p.sha256);
                }
                println!("(--json for the import's options and counts)");
            }
            return Ok(());
        }
    };
    let summary = ds.summary();
    if args.json {
        let value = serde_json::json!({ "metadata": ds.metadata, "summary": summary });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{summary}");
        let m = &ds.metadata;
        // The system's name and parameters, as its JSON has them.
        let system = serde_json::to_value(m.system)?;
        let params = system["parameters"]
            .as_object()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let name = system["system"].as_str().unwrap_or("?");
        println!(
            "{}",
            super::common::wrap(&format!("  system           {name} ({params})"))
        );
        println!(
            "  sampling         {} points per period, dt {:.4} ({} points)",
            m.sampling.pts_per_period, m.sampling.dt_actual, m.sampling.n_points
        );
        println!(
            "  integrator       {}, rtol {:e}, atol {:e}",
            m.integrator.method, m.integrator.rtol, m.integrator.atol
        );
        println!("  seed             {}", m.seeds.seed);
        if let Some(p) = &m.provenance {
            println!("  source           {}", p.source);
            println!("  source sha256    {}", p.sha256);
        }
        println!("(--json for everything: seeds' streams, latents' scaling, the spec)");
    }
    Ok(())
}
