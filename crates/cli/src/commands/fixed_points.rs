//! `latentdyn fixed-points`: fixed points of a trained run's latent dynamics
//! (matched to the true system's), or of a true system alone.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use latentdyn_analysis::{find_fixed_points, FinderConfig, FixedPointSearch, Flow};
use latentdyn_data::DatasetSpec;
use latentdyn_experiments::analyse::{analyse_run, flatten, save_fixed_points};
use serde::Serialize;

use super::common::{fmt_vec, print_alignment, wrap};

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

/// `latentdyn fixed-points`.
pub fn run(args: FixedPointsArgs) -> Result<()> {
    if let Some(name) = &args.system {
        return run_system(name, &args);
    }
    let Some(run_dir) = &args.run else {
        bail!("give a run directory or --system NAME");
    };
    let a = analyse_run(run_dir, &args.datasets, args.seed)
        .with_context(|| format!("fixed points of {}", run_dir.display()))?;
    let out = save_fixed_points(run_dir, &a.record)?;
    if args.json {
        let json = serde_json::to_string_pretty(&a.record)?;
        println!("{json}");
        return Ok(());
    }
    println!("{} on {}", a.record.run, a.record.dataset);
    print_search("model", &a.record.model);
    if let Some(t) = &a.record.truth {
        print_search("truth", t);
    }
    if let Some(s) = &a.record.alignment {
        print_mapped(&a.record, s.max_distance);
        print_alignment(s);
    }
    if let (Some(rates), Some(w)) = (&a.record.per_second, a.record.bin_ms) {
        println!(
            "{}",
            wrap(&format!(
                "no ground truth to match them to; leading eigenvalues as continuous-time \
                 rates ({w} ms bins): growth rate 1/s ± i·angular frequency rad/s (Hz)"
            ))
        );
        for (i, r) in rates.iter().enumerate() {
            let eig: Vec<String> = r
                .iter()
                .take(3)
                .map(|e| {
                    format!(
                        "{:+.2}{:+.2}i ({:.2} Hz)",
                        e.re,
                        e.im,
                        e.im.abs() / std::f64::consts::TAU
                    )
                })
                .collect();
            println!("  {i:>2} {}", eig.join("  "));
        }
    } else if a.record.truth.is_none() {
        println!("no ground truth to match them to");
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

/// The model's points mapped into the true system's coordinates (through
/// the affine map fitted on the latents), each with its nearest true point
/// and that distance in units of the match radius `radius` (≤ 1: a match
/// candidate), so that the model's and the truth's points are compared on
/// one set of axes.
fn print_mapped(r: &latentdyn_experiments::analyse::RunFixedPoints, radius: f64) {
    let (Some(w), Some(b), Some(truth)) = (&r.to_true_weights, &r.to_true_bias, &r.truth) else {
        return;
    };
    println!(
        "{}",
        wrap(&format!(
            "model points in true coordinates (match radius {radius:.3}; distance to the \
             nearest true point in radii):"
        ))
    );
    for (i, p) in r.model.points.iter().enumerate() {
        let mapped: Vec<f64> = (0..b.len())
            .map(|j| {
                b[j] + p
                    .location
                    .iter()
                    .zip(w)
                    .map(|(x, row)| x * row[j])
                    .sum::<f64>()
            })
            .collect();
        let nearest = truth
            .points
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let d = t
                    .location
                    .iter()
                    .zip(&mapped)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
                (k, d)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let near = nearest.map_or_else(
            || "no true point".to_owned(),
            |(k, d)| {
                format!(
                    "truth #{k} at {d:.3} ({:.1} radii)",
                    d / radius.max(f64::MIN_POSITIVE)
                )
            },
        );
        println!("  {i:>2} {:<40} {near}", fmt_vec(&mapped));
    }
}

/// Prints a search as a table in 80 columns: a line per point (class,
/// unstable directions, q, location) and its leading eigenvalues under it.
fn print_search(label: &str, s: &FixedPointSearch) {
    println!(
        "{}",
        wrap(&format!(
            "{label}: {} fixed point(s) in {:.2} s (L = {}, {} of {} starts accepted after \
             Newton, {} by Adam alone)",
            s.points.len(),
            s.seconds,
            s.dim,
            s.refined_accepted,
            s.config.n_starts,
            s.adam_accepted
        ))
    );
    println!(
        "  {:>2} {:<8} {:>3} {:>9}  location (λ: leading one-bin eigenvalues)",
        "#", "class", "uns", "q"
    );
    for (i, p) in s.points.iter().enumerate() {
        let eig: Vec<String> = p
            .eigenvalues
            .iter()
            .take(3)
            .map(|e| format!("{:.4}{:+.4}i", e.re, e.im))
            .collect();
        println!(
            "  {:>2} {:<8} {:>3} {:>9.1e}  {}",
            i,
            format!("{:?}", p.stability.class).to_lowercase(),
            p.stability.unstable,
            p.q,
            fmt_vec(&p.location),
        );
        println!("     λ {}", eig.join("  "));
    }
}
