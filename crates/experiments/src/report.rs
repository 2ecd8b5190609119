//! `report/index.html`: the results table beside the published values, the
//! runs, and every figure, in one page that opens in a browser without a
//! server (figures are referenced by relative paths).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::results::{CellSummary, MeanStd, RunRow};
use crate::ExperimentError;

/// A figure to show: a title and its file (SVG or PNG), relative to the report.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Caption.
    pub title: String,
    /// Path relative to the report's directory.
    pub path: PathBuf,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fmt_ms(m: &MeanStd) -> String {
    if m.mean.is_finite() {
        format!("{:.3} ± {:.3}", m.mean, m.std)
    } else {
        "—".into()
    }
}

/// Writes `<dir>/index.html` (atomically) and returns its path.
pub fn write_html(
    dir: &Path,
    title: &str,
    cells: &[CellSummary],
    rows: &[RunRow],
    figures: &[Figure],
) -> Result<PathBuf, ExperimentError> {
    std::fs::create_dir_all(dir).map_err(|source| ExperimentError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{t}</title>\n<style>\
         body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0;font-size:14px}}\
         th,td{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         th{{background:#f3f3f3}} td.l{{text-align:left}}\
         .ok{{background:#e3f5e1}} .bad{{background:#fbe3e1}}\
         figure{{display:inline-block;margin:1em;vertical-align:top}}\
         figure img{{max-width:560px;border:1px solid #ddd}}\
         </style></head><body>\n<h1>{t}</h1>\n",
        t = esc(title)
    );
    let _ = write!(
        h,
        "<p>Validation metrics, median over each run's last epochs, mean ± std over \
         seeds. A cell is green when our mean lies within the published mean ± \
         max(2 std, 0.03) (the study's matching rule), red when not.</p>\n\
         <h2>Results beside the published values</h2>\n<table>\n<tr><th>dataset</th>\
         <th>model</th><th>L</th><th>runs</th><th>NLL</th><th>published</th>\
         <th>rate R²</th><th>published</th><th>state R²</th><th>published</th></tr>\n"
    );
    for c in cells {
        let within = c.within();
        let class = |i: usize| match within {
            Some(w) if w[i] => " class=\"ok\"",
            Some(_) => " class=\"bad\"",
            None => "",
        };
        let p = c.published.as_ref();
        let pubv = |f: fn(&crate::results::Published) -> &MeanStd| {
            p.map_or_else(|| "—".to_owned(), |p| fmt_ms(f(p)))
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}{}</td>\
             <td{}>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td{}>{}</td><td>{}</td></tr>",
            esc(&c.dataset),
            esc(&c.model),
            c.latent,
            c.n,
            if c.diverged > 0 {
                format!(" ({} diverged)", c.diverged)
            } else {
                String::new()
            },
            class(0),
            fmt_ms(&c.nll),
            pubv(|p| &p.nll),
            class(1),
            fmt_ms(&c.rate_r2),
            pubv(|p| &p.rate_r2),
            class(2),
            fmt_ms(&c.state_r2),
            pubv(|p| &p.state_r2),
        );
    }
    h.push_str("</table>\n");
    if !figures.is_empty() {
        h.push_str("<h2>Figures</h2>\n");
        for f in figures {
            let _ = writeln!(
                h,
                "<figure><a href=\"{p}\"><img src=\"{p}\" alt=\"{t}\"></a><figcaption>{t}</figcaption></figure>",
                p = esc(&f.path.to_string_lossy()),
                t = esc(&f.title)
            );
        }
    }
    h.push_str(
        "<h2>Runs</h2>\n<table>\n<tr><th>dataset</th><th>model</th><th>L</th><th>seed</th>\
         <th>status</th><th>epochs</th><th>NLL</th><th>rate R²</th><th>state R²</th>\
         <th>latent R²</th><th>wall time</th></tr>\n",
    );
    for r in rows {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td>\
             <td class=\"l\">{}</td><td>{}/{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td>\
             <td>{:.4}</td><td>{:.0} s</td></tr>",
            esc(&r.dataset),
            esc(&r.model),
            r.latent,
            r.seed,
            esc(&r.status),
            r.epochs_done,
            r.epochs,
            r.nll,
            r.rate_r2,
            r.state_r2,
            r.latent_r2,
            r.wall_seconds
        );
    }
    h.push_str("</table>\n<p>Made by latentdyn.</p></body></html>\n");
    let path = dir.join("index.html");
    latentdyn_train::io::atomic_write(&path, h.as_bytes())?;
    Ok(path)
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
            status: "completed".into(),
            epochs_done: 10,
            epochs: 10,
            nll: 1.36,
            rate_r2: rate,
            state_r2: 0.5,
            latent_r2: 0.9,
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
        let path = write_html(dir.path(), "smoke", &cells, &rows, &[fig]).unwrap();
        let html = std::fs::read_to_string(path).unwrap();
        assert!(html.contains("0.912 ± 0.006"), "published value missing");
        assert!(html.contains("0.912 ± 0.002"), "our mean ± std missing");
        // rate R² within, state R² (0.5 vs 0.940 ± 0.002) outside.
        assert_eq!(html.matches("class=\"ok\"").count(), 2);
        assert_eq!(html.matches("class=\"bad\"").count(), 1);
        assert!(html.contains("src=\"figures/rate.svg\"") && html.contains("rate &lt;R²&gt;"));
    }
}
