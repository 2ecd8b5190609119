//! `report/index.html`: the results table beside the published values, the
//! study's summary figures, the trajectories, eigenvalues and flow of
//! selected runs, and every run with its fixed points, in one page that
//! opens in a browser without a server (figures are referenced by relative
//! paths and the selected runs' figures are copied next to the page).
//!
//! [`build`] does the whole job for one or more grid directories: it
//! analyses each finished run that has no fresh `fixed_points.json`
//! (fixed points, alignment, figures), writes `results.csv`, the summary
//! figures and the page.

use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::claims::Claim;
use crate::results::{collect, summarise, write_runs_csv, CellSummary, MeanStd, RunRow};
use crate::ExperimentError;
use latentdyn_train::RunStatus;

/// A figure to show: a title and its file (SVG or PNG), relative to the report.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Caption.
    pub title: String,
    /// Path relative to the report's directory.
    pub path: PathBuf,
}

/// A heading and the figures under it.
#[derive(Debug, Clone)]
pub struct Section {
    /// The heading.
    pub heading: String,
    /// One line under the heading.
    pub note: String,
    /// Its figures.
    pub figures: Vec<Figure>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fmt_ms(m: &MeanStd) -> String {
    m.display(3)
}

/// `target` relative to `base` when it lies under `base`'s parent chain
/// (both relative to the same working directory or both absolute), else
/// `target` as given.
fn relative(target: &Path, base: &Path) -> PathBuf {
    let (Ok(t), Ok(b)) = (std::path::absolute(target), std::path::absolute(base)) else {
        return target.to_path_buf();
    };
    let tc: Vec<_> = t.components().collect();
    let bc: Vec<_> = b.components().collect();
    let common = tc.iter().zip(&bc).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return t;
    }
    let mut out = PathBuf::new();
    for _ in common..bc.len() {
        out.push("..");
    }
    for c in &tc[common..] {
        out.push(c);
    }
    out
}

/// The fixed-point cell of the results table: mean matched / true, and
/// mean spurious.
fn fmt_fp_cell(c: &CellSummary) -> String {
    match (c.fp_matched.mean.is_finite(), c.fp_truth) {
        (true, Some(t)) => {
            // Whole counts print whole (one seed); means over seeds keep a decimal.
            let count = |v: f64| {
                if v.fract() == 0.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.1}")
                }
            };
            format!(
                "{} / {t} (+{} spurious)",
                count(c.fp_matched.mean),
                count(c.fp_spurious.mean)
            )
        }
        _ => "—".into(),
    }
}

/// What a set of runs is, in one sentence: how many, on which datasets,
/// which models, latent sizes and seeds, and how long against the study.
pub fn what_was_run(rows: &[RunRow]) -> String {
    fn list<T: Ord + std::fmt::Display + Clone>(v: impl Iterator<Item = T>) -> String {
        let mut v: Vec<T> = v.collect();
        v.sort();
        v.dedup();
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
    if rows.is_empty() {
        return "no runs yet".into();
    }
    let epochs = list(rows.iter().map(|r| r.epochs));
    let study = latentdyn_train::STUDY_EPOCHS;
    let length = if rows.iter().all(|r| r.epochs == study) {
        format!("{study} epochs each, the study's length")
    } else {
        format!("{epochs} epochs each, of the study's {study}")
    };
    let done = rows
        .iter()
        .filter(|r| r.status == RunStatus::Completed)
        .count();
    format!(
        "{} runs ({done} finished): datasets {}; models {}; L ∈ {{{}}}; seeds {{{}}}; {length}",
        rows.len(),
        list(rows.iter().map(|r| r.dataset.clone())),
        list(rows.iter().map(|r| r.model.clone())),
        list(rows.iter().map(|r| r.latent)),
        list(rows.iter().map(|r| r.seed)),
    )
}

/// Why a cell is not compared: shorter than the study, or no run finished.
fn not_comparable(c: &CellSummary) -> String {
    if c.n == 0 {
        return "not comparable: no run finished yet".into();
    }
    format!(
        "not comparable: {} of {} epochs",
        c.epochs,
        latentdyn_train::STUDY_EPOCHS
    )
}

/// What the page's header says beyond the runs: the grids (name and
/// description, from each root's `grid.toml`), when and by what it was made.
#[derive(Debug, Clone, Default)]
pub struct PageHeader {
    /// (name, description) of each grid merged.
    pub grids: Vec<(String, String)>,
    /// The date and time, UTC (`2026-12-01 15:04 UTC`).
    pub made: String,
    /// latentdyn's version.
    pub version: String,
    /// The git commit of the checkout the report was made in, when known.
    pub commit: Option<String>,
}

impl PageHeader {
    /// The header for runs under `roots`, made now.
    pub fn now(roots: &[PathBuf]) -> Self {
        let grids = roots
            .iter()
            .filter_map(|r| crate::grid::Grid::in_root(r))
            .map(|g| (g.name, g.description))
            .collect();
        let commit = std::process::Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|c| !c.is_empty());
        PageHeader {
            grids,
            made: utc_now(),
            version: env!("CARGO_PKG_VERSION").into(),
            commit,
        }
    }
}

