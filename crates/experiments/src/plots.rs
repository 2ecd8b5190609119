//! The study's summary figures, drawn from a grid's results: NLL, rate R²
//! and state R² against the latent size per dataset (GRU and NODE, mean ±
//! std over seeds as bands, the published curves dashed, the true
//! dimensionality marked), and the ablation's rate R² per config with one dot
//! per seed. Each figure is written as SVG and PNG by the routine of
//! [`crate::figures`] that writes every figure of the crate, with its
//! embedded font.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::figures::style::{self, model_colour, Dash, Mark, Place};
use crate::figures::{save_svg_and_png, Figure};
use crate::results::{CellSummary, MeanStd, RunRow};
use crate::ExperimentError;

/// A figure with the SVG and PNG files it was written to.
#[derive(Debug, Clone)]
pub struct Written {
    /// Caption.
    pub title: String,
    /// The SVG file.
    pub svg: PathBuf,
    /// The PNG file.
    pub png: PathBuf,
}

/// The true dimensionality of a study dataset's system (`study:<preset>`
/// labels too), for marking plots and checking the claims.
pub fn true_dim(dataset: &str) -> Option<f64> {
    match crate::results::study_dataset(dataset) {
        "arneodo" | "lorenz" | "rossler" | "arneodo100" => Some(3.0),
        "mackeyglass100" | "macarthur100" => Some(10.0),
        _ => None,
    }
}

type Getter = fn(&CellSummary) -> MeanStd;
type PubGetter = fn(&crate::results::Published) -> MeanStd;

const METRICS: [(&str, Getter, PubGetter); 3] = [
    (
        "NLL (nats / bin / neuron, lower is better)",
        |c| c.nll,
        |p| p.nll,
    ),
    ("rate R² (higher is better)", |c| c.rate_r2, |p| p.rate_r2),
    (
        "state R² (higher is better)",
        |c| c.state_r2,
        |p| p.state_r2,
    ),
];

/// What a recording's cells are drawn by: no truth, so co-smoothing and
/// decoding in place of the R² against it (and no published values).
const RECORDING_METRICS: [(&str, Getter, PubGetter); 3] = [
    (
        "held-in NLL (nats / bin / neuron, lower is better)",
        |c| c.nll,
        |p| p.nll,
    ),
    (
        "co-smoothing (bits / spike, higher is better)",
        |c| recording_metric(c, |r| r.co_bps),
        |p| p.nll,
    ),
    (
        "velocity R² (higher is better)",
        |c| recording_metric(c, |r| r.velocity_r2),
        |p| p.nll,
    ),
];

fn recording_metric(c: &CellSummary, f: fn(&crate::results::RecordingCell) -> MeanStd) -> MeanStd {
    c.recording.as_ref().map_or(
        MeanStd {
            mean: f64::NAN,
            std: f64::NAN,
            n: 0,
        },
        f,
    )
}

/// The ablation configs and what each takes away, in the study's order
/// (the order of claim (iv) and of the strip plot).
pub const ABLATIONS: [(&str, &str); 5] = [
    ("ablation0", "baseline"),
    ("ablation3", "no gradual"),
    ("ablation2", "no MLP"),
    ("ablation1", "no pass-through"),
    ("ablation4", "vanilla"),
];

/// A model preset as the report names it: an ablation config with what it
/// takes away (`ablation1 (no pass-through)`), any other as it is.
pub fn model_label(model: &str) -> String {
    match ABLATIONS.iter().find(|(m, _)| *m == model) {
        Some((m, what)) => format!("{m} ({what})"),
        None => model.to_owned(),
    }
}

