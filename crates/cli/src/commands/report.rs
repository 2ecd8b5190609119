//! `latentdyn report`: merge grid directories into `results.csv`, the
//! figures and the HTML report, and print the table beside the published
//! values.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::common::wrap;
use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use latentdyn_experiments::report::{ReportEvent, ReportOptions};
use latentdyn_experiments::results::table;

/// Arguments of `latentdyn report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Grid directories (e.g. `runs/paper`, or one per shard machine) to merge.
    #[arg(required_unless_present = "rows")]
    dirs: Vec<PathBuf>,
    /// Where results.csv and report/ go (default: the first directory).
    #[arg(long)]
    out: Option<PathBuf>,
    /// An earlier results.csv whose runs' directories are not here (another
    /// machine's shard, an earlier session's): its rows join the table, the
    /// claims and the summary figures; a run in DIRS replaces its row
    /// (repeatable; among these files a completed row wins, then the later file).
    #[arg(long, value_name = "RESULTS_CSV")]
    rows: Vec<PathBuf>,
    /// Where datasets are looked up (and generated) for the fixed-point analysis.
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
    /// Skip the fixed-point analysis and per-run figures of runs not yet analysed.
    #[arg(long)]
    no_analysis: bool,
}

/// Runs `latentdyn report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let out = match (&args.out, args.dirs.first()) {
        (Some(out), _) => out.clone(),
        (None, Some(first)) => first.clone(),
        (None, None) => anyhow::bail!(
            "--rows without a grid directory needs --out: where results.csv and report/ go"
        ),
    };
    let mut earlier = Vec::new();
    for csv in &args.rows {
        earlier.extend(latentdyn_experiments::results::read_runs_csv(csv)?);
    }
    report_with(&args.dirs, &out, &args.datasets, !args.no_analysis, earlier)
}

/// Analyses finished runs in `dirs` that need it (with a progress bar),
/// writes `<out>/results.csv`, the figures and the report, and prints the
/// table beside the published values (`latentdyn ablate` ends with it).
pub fn report(dirs: &[PathBuf], out: &Path, datasets: &Path, analyse: bool) -> Result<()> {
    report_with(dirs, out, datasets, analyse, Vec::new())
}

/// [`report`], with `rows` of runs whose directories are not in `dirs`.
fn report_with(
    dirs: &[PathBuf],
    out: &Path,
    datasets: &Path,
    analyse: bool,
    rows: Vec<latentdyn_experiments::results::RunRow>,
) -> Result<()> {
    let opts = ReportOptions {
        datasets: datasets.to_path_buf(),
        analyse,
        rows,
    };
    let bar = Mutex::new(None::<ProgressBar>);
    let r = latentdyn_experiments::report::build(dirs, out, &opts, &|event| {
        let mut bar = bar.lock().expect("bar");
        match event {
            ReportEvent::Analysing(0) => {}
            ReportEvent::Analysing(n) => {
                let b = ProgressBar::new(n as u64);
                b.set_style(
                    ProgressStyle::with_template(
                        "[{bar:30}] {pos}/{len} runs: fixed points and figures ({elapsed}, ETA {eta})",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                *bar = Some(b);
            }
            ReportEvent::Analysed(dir, result) => {
                if let Some(b) = bar.as_ref() {
                    b.inc(1);
                    if let Err(e) = result {
                        b.suspend(|| {
                            eprintln!("warning: could not analyse {}: {e}", dir.display())
                        });
                    }
                }
            }
        }
    })?;
    if let Some(b) = bar.lock().expect("bar").take() {
        b.finish_and_clear();
    }
    println!(
        "{}",
        wrap(&format!(
            "what was run: {}",
            latentdyn_experiments::report::what_was_run(&r.rows)
        ))
    );
    println!("the study's claims:");
    for c in &r.claims {
        println!("{}", wrap(&format!("  {}", c.render())));
    }
    print!("{}", wrap(&table(&r.cells)));
    println!();
    println!(
        "{}",
        wrap(&format!(
            "{} runs -> {}; published comparisons: {} within, {} outside",
            r.rows.len(),
            r.csv.display(),
            r.within,
            r.outside
        ))
    );
    if !r.analysis_failures.is_empty() {
        println!(
            "{}",
            wrap(&format!(
                "{} run(s) could not be analysed (see the warnings above); their fixed-point \
                 columns are empty",
                r.analysis_failures.len()
            ))
        );
    }
    println!("report: {}", r.html.display());
    Ok(())
}