/// The current time, UTC, as `YYYY-MM-DD HH:MM UTC` (the civil date from
/// the days since 1970, Howard Hinnant's algorithm).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil(secs)
}

fn civil(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}

/// Whether a cell is one of the study's headline comparisons: GRU or NODE
/// at the dataset's true dimensionality.
fn headline(c: &CellSummary) -> bool {
    crate::plots::true_dim(&c.dataset).is_some_and(|d| d as usize == c.latent)
        && matches!(c.model.as_str(), "gru" | "node" | "node-discrete")
}

/// A figure and its caption, full width, with links to the PNG and the SVG.
fn figure_html(h: &mut String, f: &Figure) {
    let png = f.path.to_string_lossy().into_owned();
    let svg = f.path.with_extension("svg");
    let svg_link = if f.path.extension().is_some_and(|e| e == "png") {
        format!(" <a href=\"{}\">[svg]</a>", esc(&svg.to_string_lossy()))
    } else {
        String::new()
    };
    let _ = writeln!(
        h,
        "<figure><a href=\"{p}\"><img src=\"{p}\" alt=\"{t}\"></a>\
         <figcaption>{t} <a href=\"{p}\">[png]</a>{svg_link}</figcaption></figure>",
        p = esc(&png),
        t = esc(&f.title)
    );
}

