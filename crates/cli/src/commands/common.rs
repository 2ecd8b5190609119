//! What more than one subcommand uses: datasets generated with progress
//! bars (`data generate`, and `train` and `eval` when a run's dataset is
//! missing), a run's dataset loaded (`train`, `eval`), and fixed points'
//! alignment printed (`fixed-points`, `eval`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use latentdyn_analysis::AlignmentSummary;
use latentdyn_data::{Data, Dataset, DatasetSpec};
use latentdyn_experiments::analyse::{ensure_dataset_with, Ensured};
use latentdyn_train::RunConfig;
use rayon::prelude::*;

/// Generates `specs` in parallel with one progress bar each and prints a
/// one-line summary per dataset. Existing valid files are kept unless
/// `force`. The datasets come back loaded, in the order of `specs`.
pub fn generate_specs(
    specs: &[DatasetSpec],
    dir: &Path,
    force: bool,
) -> Result<Vec<(PathBuf, Dataset)>> {
    let multi = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:>40} [{bar:30}] {percent:>3}% {elapsed}")
        .expect("valid template")
        .progress_chars("=> ");
    let results: Vec<Result<(PathBuf, Dataset)>> = specs
        .par_iter()
        .map(|spec| {
            let name = spec.name();
            let path = dir.join(format!("{name}.npz"));
            // The bar appears once generation starts (not for a file found).
            let bar = std::sync::OnceLock::<ProgressBar>::new();
            let started = Instant::now();
            let progress = |f: f64| {
                bar.get_or_init(|| {
                    let b = multi.add(ProgressBar::new(1000));
                    b.set_style(style.clone());
                    b.set_prefix(name.clone());
                    b.enable_steady_tick(Duration::from_millis(200));
                    b
                })
                .set_position((f * 1000.0) as u64)
            };
            let (ds, how) = ensure_dataset_with(spec, dir, force, &progress)
                .with_context(|| format!("generating {name} in {}", dir.display()))?;
            if let Some(b) = bar.get() {
                b.finish_and_clear();
            }
            let line = match how {
                Ensured::Found => format!("up to date: {}", path.display()),
                Ensured::Generated { why } => {
                    if let Some(why) = why {
                        multi.suspend(|| eprintln!("{name}: regenerated: {why}"));
                    }
                    wrap(&format!(
                        "{} ({:.2} s) -> {}",
                        one_line(&ds),
                        started.elapsed().as_secs_f64(),
                        path.display()
                    ))
                }
            };
            // Printed outside the bars, so it also shows when stdout is not a terminal.
            multi.suspend(|| println!("{line}"));
            Ok((path, ds))
        })
        .collect();
    results.into_iter().collect()
}

/// The dataset a run trains on, loaded: its file (whose SHA-256 must be the
/// run's) or its spec's generated dataset (generated with progress bars
/// when missing).
pub fn load_run_data(cfg: &RunConfig, dir: &Path) -> Result<Data> {
    if let (None, Some(spec)) = (&cfg.data_file, cfg.dataset.synthetic()) {
        // Loaded (or generated) once, with a progress bar.
        let mut found = generate_specs(std::slice::from_ref(spec), dir, false)?;
        return Ok(Data::Synthetic(found.remove(0).1));
    }
    latentdyn_experiments::analyse::load_run_dataset(cfg, dir)
        .with_context(|| format!("loading the dataset of run {}", cfg.run_name()))
}

/// `name: S×T×C spikes, mean count m, latent dim d`.
pub fn one_line(ds: &Dataset) -> String {
    let (s, t, c) = ds.spikes.dim();
    let n = ds.spikes.len().max(1) as f64;
    let mean = ds.spikes.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    format!(
        "{}: {s}×{t}×{c} spikes, mean count {mean:.3} per bin, latent dim {}",
        ds.spec.name(),
        ds.latents.dim().2
    )
}

/// Up to five coordinates, signed, to four decimals: `(+0.1234, -1.0000, …)`.
pub fn fmt_vec(v: &[f64]) -> String {
    let shown: Vec<String> = v.iter().take(5).map(|x| format!("{x:+.4}")).collect();
    let more = if v.len() > 5 { ", …" } else { "" };
    format!("({}{more})", shown.join(", "))
}

/// Prints the matched pairs and the missing / spurious counts.
pub fn print_alignment(s: &AlignmentSummary) {
    println!(
        "{}",
        wrap(&format!(
            "alignment (match radius {:.3} in true units): {} matched, {} missing, {} spurious",
            s.max_distance,
            s.pairs.len(),
            s.missing.len(),
            s.spurious.len()
        ))
    );
    for p in &s.pairs {
        println!(
            "{}",
            wrap(&format!(
                "  truth #{} ↔ model #{}: location error {:.4}, eigenvalue error {:.4}, \
                 mapped {}",
                p.truth,
                p.model,
                p.location_error,
                p.eigenvalue_error,
                fmt_vec(&p.mapped_location)
            ))
        );
    }
}

/// The width terminal output is wrapped to.
pub const COLUMNS: usize = 80;

/// `text` wrapped at word boundaries to [`COLUMNS`]: a line that fits is
/// kept as it is; a longer one keeps its indent, and its continuation lines
/// are indented two more. A word longer
/// than the width stays whole on its own line.
pub fn wrap(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.chars().count() <= COLUMNS {
            // Fits: kept as it is, its spacing included.
            out.push_str(line);
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let mut current = line[..indent].to_owned();
        let mut width = indent;
        let mut first_word = true;
        for word in line.split_whitespace() {
            let w = word.chars().count();
            if !first_word && width + 1 + w > COLUMNS {
                out.push_str(&current);
                out.push('\n');
                current = " ".repeat(indent + 2);
                width = indent + 2;
                first_word = true;
            }
            if !first_word {
                current.push(' ');
                width += 1;
            }
            current.push_str(word);
            width += w;
            first_word = false;
        }
        out.push_str(&current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_lines_within_the_width_and_their_indent() {
        let long = format!("  ✓ (i) {}", "word ".repeat(40));
        let wrapped = wrap(&format!("short\n{long}"));
        let lines: Vec<&str> = wrapped.lines().collect();
        assert_eq!(lines[0], "short");
        assert!(lines[1].starts_with("  ✓ (i) word"));
        assert!(lines[2..].iter().all(|l| l.starts_with("    word")));
        assert!(
            lines.iter().all(|l| l.chars().count() <= COLUMNS),
            "{wrapped}"
        );
        // Nothing lost.
        assert_eq!(
            wrapped.split_whitespace().count(),
            format!("short {long}").split_whitespace().count()
        );
        assert_eq!(wrap("x".repeat(100).as_str()), "x".repeat(100));
        assert_eq!(wrap("  a      b"), "  a      b");
    }
}