/// One dataset's three panels: each metric against L.
fn draw_versus_latent<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    dataset: &str,
    cells: &[&CellSummary],
) -> Result<(), String> {
    let recording = cells.iter().any(|c| c.recording.is_some());
    // A recording has no published values to draw.
    let key = if recording {
        "ours: solid, ± std over seeds"
    } else {
        "ours: solid, ± std over seeds; published: dashed, hollow"
    };
    let root = root
        .titled(
            &format!("{dataset}: metrics against the latent size ({key})"),
            ("sans-serif", 20),
        )
        .map_err(|e| e.to_string())?;
    let panels = root.split_evenly((1, 3));
    let metrics = if recording {
        RECORDING_METRICS
    } else {
        METRICS
    };
    let models: Vec<&str> = {
        let mut m: Vec<&str> = cells.iter().map(|c| c.model.as_str()).collect();
        m.sort();
        m.dedup();
        m
    };
    let latents: Vec<f64> = cells.iter().map(|c| c.latent as f64).collect();
    let (lmin, lmax) = latents
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &l| {
            (a.min(l), b.max(l))
        });
    let (lmin, lmax) = if lmin.is_finite() {
        ((lmin * 0.8).max(0.5), lmax * 1.25)
    } else {
        (1.0, 100.0)
    };
    for (panel, (name, ours, theirs)) in panels.iter().zip(metrics) {
        // Lower is better for the NLL, so its curves fall: keep the legend up.
        let legend_at = if name.contains("NLL") {
            Place::TopRight(8, 8)
        } else {
            Place::BottomRight(8, 8)
        };
        let mut legend = Vec::new();
        let mut ys: Vec<f64> = Vec::new();
        for c in cells {
            let m = ours(c);
            ys.extend([m.mean - m.spread(), m.mean + m.spread()]);
            if let Some(p) = c.published.as_ref().filter(|_| !recording) {
                let p = theirs(p);
                ys.extend([p.mean - p.spread(), p.mean + p.spread()]);
            }
        }
        ys.retain(|y| y.is_finite());
        let (ymin, ymax) = ys
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| {
                (a.min(y), b.max(y))
            });
        let (ymin, ymax) = if ymin.is_finite() && ymax > ymin {
            let pad = 0.08 * (ymax - ymin);
            (ymin - pad, ymax + pad)
        } else if ymin.is_finite() {
            (ymin - 0.1, ymin + 0.1)
        } else {
            (0.0, 1.0)
        };
        let mut chart = ChartBuilder::on(panel)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .caption(name.split(" (").next().unwrap_or(name), ("sans-serif", 18))
            .build_cartesian_2d(
                (lmin..lmax).log_scale().with_key_points(
                    [1.0, 2.0, 3.0, 5.0, 10.0, 25.0, 50.0, 100.0, 200.0, 500.0]
                        .into_iter()
                        .filter(|l| (lmin..=lmax).contains(l))
                        .collect(),
                ),
                ymin..ymax,
            )
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_label_formatter(&|l| format!("{l:.0}"))
            .y_label_formatter(&|v| style::tick(*v))
            .light_line_style(WHITE.mix(0.0))
            .x_desc("latent size L")
            .y_desc(name)
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        if let Some(d) = true_dim(dataset) {
            style::draw_line(
                &mut chart,
                vec![(d, ymin), (d, ymax)],
                style::CONTEXT,
                Dash::Dotted,
                1,
            )?;
            legend.push((
                Mark::Line {
                    colour: style::CONTEXT,
                    dash: Dash::Dotted,
                },
                format!("true dimensionality {d}"),
            ));
        }
        for model in &models {
            let colour = model_colour(model);
            let mut mine: Vec<&&CellSummary> = cells.iter().filter(|c| c.model == *model).collect();
            mine.sort_by_key(|c| c.latent);
            let pts: Vec<(f64, MeanStd)> = mine
                .iter()
                .map(|c| (c.latent as f64, ours(c)))
                .filter(|(_, m)| m.mean.is_finite())
                .collect();
            if pts.len() > 1 {
                let mut band: Vec<(f64, f64)> =
                    pts.iter().map(|(l, m)| (*l, m.mean + m.spread())).collect();
                band.extend(pts.iter().rev().map(|(l, m)| (*l, m.mean - m.spread())));
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        band,
                        colour.mix(0.18).filled(),
                    )))
                    .map_err(|e| e.to_string())?;
            }
            // The legend draws a line for ours or the published values only
            // where the figure draws one (more than one latent size).
            let value = |published, line| Mark::Value {
                colour,
                published,
                line,
            };
            style::draw_line(
                &mut chart,
                pts.iter().map(|(l, m)| (*l, m.mean)).collect(),
                colour,
                Dash::Solid,
                2,
            )?;
            for (l, m) in &pts {
                style::draw_mark(chart.plotting_area(), (*l, m.mean), value(false, false))?;
            }
            if !pts.is_empty() {
                legend.push((value(false, pts.len() > 1), format!("{model} (ours)")));
            }
            let published: Vec<(f64, f64)> = mine
                .iter()
                .filter_map(|c| {
                    c.published
                        .as_ref()
                        .map(|p| (c.latent as f64, theirs(p).mean))
                })
                .filter(|p| p.1.is_finite())
                .collect();
            if !published.is_empty() && !recording {
                style::draw_line(&mut chart, published.clone(), colour, Dash::Dashed, 2)?;
                for &p in &published {
                    style::draw_mark(chart.plotting_area(), p, value(true, false))?;
                }
                legend.push((
                    value(true, published.len() > 1),
                    format!("{model} (published)"),
                ));
            }
        }
        let plain = chart.plotting_area().strip_coord_spec();
        style::draw_legend(&plain, &legend, legend_at, 12)?;
    }
    Ok(())
}