/// Writes `<dir>/index.html` (atomically) and returns its path. Every
/// link and image points inside `dir`, so the folder can be moved.
pub fn write_html(
    dir: &Path,
    header: &PageHeader,
    claims: &[Claim],
    cells: &[CellSummary],
    rows: &[RunRow],
    sections: &[Section],
) -> Result<PathBuf, ExperimentError> {
    std::fs::create_dir_all(dir).map_err(|source| ExperimentError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let names: Vec<&str> = header.grids.iter().map(|g| g.0.as_str()).collect();
    let title = if names.is_empty() {
        "latentdyn report".to_owned()
    } else {
        format!("latentdyn report: {}", names.join(" + "))
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title>\n<style>\
         body{{font-family:system-ui,sans-serif;margin:1em auto;max-width:1500px;padding:0 1em;color:#222;line-height:1.4}}\
         .scroll{{overflow-x:auto;max-width:100%}}\
         table{{border-collapse:collapse;margin:0.5em 0;font-size:14px}}\
         th,td{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         th{{background:#f3f3f3}} td.l{{text-align:left}}\
         .ok{{background:#e3f5e1}} .bad{{background:#fbe3e1}} td{{white-space:nowrap}}\
         tr.headline td{{font-weight:600}}\
         .verdict{{border:1px solid #bbb;background:#f8f8f8;padding:0.6em 1em;margin:1em 0}}\
         figure{{margin:1em 0;max-width:100%}}\
         figure img{{max-width:100%;height:auto;border:1px solid #ddd}}\
         figcaption{{font-size:14px;color:#444}}\
         code{{background:#f3f3f3;padding:0 3px}}\
         small.src{{font-weight:normal;color:#666}} p.source{{font-size:14px;color:#444}}\
         </style></head><body>\n<h1>{t}</h1>\n",
        t = esc(&title)
    );
    for (name, description) in &header.grids {
        let _ = writeln!(
            h,
            "<p class=\"grid\"><b>{}</b>: {}</p>",
            esc(name),
            esc(description)
        );
    }
    let _ = writeln!(
        h,
        "<p class=\"what\"><b>What was run:</b> {}.</p>\n<p class=\"made\">Made {} by latentdyn {}{}.</p>",
        esc(&what_was_run(rows)),
        esc(&header.made),
        esc(&header.version),
        header
            .commit
            .as_ref()
            .map_or_else(String::new, |c| format!(" (commit {})", esc(c)))
    );
    // The verdict: published comparisons and claims, in words and glyphs.
    let (mut within, mut outside) = (0, 0);
    for c in cells {
        if let Some(w) = c.within() {
            within += w.iter().filter(|&&b| b).count();
            outside += w.iter().filter(|&&b| !b).count();
        }
    }
    let compared = if within + outside == 0 {
        "no cell is compared with the published values (runs shorter than the study's 3000 \
         epochs, unfinished, or without a published counterpart)"
            .to_owned()
    } else {
        format!(
            "{within} of {} published comparisons within the study's band (✓), {outside} outside (✗)",
            within + outside
        )
    };
    let claim_line: Vec<String> = claims
        .iter()
        .map(|c| format!("{} ({}) {}", c.verdict.glyph(), c.id, c.verdict.words()))
        .collect();
    let _ = writeln!(
        h,
        "<div class=\"verdict\"><b>Verdict:</b> {}.<br><b>Claims:</b> {}.</div>",
        esc(&compared),
        esc(&claim_line.join("; "))
    );
    let _ = write!(
        h,
        "<h2>How to read this page</h2>\n<ul class=\"key\">\
         <li><b>NLL</b>: Poisson negative log-likelihood of the validation spikes, nats per \
         bin and neuron (lower is better). <b>Rate R²</b>: the inferred firing rates against the \
         true ones. <b>State R²</b>: how much of the inferred latent state the true state \
         explains (low when the model has dimensions the truth lacks). Both 1 at best.</li>\
         <li>Numbers are {source}; <i>n</i> is the number of seeds. Fixed points are the best \
         checkpoint's (lowest validation NLL). Column headers say which.</li>\
         <li><b>✓</b> (green): our mean lies within the published mean ± max(2 std, 0.03), the \
         study's matching rule; <b>✗</b> (red): it does not; <b>·</b>: not compared (runs \
         shorter than the study's 3000 epochs); <b>—</b>: nothing to show.</li>\
         <li>Bold rows are the study's headline comparison: GRU against NODE at the true \
         dimensionality. Claims: <b>✓</b> holds, <b>✗</b> fails, <b>?</b> the runs cannot \
         decide it (it says what it needs).</li></ul>\n",
        source = esc(&crate::results::source_note(cells)),
    );
    h.push_str("<h2>The study's claims</h2>\n<ul class=\"claims\">");
    for c in claims {
        let _ = write!(
            h,
            "<li><b>{} ({})</b> {} — <b>{}</b>",
            c.verdict.glyph(),
            c.id,
            esc(c.statement),
            esc(&c.verdict.words())
        );
        if !c.cases.is_empty() {
            h.push_str("<ul>");
            for case in &c.cases {
                let _ = write!(h, "<li>{}</li>", esc(case));
            }
            h.push_str("</ul>");
        }
        h.push_str("</li>\n");
    }
    h.push_str("</ul>\n");
    let synthetic: Vec<&CellSummary> = {
        let mut v: Vec<&CellSummary> = cells.iter().filter(|c| c.recording.is_none()).collect();
        // Headline rows first, in the table's order otherwise.
        v.sort_by_key(|c| !headline(c));
        v
    };
    if !synthetic.is_empty() {
        let _ = write!(
            h,
            "<h2>Results beside the published values</h2>\n<p class=\"source\">Where the \
             numbers come from: {}. Published: the study's mean ± std over its five seeds. \
             Fixed points: each run's best checkpoint (lowest validation NLL), our finder's \
             profile.</p>\n<div class=\"scroll\"><table>\n\
             <tr><th>dataset</th><th>model</th><th>L</th><th>runs</th><th>NLL{w}</th>\
             <th>published</th><th>rate R²{w}</th><th>published</th><th>state R²{w}</th>\
             <th>published</th><th>fixed points matched{b}</th></tr>\n",
            esc(&crate::results::source_note(synthetic.iter().copied())),
            w = SOURCE_WINDOW,
            b = SOURCE_BEST,
        );
    }
    let note = crate::results::basis_note(cells);
    for c in synthetic.iter().copied() {
        let within = c.within();
        let class = |i: usize| match within {
            Some(w) if w[i] => " class=\"ok\"",
            Some(_) => " class=\"bad\"",
            None => "",
        };
        let glyph = |i: usize| match within {
            Some(w) if w[i] => " ✓",
            Some(_) => " ✗",
            None if c.published.is_some() => " ·",
            None => "",
        };
        let p = c.published.as_ref();
        let pubv = |f: fn(&crate::results::Published) -> &MeanStd| match p {
            None => "—".to_owned(),
            Some(p) if c.comparable() => fmt_ms(f(p)),
            // Why it is not compared goes under the table, once.
            Some(p) => fmt_ms(f(p)),
        };
        let dagger = if note.is_some() && c.nll_basis != latentdyn_analysis::NllBasis::Full {
            " †"
        } else {
            ""
        };
        let nll = format!("{}{dagger}{}", fmt_ms(&c.nll), glyph(0));
        let rate = format!("{}{}", fmt_ms(&c.rate_r2), glyph(1));
        let state = format!("{}{}", fmt_ms(&c.state_r2), glyph(2));
        let _ = writeln!(
            h,
            "<tr{}><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}{}</td>\
             <td{}>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td{}>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            if headline(c) {
                " class=\"headline\""
            } else {
                ""
            },
            esc(&c.dataset),
            esc(&crate::plots::model_label(&c.model)),
            c.latent,
            c.n,
            match (c.diverged, c.unfinished) {
                (0, 0) => String::new(),
                (d, 0) => format!(" ({d} diverged)"),
                (0, u) => format!(" ({u} unfinished)"),
                (d, u) => format!(" ({d} diverged, {u} unfinished)"),
            },
            class(0),
            nll,
            pubv(|p| &p.nll),
            class(1),
            rate,
            pubv(|p| &p.rate_r2),
            class(2),
            state,
            pubv(|p| &p.state_r2),
            fmt_fp_cell(c),
        );
    }
    if !synthetic.is_empty() {
        h.push_str("</table></div>\n");
        let mut why: Vec<String> = synthetic
            .iter()
            .filter(|c| c.published.is_some() && !c.comparable())
            .map(|c| not_comparable(c))
            .collect();
        why.sort();
        why.dedup();
        if !why.is_empty() {
            let _ = writeln!(
                h,
                "<p class=\"source\">· {}: the published values are shown for orientation \
                 only.</p>",
                esc(&why.join("; "))
            );
        }
    }
    if let Some(n) = &note {
        let _ = writeln!(h, "<p>{}</p>", esc(n));
    }
    recordings_table(&mut h, cells);
    for s in sections.iter().filter(|s| !s.figures.is_empty()) {
        let _ = writeln!(h, "<h2>{}</h2>\n<p>{}</p>", esc(&s.heading), esc(&s.note));
        for f in &s.figures {
            figure_html(&mut h, f);
        }
    }
    let _ = write!(
        h,
        "<h2>Runs</h2>\n<p class=\"source\">One row per run: its scores are medians over its \
         reporting window (the last validation epochs, as in the tables above); its fixed \
         points are those of its best checkpoint, matched to the true system's.</p>\n\
         <div class=\"scroll\"><table>\n<tr><th>dataset</th><th>model</th><th>L</th><th>seed</th>\
         <th>status</th><th>epochs</th><th>NLL{w}</th><th>rate R²{w}</th><th>state R²{w}</th>\
         <th>latent R²{w}</th><th>fixed points (matched / missing / spurious){b}</th>\
         <th>location error{b}</th><th>eigenvalue error{b}</th><th>wall time</th><th>figures</th></tr>\n",
        w = SOURCE_WINDOW,
        b = SOURCE_BEST,
    );
    for r in rows {
        let fp = r.fixed_points.as_ref();
        let counts = fp.map_or_else(
            || "—".to_owned(),
            |f| match (f.matched, f.missing, f.spurious) {
                (Some(m), Some(mi), Some(sp)) => format!("{} ({m} / {mi} / {sp})", f.model),
                _ => f.model.to_string(),
            },
        );
        let err = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.3}"));
        // Only figures copied into the report are linked (the page stays
        // movable); the others are in the run's own figures/ folder.
        let copied = dir.join("runs").join(run_figure_dir(r));
        let links = FIGURE_STEMS
            .iter()
            .filter(|n| copied.join(format!("{n}.png")).is_file())
            .map(|n| {
                format!(
                    "<a href=\"runs/{}/{n}.png\">{n}</a>",
                    esc(&run_figure_dir(r))
                )
            })
            .collect::<Vec<_>>();
        let links = if links.is_empty() {
            "—".to_owned()
        } else {
            links.join(" ")
        };
        // A recording has no truth: its R² cells say so, and its co-bps
        // stands in the rate R² column's place.
        let (rate, state, latent) = match &r.recording {
            None => (
                format!("{:.4}", r.rate_r2),
                format!("{:.4}", r.state_r2),
                format!("{:.4}", r.latent_r2),
            ),
            Some(rec) => (
                rec.co_bps
                    .map_or_else(|| "—".to_owned(), |v| format!("co-bps {v:.4}")),
                "no truth".to_owned(),
                rec.velocity_r2
                    .map_or_else(|| "—".to_owned(), |v| format!("vel. R² {v:.3}")),
            ),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td>\
             <td class=\"l\">{}</td><td>{}/{}</td><td>{:.4}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0} s</td><td class=\"l\">{}</td></tr>",
            esc(&r.dataset),
            esc(&crate::plots::model_label(&r.model)),
            r.latent,
            r.seed,
            esc(&r.status.to_string()),
            r.epochs_done,
            r.epochs,
            r.nll,
            rate,
            state,
            latent,
            counts,
            err(fp.and_then(|f| f.location_error)),
            err(fp.and_then(|f| f.eigenvalue_error)),
            r.wall_seconds,
            links
        );
    }
    h.push_str("</table></div>\n");
    what_next(&mut h, rows);
    h.push_str("<p>Made by latentdyn.</p></body></html>\n");
    let path = dir.join("index.html");
    latentdyn_train::io::atomic_write(&path, h.as_bytes())?;
    Ok(path)
}

/// The per-run figures, by file stem.
const FIGURE_STEMS: [&str; 4] = ["trajectories", "eigenvalues", "flow", "learning"];

/// A column header's source line: the reporting window's median.
const SOURCE_WINDOW: &str = "<br><small class=\"src\">window median</small>";

/// A column header's source line: the best checkpoint.
const SOURCE_BEST: &str = "<br><small class=\"src\">best checkpoint</small>";

/// Where a run's figures are copied inside the report: `runs/<this>/`.
fn run_figure_dir(r: &RunRow) -> String {
    format!(
        "{}-{}-L{}-s{}",
        r.dataset.replace([':', '/'], "-"),
        r.model,
        r.latent,
        r.seed
    )
}

/// "What next": the exact commands that go one step further from here.
fn what_next(h: &mut String, rows: &[RunRow]) {
    h.push_str("<h2>What next</h2>\n<ul>");
    if let Some(r) = rows.iter().find(|r| r.status == RunStatus::Completed) {
        let d = esc(&r.dir.display().to_string());
        let _ = write!(
            h,
            "<li>One run's validation and test metrics and fixed points: \
             <code>latentdyn eval {d}</code></li>\
             <li>Its figures, learning curves included: <code>latentdyn figures {d}</code></li>"
        );
    }
    if rows.iter().any(|r| r.status == RunStatus::Interrupted) {
        h.push_str(
            "<li>Some runs are unfinished: rerun the same <code>latentdyn ablate</code> \
             command; it resumes them.</li>",
        );
    }
    h.push_str(
        "<li>The study at full length: <code>latentdyn ablate --grid paper</code> (or \
         <code>--grid survey</code>: every dataset once); compare and merge grids with \
         <code>latentdyn report DIR…</code></li>\
         <li>Your own recording: <code>latentdyn data import session.nwb …</code>, then \
         <code>latentdyn train --data datasets/imported/session.npz</code> \
         (<code>docs/recordings.md</code>)</li></ul>\n",
    );
}

/// The cells of runs on recordings: no truth and no published values, so
/// their own table of co-smoothing and decoding scores (nothing when there
/// are none).
fn recordings_table(h: &mut String, cells: &[CellSummary]) {
    use std::fmt::Write as _;
    let rec: Vec<&CellSummary> = cells.iter().filter(|c| c.recording.is_some()).collect();
    if rec.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<h2>Recordings</h2>\n<p>A recording has no ground truth: instead of rate and state R², \
         its runs are scored on the validation trials by co-smoothing (bits per spike of the \
         held-out units, predicted from the held-in ones: the Neural Latents Benchmark's \
         definition), held-in bits per spike, behaviour decoding R² (ridge from the rates, \
         fitted on the training trials) and PSTH R² (per condition). Mean ± std over \
         seeds of each run's median over its reporting window; — where the recording cannot \
         give the score.</p>\n<div class=\"scroll\"><table>\n<tr><th>dataset</th>\
         <th>model</th><th>L</th><th>runs</th><th>held-in NLL{w}</th><th>co-bps{w}</th>\
         <th>held-in bps{w}</th><th>velocity R²{w}</th><th>PSTH R²{w}</th></tr>\n",
        w = SOURCE_WINDOW,
    );
    for c in rec {
        let Some([nll, co, bps, vel, psth]) = c.recording_columns(fmt_ms) else {
            continue;
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td>\
             <td>{nll}</td><td>{co}</td><td>{bps}</td><td>{vel}</td><td>{psth}</td></tr>",
            esc(&c.dataset),
            esc(&crate::plots::model_label(&c.model)),
            c.latent,
            c.n
        );
    }
    h.push_str("</table></div>\n");
}

/// What [`build`] made.
#[derive(Debug)]
pub struct Report {
    /// One row per run.
    pub rows: Vec<RunRow>,
    /// Mean ± std per cell beside the published values.
    pub cells: Vec<CellSummary>,
    /// `results.csv`.
    pub csv: PathBuf,
    /// `report/index.html`.
    pub html: PathBuf,
    /// Runs whose analysis failed, with the reason (their rows have no fixed points).
    pub analysis_failures: Vec<(PathBuf, String)>,
    /// The study's claims checked on these runs.
    pub claims: Vec<Claim>,
    /// Published comparisons within the band.
    pub within: usize,
    /// Published comparisons outside the band.
    pub outside: usize,
}

/// What [`build`] tells its caller while it analyses runs.
#[derive(Debug)]
pub enum ReportEvent<'a> {
    /// This many finished runs need their fixed points and figures.
    Analysing(usize),
    /// One of them is done (`Err`: why it failed; the report goes on).
    Analysed(&'a Path, Result<(), String>),
}

/// Options of [`build`].
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Where datasets are looked up (and generated when missing).
    pub datasets: PathBuf,
    /// Find fixed points and draw figures of finished runs not yet analysed.
    pub analyse: bool,
    /// Rows of runs whose directories are not among the grid directories
    /// (read back from earlier `results.csv` files with
    /// [`crate::results::read_runs_csv`]): merged by
    /// [`crate::results::merge_rows`], a directory's run replacing its
    /// row. They count in the table, the claims and the summary figures;
    /// their per-run figures are wherever their directories are.
    pub rows: Vec<RunRow>,
}

/// The runs to show in full: for each dataset and non-ablation model, the
/// lowest-seed finished run at the latent size closest to the system's true
/// dimensionality (on a recording, which has none: the run with the best
/// co-smoothing bits/spike).
pub fn selected_runs(rows: &[RunRow]) -> Vec<&RunRow> {
    let mut out: Vec<&RunRow> = Vec::new();
    let finished = rows
        .iter()
        .filter(|r| r.status == RunStatus::Completed && !r.model.starts_with("ablation"));
    for r in finished {
        let target = crate::plots::true_dim(&r.dataset).unwrap_or(3.0);
        // A recording has no true dimensionality: its best co-smoothing run
        // stands for it (then the lowest L, the lowest seed).
        let dist = |x: &RunRow| match x.recording.and_then(|rec| rec.co_bps) {
            Some(co) => -co,
            None => ((x.latent as f64).ln() - target.ln()).abs(),
        };
        match out
            .iter_mut()
            .find(|o| o.dataset == r.dataset && o.model == r.model)
        {
            Some(o) => {
                if (dist(r), r.seed) < (dist(o), o.seed) {
                    *o = r;
                }
            }
            None => out.push(r),
        }
    }
    out
}

fn copy(from: &Path, to: &Path) -> Result<(), ExperimentError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|source| ExperimentError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let bytes = std::fs::read(from).map_err(|source| ExperimentError::Io {
        path: from.to_path_buf(),
        source,
    })?;
    latentdyn_train::io::atomic_write(to, &bytes)?;
    Ok(())
}

/// Analyses the finished runs under `dirs` that need it, then writes
/// `<out>/results.csv`, the summary figures and `<out>/report/index.html`.
pub fn build(
    dirs: &[PathBuf],
    out: &Path,
    opts: &ReportOptions,
    on_event: &(dyn Fn(ReportEvent<'_>) + Sync),
) -> Result<Report, ExperimentError> {
    let mut rows = collect(dirs)?;
    if rows.is_empty() && opts.rows.is_empty() {
        return Err(ExperimentError::Run {
            path: dirs.first().cloned().unwrap_or_default(),
            reason: "holds no training runs (a grid directory holds \
                     <dataset>/<model>-L<latent>-s<seed>/config.json); give a grid's directory, \
                     e.g. runs/smoke"
                .into(),
        });
    }
    let mut analysis_failures = Vec::new();
    if opts.analyse {
        let todo: Vec<PathBuf> = rows
            .iter()
            .filter(|r| {
                r.status == RunStatus::Completed && !crate::analyse::analysis_is_fresh(&r.dir)
            })
            .map(|r| r.dir.clone())
            .collect();
        on_event(ReportEvent::Analysing(todo.len()));
        // Runs are independent (each writes only into its own directory, and
        // the finder draws from its own seeded generator): one per core.
        let results: Vec<Result<(), String>> = todo
            .par_iter()
            .map(|dir| {
                let result = crate::analyse::analyse_and_save(dir, &opts.datasets)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                on_event(ReportEvent::Analysed(dir, result.clone()));
                result
            })
            .collect();
        for (dir, result) in todo.iter().zip(results) {
            if let Err(e) = result {
                analysis_failures.push((dir.clone(), e));
            }
        }
        if !todo.is_empty() {
            rows = collect(dirs)?;
        }
        // Runs analysed before the learning curves existed get them now.
        for r in rows.iter().filter(|r| r.status == RunStatus::Completed) {
            if let Err(e) = crate::analyse::ensure_learning_curves(&r.dir) {
                analysis_failures.push((r.dir.clone(), e.to_string()));
            }
        }
    }
    if !opts.rows.is_empty() {
        rows = crate::results::merge_rows(rows, opts.rows.clone());
    }
    std::fs::create_dir_all(out).map_err(|source| ExperimentError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let csv = out.join("results.csv");
    write_runs_csv(&rows, &csv)?;
    let cells = summarise(&rows)?;
    let report_dir = out.join("report");
    let summary = crate::plots::summary_figures(&report_dir.join("figures"), &rows, &cells)?;
    let mut sections = vec![Section {
        heading: "The study's figures".into(),
        note: "Metrics against latent size (mean ± std over seeds, published values dashed, \
               true dimensionality marked) and the ablation strip. SVG beside each PNG."
            .into(),
        figures: summary
            .iter()
            .map(|w| Figure {
                title: w.title.clone(),
                path: relative(&w.png, &report_dir),
            })
            .collect(),
    }];
    let mut selected = Vec::new();
    for r in selected_runs(&rows) {
        let name = run_figure_dir(r);
        let src = r.dir.join(crate::analyse::FIGURES);
        let dst = report_dir.join("runs").join(&name);
        for stem in FIGURE_STEMS {
            for ext in ["png", "svg"] {
                let from = src.join(format!("{stem}.{ext}"));
                if from.is_file() {
                    copy(&from, &dst.join(format!("{stem}.{ext}")))?;
                }
            }
            if dst.join(format!("{stem}.png")).is_file() {
                selected.push(Figure {
                    title: format!(
                        "{} {} L = {} seed {}: {stem}",
                        r.dataset, r.model, r.latent, r.seed
                    ),
                    path: PathBuf::from("runs")
                        .join(&name)
                        .join(format!("{stem}.png")),
                });
            }
        }
    }
    sections.push(Section {
        heading: "Selected runs".into(),
        note: "For each dataset and model, the first seed at the latent size closest to the \
               true dimensionality (on a recording: the run with the best co-bps): latent trajectories with fixed points (truth, model, model \
               mapped onto the true axes; on a recording, coloured by condition), one-bin \
               eigenvalues against the unit circle, the learned flow, and the learning curves \
               (loss with the loss horizon K, validation scores against the epoch)."
            .into(),
        figures: selected,
    });
    let (mut within, mut outside) = (0, 0);
    for c in &cells {
        if let Some(w) = c.within() {
            within += w.iter().filter(|&&b| b).count();
            outside += w.iter().filter(|&&b| !b).count();
        }
    }
    let claims = crate::claims::check(&cells);
    let header = PageHeader::now(dirs);
    let html = write_html(&report_dir, &header, &claims, &cells, &rows, &sections)?;
    Ok(Report {
        rows,
        cells,
        claims,
        csv,
        html,
        analysis_failures,
        within,
        outside,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::summarise;

    #[test]
    fn report_shows_cells_runs_and_figures() {
        let row = |seed: u64, rate: f64| RunRow {
            dataset: "arneodo".into(),
            model: "node".into(),
            latent: 3,
            seed,
            status: RunStatus::Completed,
            epochs_done: 3000,
            epochs: 3000,
            nll: 1.36,
            rate_r2: rate,
            state_r2: 0.5,
            latent_r2: 0.9,
            recording: None,
            nll_basis: latentdyn_analysis::NllBasis::Full,
            batch_size: 650,
            report_last: 500,
            fixed_points: None,
            fixed_points_study: None,
            peak_rss_mib: None,
            wall_seconds: 12.0,
            dir: PathBuf::from("runs/x"),
        };
        let rows = vec![row(0, 0.91), row(1, 0.914)];
        let cells = summarise(&rows).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let fig = Figure {
            title: "rate <R²>".into(),
            path: PathBuf::from("figures/rate.svg"),
        };
        let section = Section {
            heading: "Summary".into(),
            note: String::new(),
            figures: vec![fig],
        };
        let claims = crate::claims::check(&cells);
        let header = PageHeader {
            grids: vec![("smoke".into(), "arneodo, gru and node".into())],
            made: civil(1_764_601_440),
            version: "0.1.0".into(),
            commit: Some("abc1234".into()),
        };
        let path = write_html(dir.path(), &header, &claims, &cells, &rows, &[section]).unwrap();
        let html = std::fs::read_to_string(path).unwrap();
        // The header: the grid, when and by what, the verdict in words and glyphs.
        assert!(html.contains("<h1>latentdyn report: smoke</h1>"), "{html}");
        assert!(html.contains("<b>smoke</b>: arneodo, gru and node"));
        assert!(html.contains("Made 2025-12-01 15:04 UTC by latentdyn 0.1.0 (commit abc1234)"));
        assert!(html.contains("<b>Verdict:</b> 2 of 3 published comparisons within"));
        assert!(html.contains("How to read this page") && html.contains("What next"));
        assert!(html.contains("<code>latentdyn eval runs/x</code>"));
        // The headline row is marked, tables scroll.
        assert!(html.contains("<tr class=\"headline\">"));
        assert!(html.contains("<div class=\"scroll\"><table>"));
        assert!(html.contains("0.912 ± 0.006"), "published value missing");
        // sample std (n − 1) of 0.910 and 0.914: 0.00283
        assert!(html.contains("0.912 ± 0.003"), "our mean ± std missing");
        // rate R² within, state R² (0.5 vs 0.940 ± 0.002) outside.
        assert_eq!(html.matches("class=\"ok\"").count(), 2);
        assert_eq!(html.matches("class=\"bad\"").count(), 1);
        assert!(html.contains("src=\"figures/rate.svg\"") && html.contains("rate &lt;R²&gt;"));
        // glyphs beside the colours, what was run, the claims
        assert!(html.contains("0.912 ± 0.003 ✓") && html.contains("0.500 ± 0.000 ✗"));
        assert!(
            html.contains("What was run:</b> 2 runs (2 finished)"),
            "{html}"
        );
        assert!(html.contains("3000 epochs each, the study's length"));
        assert!(html.contains("needs: GRU and NODE runs"));
        // Shorter runs are not compared.
        let short: Vec<RunRow> = rows
            .iter()
            .map(|r| RunRow {
                epochs: 300,
                epochs_done: 300,
                ..r.clone()
            })
            .collect();
        let cells = summarise(&short).unwrap();
        let path = write_html(dir.path(), &header, &claims, &cells, &short, &[]).unwrap();
        let html = std::fs::read_to_string(path).unwrap();
        assert_eq!(html.matches("class=\"ok\"").count(), 0);
        assert_eq!(html.matches("class=\"bad\"").count(), 0);
        assert!(html.contains("not comparable: 300 of 3000 epochs"));
        assert!(html.contains("300 epochs each, of the study's 3000"));
        assert!(html.contains("no cell is compared with the published values"));
        let text = crate::results::table(&cells);
        assert!(
            text.contains("· not compared: 300 of the study's 3000 epochs"),
            "{text}"
        );
        // The terminal table fits 80 columns.
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert!(!text.contains('✗'), "{text}");
    }

    #[test]
    fn civil_dates_by_hand() {
        assert_eq!(civil(0), "1970-01-01 00:00 UTC");
        // 2000-02-29 12:34 UTC: a leap day of a century divisible by 400.
        assert_eq!(civil(951_827_640), "2000-02-29 12:34 UTC");
        assert_eq!(civil(1_764_601_440), "2025-12-01 15:04 UTC");
    }

    #[test]
    fn relative_paths_climb_out_of_the_report() {
        assert_eq!(
            relative(
                Path::new("runs/q/arneodo/x/figures/flow.png"),
                Path::new("runs/q/report")
            ),
            PathBuf::from("../arneodo/x/figures/flow.png")
        );
        assert_eq!(
            relative(
                Path::new("runs/q/report/figures/a.png"),
                Path::new("runs/q/report")
            ),
            PathBuf::from("figures/a.png")
        );
    }

    #[test]
    fn selected_runs_are_first_seeds_nearest_the_true_dimension() {
        let row = |model: &str, latent: usize, seed: u64, status: RunStatus| RunRow {
            dataset: "arneodo".into(),
            model: model.into(),
            latent,
            seed,
            status,
            epochs_done: 10,
            epochs: 10,
            nll: 1.0,
            rate_r2: 0.5,
            state_r2: 0.5,
            latent_r2: 0.5,
            recording: None,
            nll_basis: latentdyn_analysis::NllBasis::Full,
            batch_size: 650,
            report_last: 500,
            fixed_points: None,
            fixed_points_study: None,
            peak_rss_mib: None,
            wall_seconds: 1.0,
            dir: PathBuf::from("x"),
        };
        let rows = vec![
            row("gru", 25, 0, RunStatus::Completed),
            row("gru", 3, 1, RunStatus::Completed),
            row("gru", 3, 0, RunStatus::Diverged),
            row("node", 2, 0, RunStatus::Completed),
            row("node", 5, 0, RunStatus::Completed),
            row("node", 3, 2, RunStatus::Completed),
            row("ablation0", 3, 0, RunStatus::Completed),
        ];
        let picked: Vec<(String, usize, u64)> = selected_runs(&rows)
            .iter()
            .map(|r| (r.model.clone(), r.latent, r.seed))
            .collect();
        assert_eq!(picked, vec![("gru".into(), 3, 1), ("node".into(), 3, 2)]);
    }
}
