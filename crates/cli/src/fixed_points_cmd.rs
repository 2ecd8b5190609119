//! `latentdyn fixed-points`: fixed points of a trained run's latent dynamics
//! (matched to the true system's), or of a true system alone.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use latentdyn_analysis::{
    align_fixed_points, find_fixed_points, AffineMap, AlignmentSummary, FinderConfig,
    FixedPointSearch, Flow, NODE_BIN_DT,
};
use latentdyn_data::DatasetSpec;
use latentdyn_models::{array3_to_tensor, tensor_to_array3};
use latentdyn_train::{files, load_run};
use ndarray::{Array2, Axis};
use serde::Serialize;
use tch::Device;

use crate::train_cmd::load_or_generate;

/// Arguments of `latentdyn fixed-points`.
#[derive(Args, Debug)]
pub struct FixedPointsArgs {
    /// A run directory (config.json and best.safetensors); writes fixed_points.json there.
    #[arg(required_unless_present = "system", conflicts_with = "system")]
    run: Option<PathBuf>,
    /// A true system instead of a run: arneodo, lorenz or rossler (the study's dataset preset).
    #[arg(long)]
    system: Option<String>,
    /// Where datasets are looked up and generated.
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
    /// Seed of the starting states.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Fixed points of a true system.
#[derive(Debug, Serialize)]
pub struct SystemFixedPoints {
    /// The dataset preset whose trajectory gave the starts.
    pub dataset: String,
    /// Time per bin used for the one-bin map.
    pub dt: f64,
    /// The search.
    pub truth: FixedPointSearch,
}

/// Everything `fixed_points.json` holds for a run.
#[derive(Debug, Serialize)]
pub struct RunFixedPoints {
    /// The run's name.
    pub run: String,
    /// The dataset's name.
    pub dataset: String,
    /// The model's fixed points.
    pub model: FixedPointSearch,
    /// The true system's, when it has a vector field here.
    pub truth: Option<FixedPointSearch>,
    /// The model's points matched to the truth.
    pub alignment: Option<AlignmentSummary>,
    /// Weights `[L, true dim]` of the inferred → true affine map.
    pub to_true_weights: Option<Vec<Vec<f64>>>,
    /// Bias of that map.
    pub to_true_bias: Option<Vec<f64>>,
}

/// What the figures and the alignment need from a run, in memory.
pub struct RunAnalysis {
    /// The saved record.
    pub record: RunFixedPoints,
    /// Inferred latents, `[samples·time, L]`.
    pub inferred: Array2<f64>,
    /// True latents, `[samples·time, true dim]`.
    pub true_latents: Array2<f64>,
    /// Time steps per trial.
    pub steps: usize,
    /// Inferred → true map.
    pub to_true: Option<AffineMap>,
}

fn flatten(a: &ndarray::Array3<f64>) -> Array2<f64> {
    let (s, t, l) = a.dim();
    Array2::from_shape_fn((s * t, l), |(i, j)| a[[i / t, i % t, j]])
}

/// Loads a run (an f64 copy of its best checkpoint), finds its fixed points
/// and the true system's, and aligns them.
pub fn analyse_run(run_dir: &Path, datasets: &Path, seed: u64) -> Result<RunAnalysis> {
    let mut run = load_run(run_dir, files::BEST, Device::Cpu)
        .with_context(|| format!("loading {}", run_dir.display()))?;
    run.vs.double();
    let data = load_or_generate(&run.config.dataset, datasets)?;
    if data.spikes.dim().2 as i64 != run.model.channels() {
        bail!(
            "{}: the model reads {} channels but dataset {} has {}",
            run_dir.display(),
            run.model.channels(),
            data.spec.name(),
            data.spikes.dim().2
        );
    }
    let steps = data.spikes.dim().1;
    let spikes = data.spikes.mapv(f64::from);
    let latents = tch::no_grad(|| -> Result<ndarray::Array3<f64>> {
        let mut parts = Vec::new();
        for chunk in spikes.axis_chunks_iter(Axis(0), 500) {
            let t = array3_to_tensor(chunk, Device::Cpu)?;
            let out = run.model.forward_t(&t, false)?;
            parts.push(tensor_to_array3(&out.latents)?);
        }
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        Ok(ndarray::concatenate(Axis(0), &views)?)
    })
    .with_context(|| format!("inferring the latents of {}", run_dir.display()))?;
    let inferred = flatten(&latents);
    if inferred.iter().any(|v| !v.is_finite()) {
        bail!("{}: the model's latents are not finite", run_dir.display());
    }
    let true_latents = flatten(&data.latents);
    let cfg = FinderConfig {
        seed,
        ..FinderConfig::default()
    };
    let flow = Flow::of_dynamics(run.model.dynamics.as_ref(), NODE_BIN_DT)?;
    let model = find_fixed_points(&flow, inferred.view(), &cfg)
        .with_context(|| format!("fixed points of {}", run_dir.display()))?;
    let system = data.metadata.system;
    let dt = data.metadata.sampling.dt_actual;
    let (truth, alignment, to_true) = match Flow::of_system(system, dt) {
        Ok(tflow) => {
            let tcfg = FinderConfig {
                seed,
                ..FinderConfig::true_system()
            };
            let truth = find_fixed_points(&tflow, true_latents.view(), &tcfg)?;
            let to_true = AffineMap::fit(inferred.view(), true_latents.view())?;
            let align = align_fixed_points(
                &model.points,
                &truth.points,
                &to_true,
                match_radius(&true_latents),
            )?;
            (Some(truth), Some(align), Some(to_true))
        }
        Err(_) => (None, None, None),
    };
    let record = RunFixedPoints {
        run: run.config.run_name(),
        dataset: data.spec.name(),
        model,
        truth,
        alignment,
        to_true_weights: to_true
            .as_ref()
            .map(|m| m.weights.outer_iter().map(|r| r.to_vec()).collect()),
        to_true_bias: to_true.as_ref().map(|m| m.bias.to_vec()),
    };
    Ok(RunAnalysis {
        record,
        inferred,
        true_latents,
        steps,
        to_true,
    })
}

/// Model points farther than 10 % of the true attractor's RMS radius from a
/// true point do not match it.
pub fn match_radius(true_latents: &Array2<f64>) -> f64 {
    let mean = true_latents.mean_axis(Axis(0));
    let n = true_latents.nrows().max(1) as f64;
    let ms = match mean {
        Some(m) => (true_latents - &m).mapv(|v| v * v).sum() / n,
        None => 0.0,
    };
    0.1 * ms.sqrt()
}

/// `latentdyn fixed-points`.
pub fn run(args: FixedPointsArgs) -> Result<()> {
    if let Some(name) = &args.system {
        return run_system(name, &args);
    }
    let Some(run_dir) = &args.run else {
        bail!("give a run directory or --system NAME");
    };
    let a = analyse_run(run_dir, &args.datasets, args.seed)?;
    let json = serde_json::to_string_pretty(&a.record)?;
    let out = run_dir.join("fixed_points.json");
    latentdyn_train::io::atomic_write(&out, format!("{json}\n").as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    if args.json {
        println!("{json}");
        return Ok(());
    }
    println!("{} on {}", a.record.run, a.record.dataset);
    print_search("model", &a.record.model);
    if let Some(t) = &a.record.truth {
        print_search("truth", t);
    }
    if let Some(s) = &a.record.alignment {
        print_alignment(s);
    }
    println!("wrote {}", out.display());
    Ok(())
}

fn run_system(name: &str, args: &FixedPointsArgs) -> Result<()> {
    let spec = DatasetSpec::preset(name)?;
    let data =
        latentdyn_data::generate(&spec).with_context(|| format!("simulating {}", spec.name()))?;
    let dt = data.metadata.sampling.dt_actual;
    let flow = Flow::of_system(data.metadata.system, dt)?;
    let cfg = FinderConfig {
        seed: args.seed,
        ..FinderConfig::true_system()
    };
    let truth = find_fixed_points(&flow, flatten(&data.latents).view(), &cfg)?;
    let out = SystemFixedPoints {
        dataset: spec.name(),
        dt,
        truth,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{} (dt = {dt})", out.dataset);
        print_search("truth", &out.truth);
    }
    Ok(())
}

fn fmt_vec(v: &[f64]) -> String {
    let shown: Vec<String> = v.iter().take(5).map(|x| format!("{x:+.4}")).collect();
    let more = if v.len() > 5 { ", …" } else { "" };
    format!("({}{more})", shown.join(", "))
}

/// Prints a search as a table.
pub fn print_search(label: &str, s: &FixedPointSearch) {
    println!(
        "{label}: {} fixed point(s) in {:.2} s (L = {}, {} of {} starts accepted after Newton, {} by Adam alone)",
        s.points.len(),
        s.seconds,
        s.dim,
        s.refined_accepted,
        s.config.n_starts,
        s.adam_accepted
    );
    println!(
        "  {:>2} {:<40} {:>9} {:<8} {:>3}  leading eigenvalues (one bin)",
        "#", "location", "q", "class", "uns"
    );
    for (i, p) in s.points.iter().enumerate() {
        let eig: Vec<String> = p
            .eigenvalues
            .iter()
            .take(3)
            .map(|e| format!("{:.4}{:+.4}i", e.re, e.im))
            .collect();
        println!(
            "  {:>2} {:<40} {:>9.1e} {:<8} {:>3}  {}",
            i,
            fmt_vec(&p.location),
            p.q,
            format!("{:?}", p.stability.class).to_lowercase(),
            p.stability.unstable,
            eig.join("  ")
        );
    }
}

/// Prints the matched pairs and the missing / spurious counts.
pub fn print_alignment(s: &AlignmentSummary) {
    println!(
        "alignment (match radius {:.3} in true units): {} matched, {} missing, {} spurious",
        s.max_distance,
        s.pairs.len(),
        s.missing.len(),
        s.spurious.len()
    );
    for p in &s.pairs {
        println!(
            "  truth #{} ↔ model #{}: location error {:.4}, eigenvalue error {:.4}, mapped {}",
            p.truth,
            p.model,
            p.location_error,
            p.eigenvalue_error,
            fmt_vec(&p.mapped_location)
        );
    }
}

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
pub fn run_figures(args: FiguresArgs) -> Result<()> {
    use latentdyn_experiments::figures;
    let a = analyse_run(&args.run, &args.datasets, 0)?;
    let out = args.out.clone().unwrap_or_else(|| args.run.join("figures"));
    let empty = Vec::new();
    let fig = figures::RunFigures {
        title: &a.record.run,
        inferred: a.inferred.view(),
        true_latents: a.true_latents.view(),
        steps: a.steps,
        model_points: &a.record.model.points,
        true_points: a.record.truth.as_ref().map_or(&empty, |t| &t.points),
        to_true: a.to_true.as_ref(),
        trials: args.trials,
    };
    let mut written = figures::trajectories(&fig, &out)?;
    written.extend(figures::eigenvalues(&fig, &out)?);
    // A fresh f64 copy of the model for the flow (analysis never mutates the caller's).
    let mut run = load_run(&args.run, files::BEST, Device::Cpu)?;
    run.vs.double();
    let flow = Flow::of_dynamics(run.model.dynamics.as_ref(), NODE_BIN_DT)?;
    let velocity = |x: &Array2<f64>| -> Result<Array2<f64>, latentdyn_analysis::AnalysisError> {
        tch::no_grad(|| flow.residual_array(x))
    };
    written.extend(figures::flow_field(&fig, &velocity, &out)?);
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}