/// The ablation: rate R² per config, our seeds as dots and their mean as a
/// bar, the published mean ± std beside it.
fn draw_ablation<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[&RunRow],
    cells: &[&CellSummary],
) -> Result<(), String> {
    const CONFIGS: [(&str, &str); 5] = ABLATIONS;
    let mut chart = ChartBuilder::on(root)
        .margin(15)
        .caption(
            "arneodo ablation, L = 3: rate R² per config (what each takes away from the baseline)",
            ("sans-serif", 17),
        )
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(-0.5f64..4.5f64, 0.0f64..1.0f64)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_labels(5)
        .x_label_formatter(&|x| {
            let i = x.round() as usize;
            if (x - x.round()).abs() < 1e-6 && i < CONFIGS.len() {
                model_label(CONFIGS[i].0)
            } else {
                String::new()
            }
        })
        .y_desc("rate R² (higher is better)")
        .y_label_formatter(&|v| style::tick(*v))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    // The ablation configs are discrete NODEs: one colour; whose number it
    // is shows in the fill (ours solid, published hollow).
    let colour = model_colour("ablation0");
    let mut any_published = false;
    for (i, (model, _)) in CONFIGS.iter().enumerate() {
        let x = i as f64;
        let seeds: Vec<f64> = rows
            .iter()
            .filter(|r| r.model == *model && r.rate_r2.is_finite())
            .map(|r| r.rate_r2.clamp(0.0, 1.0))
            .collect();
        for (k, y) in seeds.iter().enumerate() {
            let jitter = (k as f64 - (seeds.len() as f64 - 1.0) / 2.0) * 0.06;
            let mark = Mark::Value {
                colour,
                published: false,
                line: true,
            };
            style::draw_mark(chart.plotting_area(), (x - 0.12 + jitter, *y), mark)?;
        }
        if let Some(c) = cells.iter().find(|c| c.model == *model) {
            if c.rate_r2.mean.is_finite() {
                let m = c.rate_r2.mean.clamp(0.0, 1.0);
                style::draw_line(
                    &mut chart,
                    vec![(x - 0.3, m), (x + 0.06, m)],
                    colour,
                    Dash::Solid,
                    3,
                )?;
            }
            if let Some(p) = &c.published {
                any_published = true;
                let (m, s) = (p.rate_r2.mean, p.rate_r2.spread());
                style::draw_line(
                    &mut chart,
                    vec![(x + 0.2, (m - s).max(0.0)), (x + 0.2, (m + s).min(1.0))],
                    colour,
                    Dash::Dashed,
                    2,
                )?;
                let mark = Mark::Value {
                    colour,
                    published: true,
                    line: true,
                };
                style::draw_mark(chart.plotting_area(), (x + 0.2, m), mark)?;
            }
        }
    }
    let mut legend = vec![(
        Mark::Value {
            colour,
            published: false,
            line: true,
        },
        "ours: a dot per seed, the bar their mean".to_owned(),
    )];
    if any_published {
        legend.push((
            Mark::Value {
                colour,
                published: true,
                line: true,
            },
            "published: mean ± std over seeds".to_owned(),
        ));
    }
    let plain = chart.plotting_area().strip_coord_spec();
    style::draw_legend(&plain, &legend, Place::TopRight(8, 8), 13)?;
    Ok(())
}

/// One dataset's metrics against L, as [`draw_versus_latent`] draws them.
struct VersusLatent<'a> {
    dataset: &'a str,
    cells: Vec<&'a CellSummary>,
}

impl Figure for VersusLatent<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        draw_versus_latent(root, self.dataset, &self.cells)
    }
}

/// The ablation's rate R² per config, as [`draw_ablation`] draws it.
struct Ablation<'a> {
    rows: Vec<&'a RunRow>,
    cells: Vec<&'a CellSummary>,
}

impl Figure for Ablation<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        draw_ablation(root, &self.rows, &self.cells)
    }
}

/// Writes every summary figure the results support into `dir` and returns
/// them (datasets with at least two latent sizes; the ablation when any
/// ablation run exists).
pub fn summary_figures(
    dir: &Path,
    rows: &[RunRow],
    cells: &[CellSummary],
) -> Result<Vec<Written>, ExperimentError> {
    let mut out = Vec::new();
    let mut datasets: Vec<&str> = cells.iter().map(|c| c.dataset.as_str()).collect();
    datasets.sort();
    datasets.dedup();
    for d in datasets {
        let mine: Vec<&CellSummary> = cells
            .iter()
            .filter(|c| c.dataset == d && !c.model.starts_with("ablation"))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let title = if mine.iter().any(|c| c.recording.is_some()) {
            format!("{d}: held-in NLL, co-smoothing bits/spike and velocity R² against L")
        } else {
            format!("{d}: NLL, rate R² and state R² against L")
        };
        let fig = VersusLatent {
            dataset: d,
            cells: mine,
        };
        let [svg, png] = save_svg_and_png(&fig, dir, &format!("{d}-vs-latent"), (1500, 480))?;
        out.push(Written { title, svg, png });
    }
    let ablation_rows: Vec<&RunRow> = rows
        .iter()
        .filter(|r| {
            crate::results::study_dataset(&r.dataset) == "arneodo"
                && r.model.starts_with("ablation")
        })
        .collect();
    if !ablation_rows.is_empty() {
        let fig = Ablation {
            rows: ablation_rows,
            cells: cells
                .iter()
                .filter(|c| {
                    crate::results::study_dataset(&c.dataset) == "arneodo"
                        && c.model.starts_with("ablation")
                })
                .collect(),
        };
        let [svg, png] = save_svg_and_png(&fig, dir, "ablation", (1000, 520))?;
        out.push(Written {
            title: "arneodo ablation: rate R² per config".to_owned(),
            svg,
            png,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::summarise;
    use latentdyn_train::RunStatus;

    fn row(model: &str, latent: usize, seed: u64, rate: f64) -> RunRow {
        RunRow {
            dataset: "arneodo".into(),
            model: model.into(),
            latent,
            seed,
            status: RunStatus::Completed,
            epochs_done: 5,
            epochs: 5,
            nll: 1.4 - 0.01 * latent as f64,
            rate_r2: rate,
            state_r2: 0.8 - 0.01 * latent as f64,
            latent_r2: 0.9,
            recording: None,
            nll_basis: latentdyn_analysis::NllBasis::Full,
            batch_size: 650,
            report_last: 500,
            fixed_points: None,
            fixed_points_study: None,
            peak_rss_mib: None,
            wall_seconds: 1.0,
            dir: PathBuf::from("x"),
        }
    }

    #[test]
    fn ablations_are_named_by_what_they_take_away() {
        assert_eq!(model_label("ablation1"), "ablation1 (no pass-through)");
        assert_eq!(model_label("ablation0"), "ablation0 (baseline)");
        assert_eq!(model_label("node"), "node");
    }

    #[test]
    fn writes_svg_and_png_for_each_figure() {
        let mut rows = Vec::new();
        for (m, base) in [("gru", 0.4), ("node", 0.8)] {
            for l in [2, 3, 5, 10] {
                for s in 0..2 {
                    rows.push(row(m, l, s, base + 0.01 * l as f64 + 0.005 * s as f64));
                }
            }
        }
        for a in [
            "ablation0",
            "ablation1",
            "ablation2",
            "ablation3",
            "ablation4",
        ] {
            for s in 0..3 {
                rows.push(row(a, 3, s, 0.5 + 0.05 * s as f64));
            }
        }
        let cells = summarise(&rows).unwrap();
        let dir = tempfile::tempdir().unwrap();
        // LATENTDYN_FIGURE_DIR keeps the figures, to look at them.
        let out = std::env::var_os("LATENTDYN_FIGURE_DIR")
            .map_or_else(|| dir.path().to_path_buf(), PathBuf::from);
        let figs = summary_figures(&out, &rows, &cells).unwrap();
        assert_eq!(figs.len(), 2);
        for f in &figs {
            let svg = std::fs::read_to_string(&f.svg).unwrap();
            assert!(
                svg.starts_with("<svg") && svg.contains("rate R²"),
                "{}",
                f.svg.display()
            );
            let png = std::fs::read(&f.png).unwrap();
            assert_eq!(&png[1..4], b"PNG");
            assert!(png.len() > 10_000, "{} looks empty", f.png.display());
        }
    }
}
