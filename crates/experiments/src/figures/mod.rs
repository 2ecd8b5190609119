//! Per-run figures of latent dynamics and fixed points, each written as SVG
//! and PNG (plotters):
//!
//! - [`trajectories`]: 3-D latent trajectories with fixed points — the truth,
//!   the model (its top three principal components when L > 3, explained
//!   variance in the title) and the model mapped onto the true axes;
//! - [`eigenvalues`]: the one-bin eigenvalues of the fixed points in the
//!   complex plane with the unit circle, model against truth;
//! - [`flow_field`]: the learned flow in the plane of the model's top two
//!   principal components, with trajectories and fixed points;
//! - [`learning_curves`]: loss (with the loss horizon) and validation
//!   scores against the epoch, from the run's `metrics.csv`.
//!
//! Every figure of the crate, these and the summary figures of
//! [`crate::plots`], is written by one routine here (`save_svg_and_png`):
//! `<stem>.svg` and `<stem>.png` on a white background. PNG text uses DejaVu
//! Sans embedded in the crate (`assets/`, [`register`]), so no system fonts
//! are needed.

mod learning;
pub mod style;

pub use learning::learning_curves;

use std::path::{Path, PathBuf};
use std::sync::Once;

use latentdyn_analysis::{AffineMap, AnalysisError, FixedPoint};
use nalgebra::{DMatrix, SymmetricEigen};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use style::{Dash, Mark, Place};

/// The family name figures use for text.
pub const FONT: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Why a figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    /// Drawing or writing the file failed.
    #[error("drawing {path}: {reason}")]
    Draw {
        /// The file being drawn.
        path: PathBuf,
        /// The backend's message.
        reason: String,
    },
    /// The inputs do not fit together.
    #[error("{what}: {reason}")]
    Input {
        /// Which input.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Evaluating the flow failed.
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
}

/// Makes the embedded DejaVu Sans the `sans-serif` family (once per
/// process), so PNG text renders on machines without fonts.
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType file shipped with the crate.
        let _ = register_font(FONT, FontStyle::Normal, FONT_BYTES);
        let _ = register_font(FONT, FontStyle::Bold, FONT_BYTES);
    });
}

/// The inputs of a run's figures.
#[derive(Debug, Clone, Copy)]
pub struct RunFigures<'a> {
    /// Title prefix (the run's name).
    pub title: &'a str,
    /// The model preset (`gru`, `node`, …), which picks its colour.
    pub model: &'a str,
    /// Inferred latents, `[trials·steps, L]` (trial-major).
    pub inferred: ArrayView2<'a, f64>,
    /// True latents, `[trials·steps, true dim]`.
    pub true_latents: ArrayView2<'a, f64>,
    /// Time steps per trial.
    pub steps: usize,
    /// The model's fixed points (model coordinates).
    pub model_points: &'a [FixedPoint],
    /// The true fixed points.
    pub true_points: &'a [FixedPoint],
    /// Inferred → true affine map, when there is a truth.
    pub to_true: Option<&'a AffineMap>,
    /// How many trials to draw.
    pub trials: usize,
    /// Each trial's condition (a recording's), to colour the model's
    /// trajectories by; `None` draws them in one colour.
    pub conditions: Option<&'a [i64]>,
}

/// Principal components: the mean, the top `k` unit directions (rows) and
/// the fraction of variance each explains.
#[derive(Debug, Clone)]
pub struct Pca {
    /// Column means.
    pub mean: Array1<f64>,
    /// `[k, L]`, by decreasing variance.
    pub components: Array2<f64>,
    /// Explained variance ratio per component.
    pub explained: Vec<f64>,
}

impl Pca {
    /// The top `k` components of `x` (`[points, L]`).
    pub fn fit(x: ArrayView2<'_, f64>, k: usize) -> Result<Self, FigureError> {
        let (n, l) = x.dim();
        let mean = x.mean_axis(Axis(0)).ok_or(FigureError::Input {
            what: "latents",
            reason: "no points".into(),
        })?;
        let xc = &x - &mean;
        let cov = xc.t().dot(&xc) / (n.max(2) - 1) as f64;
        let eig = SymmetricEigen::new(DMatrix::from_fn(l, l, |i, j| cov[[i, j]]));
        let mut order: Vec<usize> = (0..l).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let total: f64 = eig.eigenvalues.iter().map(|v| v.max(0.0)).sum();
        let k = k.min(l);
        let components = Array2::from_shape_fn((k, l), |(r, c)| eig.eigenvectors[(c, order[r])]);
        let explained = order[..k]
            .iter()
            .map(|&i| eig.eigenvalues[i].max(0.0) / total.max(f64::MIN_POSITIVE))
            .collect();
        Ok(Pca {
            mean,
            components,
            explained,
        })
    }

    /// Coordinates of `x` (`[points, L]`) on the components.
    pub fn project(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        (&x - &self.mean).dot(&self.components.t())
    }
}

/// A figure that draws itself on any plotters backend, so that
/// [`save_svg_and_png`] can write it as both (this module's figures and the
/// summary figures of [`crate::plots`]).
pub(crate) trait Figure {
    /// Draws the figure on `root`, already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Writes `fig` at `size` pixels as `<dir>/<stem>.svg` and
/// `<dir>/<stem>.png` (creating `dir`), each on a white background, with
/// the embedded font registered; returns the SVG's path and the PNG's. Every
/// figure of this crate is saved here.
pub(crate) fn save_svg_and_png(
    fig: &impl Figure,
    dir: &Path,
    stem: &str,
    size: (u32, u32),
) -> Result<[PathBuf; 2], FigureError> {
    register();
    std::fs::create_dir_all(dir).map_err(|e| FigureError::Draw {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let wrap = |path: &Path| {
        let path = path.to_path_buf();
        move |reason: String| FigureError::Draw { path, reason }
    };
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err).map_err(wrap(&svg))?;
        fig.draw(&root).map_err(wrap(&svg))?;
        root.present().map_err(err).map_err(wrap(&svg))?;
    }
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        root.fill(&WHITE).map_err(err).map_err(wrap(&png))?;
        fig.draw(&root).map_err(wrap(&png))?;
        root.present().map_err(err).map_err(wrap(&png))?;
    }
    Ok([svg, png])
}

fn range(vals: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = vals
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return -1.0..1.0;
    }
    let pad = 0.05 * (hi - lo).max(1e-9);
    (lo - pad)..(hi + pad)
}

/// A fixed point as a panel draws it: where, and its mark.
#[derive(Debug, Clone, Copy)]
struct Placed {
    at: (f64, f64, f64),
    mark: Mark,
}

fn marks(points: &Array2<f64>, of: &[FixedPoint], colour: RGBColor, size: i32) -> Vec<Placed> {
    points
        .outer_iter()
        .zip(of)
        .map(|(r, p)| Placed {
            at: pad3(r),
            mark: Mark::FixedPoint {
                stable: style::is_stable(p),
                colour,
                size,
            },
        })
        .collect()
}

type Limits = [std::ops::Range<f64>; 3];

/// One 3-D panel: trajectories and fixed points in three coordinates, each
/// axis titled on the chart.
struct Panel {
    title: String,
    axes: [String; 3],
    lines: Vec<Vec<(f64, f64, f64)>>,
    /// One colour per line.
    line_colours: Vec<RGBColor>,
    marks: Vec<Placed>,
    /// The axes' ranges (shared between the truth and the mapped panel).
    limits: Limits,
}

fn pad3(row: ndarray::ArrayView1<'_, f64>) -> (f64, f64, f64) {
    let g = |i: usize| row.get(i).copied().unwrap_or(0.0);
    (g(0), g(1), g(2))
}

/// The first `trials` trials of `x` (`[trials·steps, ≥3]`) as 3-D lines.
fn lines3(x: &Array2<f64>, steps: usize, trials: usize) -> Vec<Vec<(f64, f64, f64)>> {
    (0..trials.min(x.nrows() / steps.max(1)))
        .map(|t| {
            (t * steps..(t + 1) * steps)
                .map(|i| pad3(x.row(i)))
                .collect()
        })
        .collect()
}

/// The ranges covering `lines` and `marks`.
fn limits3(lines: &[Vec<(f64, f64, f64)>], marks: &[Placed]) -> Limits {
    let all = || {
        lines
            .iter()
            .flatten()
            .copied()
            .chain(marks.iter().map(|m| m.at))
    };
    [
        range(all().map(|p| p.0)),
        range(all().map(|p| p.1)),
        range(all().map(|p| p.2)),
    ]
}

/// The smallest ranges covering both.
fn union(a: &Limits, b: &Limits) -> Limits {
    let u =
        |x: &std::ops::Range<f64>, y: &std::ops::Range<f64>| x.start.min(y.start)..x.end.max(y.end);
    [u(&a[0], &b[0]), u(&a[1], &b[1]), u(&a[2], &b[2])]
}

impl Panel {
    fn new(
        title: String,
        axes: [String; 3],
        lines: Vec<Vec<(f64, f64, f64)>>,
        colour: RGBColor,
        marks: Vec<Placed>,
    ) -> Self {
        let limits = limits3(&lines, &marks);
        Panel {
            title,
            axes,
            line_colours: vec![colour; lines.len()],
            lines,
            marks,
            limits,
        }
    }

    /// Colours each trial's line by its condition.
    fn coloured_by(mut self, conditions: &[i64]) -> Self {
        let mut keys = conditions.to_vec();
        keys.sort_unstable();
        keys.dedup();
        for (c, colour) in conditions.iter().zip(&mut self.line_colours) {
            *colour = style::condition_colour(keys.binary_search(c).unwrap_or(0));
        }
        self.title = format!("{} (colour: condition)", self.title);
        self
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let [xr, yr, zr] = self.limits.clone();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT, 20))
            .margin(12)
            .margin_left(40)
            .margin_bottom(40)
            .build_cartesian_3d(xr.clone(), yr.clone(), zr.clone())
            .map_err(err)?;
        chart.with_projection(|mut p| {
            p.pitch = 0.45;
            p.yaw = 0.7;
            p.scale = 0.8;
            p.into_matrix()
        });
        let f = |v: &f64| style::tick(*v);
        chart
            .configure_axes()
            .label_style((FONT, 12))
            .x_formatter(&f)
            .y_formatter(&f)
            .z_formatter(&f)
            .max_light_lines(2)
            .draw()
            .map_err(err)?;
        for (l, c) in self.lines.iter().zip(&self.line_colours) {
            chart
                .draw_series(LineSeries::new(
                    l.iter().copied(),
                    c.mix(0.55).stroke_width(1),
                ))
                .map_err(err)?;
        }
        for m in &self.marks {
            style::draw_mark(chart.plotting_area(), m.at, m.mark)?;
        }
        // Axis titles, which plotters' 3-D charts do not draw. Plotters' y
        // is the vertical axis; for this projection the tick labels sit on
        // the edges (x, y_min, z_max), (x_min, y, z_max) and
        // (x_max, y_min, z), so each title goes beside the middle of its
        // edge, offset outward past the tick labels.
        let mid = |r: &std::ops::Range<f64>| 0.5 * (r.start + r.end);
        let base = area.get_base_pixel();
        let spec = chart.as_coord_spec();
        let at = |p: (f64, f64, f64)| {
            let (x, y) = spec.translate(&p);
            (x - base.0, y - base.1)
        };
        let font = (FONT, 14).into_font().color(&BLACK);
        let width = |t: &str| {
            area.estimate_text_size(t, &font)
                .map_or(7 * t.chars().count() as i32, |s| s.0 as i32)
        };
        let (x, y) = at((mid(&xr), yr.start, zr.end));
        let name = &self.axes[0];
        area.draw(&Text::new(
            name.as_str(),
            (x - 40 - width(name), y + 22),
            font.clone(),
        ))
        .map_err(err)?;
        let (x, y) = at((xr.end, yr.start, mid(&zr)));
        area.draw(&Text::new(
            self.axes[2].as_str(),
            (x + 40, y + 22),
            font.clone(),
        ))
        .map_err(err)?;
        let (x, y) = at((xr.start, mid(&yr), zr.end));
        let name = &self.axes[1];
        area.draw(&Text::new(
            name.as_str(),
            (x - 52, y + width(name) / 2),
            font.transform(FontTransform::Rotate270),
        ))
        .map_err(err)?;
        Ok(())
    }
}

struct Panels {
    panels: Vec<Panel>,
    legend: Vec<(Mark, String)>,
}

impl Figure for Panels {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let h = root.dim_in_pixel().1 as i32;
        let (top, bottom) = root.split_vertically(h - 34);
        let areas = top.split_evenly((1, self.panels.len().max(1)));
        for (p, a) in self.panels.iter().zip(&areas) {
            p.draw(a)?;
        }
        style::draw_legend(&bottom, &self.legend, Place::Row(14), 15)
    }
}

fn locations(points: &[FixedPoint], dim: usize) -> Array2<f64> {
    Array2::from_shape_fn((points.len(), dim), |(i, j)| {
        points[i].location.get(j).copied().unwrap_or(0.0)
    })
}

/// 3-D latent trajectories with fixed points: truth, model (top three PCs when
/// L > 3) and — with a map — the model on the true axes, beside the true
/// fixed points, on the truth panel's limits. Writes `trajectories.svg` and
/// `.png` into `dir`.
pub fn trajectories(fig: &RunFigures<'_>, dir: &Path) -> Result<Vec<PathBuf>, FigureError> {
    let l = fig.inferred.ncols();
    let colour = style::model_colour(fig.model);
    let names = |p: &str| [format!("{p} 1"), format!("{p} 2"), format!("{p} 3")];
    let mut panels = Vec::new();
    let has_truth = fig.true_latents.ncols() > 0;
    let true_marks = if has_truth {
        let tp = locations(fig.true_points, fig.true_latents.ncols());
        marks(&tp, fig.true_points, style::TRUTH, 8)
    } else {
        Vec::new()
    };
    if has_truth {
        panels.push(Panel::new(
            "truth".into(),
            names("true state"),
            lines3(&fig.true_latents.to_owned(), fig.steps, fig.trials),
            style::TRUTH,
            true_marks.clone(),
        ));
    }
    let mp = locations(fig.model_points, l);
    let (x, p, title, axes) = if l > 3 {
        let pca = Pca::fit(fig.inferred, 3)?;
        let ev: f64 = pca.explained.iter().sum();
        (
            pca.project(fig.inferred),
            pca.project(mp.view()),
            format!(
                "{} (L = {l}): top 3 PCs, {:.1} % var.",
                fig.title,
                100.0 * ev
            ),
            names("latent PC"),
        )
    } else {
        (
            fig.inferred.to_owned(),
            mp,
            format!("{} (L = {l})", fig.title),
            names("latent"),
        )
    };
    let model = Panel::new(
        title,
        axes,
        lines3(&x, fig.steps, fig.trials),
        colour,
        marks(&p, fig.model_points, colour, 6),
    );
    panels.push(match fig.conditions {
        Some(c) => model.coloured_by(c),
        None => model,
    });
    if let Some(m) = fig.to_true {
        let x = m.apply(fig.inferred)?;
        let p = m.apply(locations(fig.model_points, l).view())?;
        let mut all = true_marks.clone();
        all.extend(marks(&p, fig.model_points, colour, 6));
        let mut mapped = Panel::new(
            "model mapped onto the true axes".into(),
            names("true state"),
            lines3(&x, fig.steps, fig.trials),
            colour,
            all,
        );
        if let Some(truth) = panels.first_mut().filter(|_| has_truth) {
            let shared = union(&truth.limits, &mapped.limits);
            truth.limits = shared.clone();
            mapped.limits = shared;
        }
        panels.push(mapped);
    }
    let line = |colour| Mark::Line {
        colour,
        dash: Dash::Solid,
    };
    let mut legend = Vec::new();
    if has_truth {
        legend.push((line(style::TRUTH), "truth".to_owned()));
    }
    legend.push((
        line(colour),
        match fig.conditions {
            Some(_) => format!("{} (trajectories coloured by condition)", fig.model),
            None => fig.model.to_owned(),
        },
    ));
    let point = |stable| Mark::FixedPoint {
        stable,
        colour: if has_truth { style::TRUTH } else { colour },
        size: 6,
    };
    legend.push((point(true), "stable fixed point".into()));
    legend.push((
        point(false),
        if has_truth {
            "unstable or saddle fixed point (black: true, colour: model)"
        } else {
            "unstable or saddle fixed point"
        }
        .into(),
    ));
    let w = (560 * panels.len() as u32).max(800);
    Ok(save_svg_and_png(&Panels { panels, legend }, dir, "trajectories", (w, 600))?.into())
}

/// Ranges that cover `x` and `y` and give both axes the same units per
/// pixel in a `w` × `h` plot, centred on the given ranges.
fn equal_aspect(
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    (w, h): (u32, u32),
) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let per_px = ((x.end - x.start) / w.max(1) as f64).max((y.end - y.start) / h.max(1) as f64);
    let centred = |r: std::ops::Range<f64>, px: u32| {
        let (c, half) = (0.5 * (r.start + r.end), 0.5 * per_px * px as f64);
        (c - half)..(c + half)
    };
    (centred(x, w), centred(y, h))
}

struct EigenFigure {
    title: String,
    colour: RGBColor,
    model: String,
    /// Each true fixed point's eigenvalues.
    truth: Vec<Vec<(f64, f64)>>,
    /// Each model fixed point's eigenvalues, with the index of the true
    /// point it lies nearest to (its own index without a truth).
    points: Vec<(usize, Vec<(f64, f64)>)>,
}

const EIGEN_MARGIN: u32 = 15;
const EIGEN_X_LABELS: u32 = 45;
const EIGEN_Y_LABELS: u32 = 60;
const EIGEN_CAPTION: u32 = 60;

impl EigenFigure {
    fn all(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.truth
            .iter()
            .flatten()
            .chain(self.points.iter().flat_map(|p| &p.1))
            .copied()
    }

    fn draw_points<DB: DrawingBackend, CT>(
        &self,
        chart: &mut ChartContext<'_, DB, CT>,
        size: i32,
    ) -> Result<(), String>
    where
        CT: plotters::coord::CoordTranslate<From = (f64, f64)>,
    {
        let area = chart.plotting_area();
        for (k, ev) in self.truth.iter().enumerate() {
            for &p in ev {
                let mark = Mark::Shape {
                    k,
                    colour: style::TRUTH,
                    size: size + 3,
                };
                style::draw_mark(area, p, mark)?;
            }
        }
        for (k, ev) in &self.points {
            for &p in ev {
                let mark = Mark::Shape {
                    k: *k,
                    colour: self.colour,
                    size,
                };
                style::draw_mark(area, p, mark)?;
            }
        }
        Ok(())
    }
}

impl Figure for EigenFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (w, h) = root.dim_in_pixel();
        let (title, body) = root.split_vertically(EIGEN_CAPTION as i32);
        for (i, line) in self.title.lines().enumerate() {
            title
                .draw(&Text::new(
                    line,
                    (20, 10 + 22 * i as i32),
                    (FONT, if i == 0 { 20 } else { 15 })
                        .into_font()
                        .color(&BLACK),
                ))
                .map_err(err)?;
        }
        let plot = (
            w - 2 * EIGEN_MARGIN - EIGEN_Y_LABELS,
            h - EIGEN_CAPTION - 2 * EIGEN_MARGIN - EIGEN_X_LABELS,
        );
        let (xr, yr) = equal_aspect(
            range(self.all().map(|p| p.0).chain([-1.05, 1.05])),
            range(self.all().map(|p| p.1).chain([-1.05, 1.05])),
            plot,
        );
        let mut chart = ChartBuilder::on(&body)
            .margin(EIGEN_MARGIN)
            .x_label_area_size(EIGEN_X_LABELS)
            .y_label_area_size(EIGEN_Y_LABELS)
            .build_cartesian_2d(xr, yr)
            .map_err(err)?;
        let f = |v: &f64| style::tick(*v);
        chart
            .configure_mesh()
            .x_desc("Re λ (one-bin map)")
            .y_desc("Im λ")
            .x_label_formatter(&f)
            .y_label_formatter(&f)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        let circle = |from: f64, to: f64| {
            (0..=720).map(move |i| {
                let a = (from + (to - from) * i as f64 / 720.0).to_radians();
                (a.cos(), a.sin())
            })
        };
        chart
            .draw_series(LineSeries::new(
                circle(0.0, 360.0),
                style::CONTEXT.stroke_width(1),
            ))
            .map_err(err)?;
        self.draw_points(&mut chart, 5)?;
        // Legend: the circle, one entry per fixed point's shape, then whose
        // is whose.
        let mut legend = vec![(
            Mark::Line {
                colour: style::CONTEXT,
                dash: Dash::Solid,
            },
            "unit circle (|λ| = 1, the stability edge)".to_owned(),
        )];
        let n = self
            .truth
            .len()
            .max(self.points.iter().map(|p| p.0 + 1).max().unwrap_or(0));
        // Four shapes: past four points a shape stands for every fourth.
        for k in 0..n.min(4) {
            let mark = Mark::Shape {
                k,
                colour: style::CONTEXT,
                size: 6,
            };
            let same: Vec<String> = (k..n).step_by(4).map(|j| (j + 1).to_string()).collect();
            let label = match same.as_slice() {
                [one] => format!("fixed point {one}"),
                many if many.len() > 3 => format!("fixed points {}, …", many[..3].join(", ")),
                many => format!("fixed points {}", many.join(", ")),
            };
            legend.push((mark, label));
        }
        let whose = |colour, size| Mark::Shape { k: 0, colour, size };
        if !self.truth.is_empty() {
            legend.push((whose(style::TRUTH, 8), "true (black, large)".to_owned()));
        }
        legend.push((
            whose(self.colour, 5),
            format!("{} (colour, small)", self.model),
        ));
        let plain = chart.plotting_area().strip_coord_spec();
        style::draw_legend(&plain, &legend, Place::TopLeft(8, 8), 13)?;
        // The inset: near 1 + 0i, where a continuous flow's eigenvalues
        // crowd (λ ≈ 1 + μ·dt), on a square of the same aspect.
        let near: Vec<(f64, f64)> = self
            .all()
            .filter(|p| (p.0 - 1.0).hypot(p.1) < 0.5)
            .collect();
        if near.is_empty() {
            return Ok(());
        }
        let r = near
            .iter()
            .map(|p| (p.0 - 1.0).abs().max(p.1.abs()))
            .fold(0.0_f64, f64::max)
            .max(0.01)
            * 1.3;
        // The inset's side is 0.7 in the main chart's units: only worth it
        // when it magnifies at least twice.
        if 2.0 * r > 0.35 {
            return Ok(());
        }
        // Inside the unit circle, where the fewest eigenvalues lie.
        let boxes = [(-0.8, -0.35), (-0.35, 0.1), (-0.35, -0.8)];
        let side = 0.7;
        let count = |&(x0, y0): &(f64, f64)| {
            self.all()
                .filter(|p| p.0 >= x0 && p.0 <= x0 + side && p.1 >= y0 && p.1 <= y0 + side)
                .count()
        };
        let (x0, y0) = boxes.iter().copied().min_by_key(count).unwrap_or(boxes[0]);
        let corner = chart.backend_coord(&(x0, y0 + side));
        let far = chart.backend_coord(&(x0 + side, y0));
        let base = body.get_base_pixel();
        let px = (far.0 - corner.0).min(far.1 - corner.1).max(80);
        let inset = body.shrink(
            (corner.0 - base.0, corner.1 - base.1),
            (px as u32, px as u32),
        );
        inset.fill(&WHITE).map_err(err)?;
        let zoom = ((1.0 - r)..(1.0 + r), -r..r);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(zoom.0.start, zoom.1.start), (zoom.0.end, zoom.1.end)],
                BLACK.mix(0.6).stroke_width(1),
            )))
            .map_err(err)?;
        let mut zoomed = ChartBuilder::on(&inset)
            .margin(4)
            .x_label_area_size(18)
            .y_label_area_size(34)
            .caption(format!("zoom: 1 ± {}", style::tick(r)), (FONT, 12))
            .build_cartesian_2d(zoom.0, zoom.1)
            .map_err(err)?;
        zoomed
            .configure_mesh()
            .x_labels(3)
            .y_labels(3)
            .x_label_formatter(&f)
            .y_label_formatter(&f)
            .label_style((FONT, 10))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        // The arc of the unit circle that crosses the inset.
        let half = (r * 1.5).min(1.0).asin().to_degrees();
        zoomed
            .draw_series(LineSeries::new(
                circle(-half, half),
                style::CONTEXT.stroke_width(1),
            ))
            .map_err(err)?;
        self.draw_points(&mut zoomed, 4)?;
        inset
            .draw(&Rectangle::new(
                [(0, 0), (px - 1, px - 1)],
                BLACK.stroke_width(1),
            ))
            .map_err(err)?;
        Ok(())
    }
}

/// The fixed points' one-bin eigenvalues in the complex plane with the unit
/// circle, model against truth, on equal axes with a zoom near 1 + 0i. Each
/// fixed point has its own mark; a model point takes the mark of the true
/// point it lies nearest to on the true axes. Writes `eigenvalues.svg` and
/// `.png`.
pub fn eigenvalues(fig: &RunFigures<'_>, dir: &Path) -> Result<Vec<PathBuf>, FigureError> {
    let ev = |p: &FixedPoint| {
        p.eigenvalues
            .iter()
            .map(|e| (e.re, e.im))
            .collect::<Vec<_>>()
    };
    let l = fig.inferred.ncols();
    let nearest: Vec<usize> = match fig.to_true {
        Some(m) if !fig.true_points.is_empty() && !fig.model_points.is_empty() => {
            let mapped = m.apply(locations(fig.model_points, l).view())?;
            mapped
                .outer_iter()
                .map(|r| {
                    let d = |t: &FixedPoint| {
                        t.location
                            .iter()
                            .zip(r.iter())
                            .map(|(a, b)| (a - b).powi(2))
                            .sum::<f64>()
                    };
                    (0..fig.true_points.len())
                        .min_by(|&a, &b| d(&fig.true_points[a]).total_cmp(&d(&fig.true_points[b])))
                        .unwrap_or(0)
                })
                .collect()
        }
        _ => (0..fig.model_points.len()).collect(),
    };
    let f = EigenFigure {
        title: format!(
            "{}: eigenvalues of the fixed points\n{} model, {}; one mark per fixed point",
            fig.title,
            fig.model_points.len(),
            if fig.true_latents.ncols() == 0 {
                "no truth (a recording)".to_owned()
            } else {
                format!("{} true fixed points", fig.true_points.len())
            }
        ),
        colour: style::model_colour(fig.model),
        model: fig.model.to_owned(),
        truth: fig.true_points.iter().map(ev).collect(),
        points: nearest
            .into_iter()
            .zip(fig.model_points)
            .map(|(k, p)| (k, ev(p)))
            .collect(),
    };
    Ok(save_svg_and_png(&f, dir, "eigenvalues", (760, 780))?.into())
}

/// An arrow: base, offset to the tip, speed in [0, 1].
type Arrow = ((f64, f64), (f64, f64), f64);

/// The velocity the flow figure draws: `[points, L]` → `[points, L]`.
pub type Velocity<'a> = dyn Fn(&Array2<f64>) -> Result<Array2<f64>, AnalysisError> + 'a;

struct FlowFigure {
    title: String,
    axes: [String; 2],
    arrows: Vec<Arrow>,
    lines: Vec<Vec<(f64, f64)>>,
    /// Fixed points: where, and whether stable.
    points: Vec<((f64, f64), bool)>,
    colour: RGBColor,
    model: String,
    /// The slowest and fastest speed drawn (the colour scale's ends).
    speeds: (f64, f64),
    xr: std::ops::Range<f64>,
    yr: std::ops::Range<f64>,
}

/// Width of the colour bar's strip, right of the flow.
const COLOUR_BAR: u32 = 120;

impl FlowFigure {
    /// The colour bar: viridis from the slowest (bottom) to the fastest
    /// (top) speed, log-spaced like the arrows' colours.
    fn draw_colour_bar<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), String> {
        let (smin, smax) = self.speeds;
        let h = area.dim_in_pixel().1 as i32;
        let (top, bottom) = (70, h - 70);
        let (x0, x1) = (12, 30);
        let steps = 100;
        for i in 0..steps {
            let t = (i as f64 + 0.5) / steps as f64;
            let y_of = |k: i32| bottom - (bottom - top) * k / steps;
            area.draw(&Rectangle::new(
                [(x0, y_of(i + 1)), (x1, y_of(i))],
                style::viridis(t).filled(),
            ))
            .map_err(err)?;
        }
        area.draw(&Rectangle::new(
            [(x0, top), (x1, bottom)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
        let font = (FONT, 13).into_font().color(&BLACK);
        let at = |t: f64| {
            if smax > smin && smin > 0.0 {
                smin * (smax / smin).powf(t)
            } else {
                smax
            }
        };
        for t in [0.0, 0.5, 1.0] {
            let y = bottom - ((bottom - top) as f64 * t) as i32;
            area.draw(&PathElement::new([(x1, y), (x1 + 4, y)], BLACK))
                .map_err(err)?;
            area.draw(&Text::new(
                style::significant(at(t), 2),
                (x1 + 7, y - 7),
                font.clone(),
            ))
            .map_err(err)?;
        }
        let label = (FONT, 14)
            .into_font()
            .color(&BLACK)
            .transform(FontTransform::Rotate270);
        let text = "speed in the plane (latent units per bin, log scale)";
        let half = area
            .estimate_text_size(text, &(FONT, 14).into_font().color(&BLACK))
            .map_or(130, |s| s.0 as i32 / 2);
        area.draw(&Text::new(
            text,
            (x1 + 62, (top + bottom) / 2 + half),
            label,
        ))
        .map_err(err)?;
        Ok(())
    }
}

impl Figure for FlowFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let w = root.dim_in_pixel().0;
        let (main, bar) = root.split_horizontally(w as i32 - COLOUR_BAR as i32);
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, (FONT, 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(self.xr.clone(), self.yr.clone())
            .map_err(err)?;
        let f = |v: &f64| style::tick(*v);
        chart
            .configure_mesh()
            .x_desc(self.axes[0].as_str())
            .y_desc(self.axes[1].as_str())
            .x_label_formatter(&f)
            .y_label_formatter(&f)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for l in &self.lines {
            chart
                .draw_series(LineSeries::new(l.iter().copied(), style::CONTEXT.mix(0.45)))
                .map_err(err)?;
        }
        for &((x, y), (dx, dy), s) in &self.arrows {
            let c = style::viridis(s);
            let tip = (x + dx, y + dy);
            // Arrow head: two short strokes back from the tip, ±25°.
            let (hx, hy) = (-dx * 0.35, -dy * 0.35);
            let rot = |a: f64| (hx * a.cos() - hy * a.sin(), hx * a.sin() + hy * a.cos());
            let (l1, l2) = (rot(0.45), rot(-0.45));
            chart
                .draw_series([
                    PathElement::new(vec![(x, y), tip], c.stroke_width(2)),
                    PathElement::new(vec![tip, (tip.0 + l1.0, tip.1 + l1.1)], c.stroke_width(2)),
                    PathElement::new(vec![tip, (tip.0 + l2.0, tip.1 + l2.1)], c.stroke_width(2)),
                ])
                .map_err(err)?;
        }
        let mark = |stable| Mark::FixedPoint {
            stable,
            colour: self.colour,
            size: 7,
        };
        for &(p, stable) in &self.points {
            style::draw_mark(chart.plotting_area(), p, mark(stable))?;
        }
        let mut legend = vec![(
            Mark::Line {
                colour: style::CONTEXT,
                dash: Dash::Solid,
            },
            format!("{} trajectories", self.model),
        )];
        if self.points.iter().any(|p| p.1) {
            legend.push((mark(true), "stable fixed point".to_owned()));
        }
        if self.points.iter().any(|p| !p.1) {
            legend.push((mark(false), "unstable or saddle fixed point".to_owned()));
        }
        let plain = chart.plotting_area().strip_coord_spec();
        style::draw_legend(&plain, &legend, Place::TopRight(8, 8), 14)?;
        self.draw_colour_bar(&bar)
    }
}

/// The learned flow in the plane of the model's top two principal components
/// (other components held at their mean): arrows of the one-bin displacement
/// `velocity(x)` projected onto the plane, normalised in length and coloured
/// by speed (viridis, log-scaled, with a colour bar), with trajectories and
/// fixed points (filled when stable) projected. `velocity` maps `[points, L]` to `[points, L]` (e.g. `F(x) − x`
/// or `f(x)`). Writes `flow.svg` and `.png`.
pub fn flow_field(
    fig: &RunFigures<'_>,
    velocity: &Velocity<'_>,
    dir: &Path,
) -> Result<Vec<PathBuf>, FigureError> {
    let l = fig.inferred.ncols();
    if l < 2 {
        return Err(FigureError::Input {
            what: "latents",
            reason: format!("a flow plane needs L ≥ 2, not {l}"),
        });
    }
    let pca = Pca::fit(fig.inferred, 2)?;
    let proj = pca.project(fig.inferred);
    let pts = pca.project(locations(fig.model_points, l).view());
    let xr = range(
        proj.column(0)
            .iter()
            .copied()
            .chain(pts.column(0).iter().copied()),
    );
    let yr = range(
        proj.column(1)
            .iter()
            .copied()
            .chain(pts.column(1).iter().copied()),
    );
    let n = 22;
    let mut grid = Array2::zeros((n * n, l));
    let mut at = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            let a = xr.start + (xr.end - xr.start) * (i as f64 + 0.5) / n as f64;
            let b = yr.start + (yr.end - yr.start) * (j as f64 + 0.5) / n as f64;
            let x = &pca.mean + &(&pca.components.row(0) * a) + &(&pca.components.row(1) * b);
            grid.row_mut(i * n + j).assign(&x);
            at.push((a, b));
        }
    }
    let v = velocity(&grid)?.dot(&pca.components.t());
    let speeds: Vec<f64> = v.outer_iter().map(|r| r[0].hypot(r[1])).collect();
    let (smin, smax) = speeds
        .iter()
        .filter(|s| s.is_finite() && **s > 0.0)
        .fold((f64::INFINITY, 0.0_f64), |(a, b), &s| (a.min(s), b.max(s)));
    let (cx, cy) = (
        0.8 * (xr.end - xr.start) / n as f64,
        0.8 * (yr.end - yr.start) / n as f64,
    );
    let arrows = at
        .iter()
        .zip(v.outer_iter())
        .zip(&speeds)
        .filter(|(_, s)| s.is_finite() && **s > 0.0)
        .map(|((&p, r), &s)| {
            // Direction in screen-normalised units so arrows look equally long.
            let (ux, uy) = (r[0] / (xr.end - xr.start), r[1] / (yr.end - yr.start));
            let norm = ux.hypot(uy).max(f64::MIN_POSITIVE);
            let t = if smax > smin {
                (s / smin).ln() / (smax / smin).ln()
            } else {
                0.5
            };
            (p, (cx * ux / norm, cy * uy / norm), t)
        })
        .collect();
    let lines = (0..fig.trials.min(proj.nrows() / fig.steps.max(1)))
        .map(|t| {
            (t * fig.steps..(t + 1) * fig.steps)
                .map(|i| (proj[[i, 0]], proj[[i, 1]]))
                .collect()
        })
        .collect();
    let ev = 100.0 * (pca.explained[0] + pca.explained[1]);
    let f = FlowFigure {
        title: format!(
            "{} (L = {l}): flow on the top 2 PCs ({ev:.1} % var.)",
            fig.title
        ),
        axes: [
            format!("PC1 ({:.1} %)", 100.0 * pca.explained[0]),
            format!("PC2 ({:.1} %)", 100.0 * pca.explained[1]),
        ],
        arrows,
        lines,
        points: pts
            .outer_iter()
            .zip(fig.model_points)
            .map(|(r, p)| ((r[0], r[1]), style::is_stable(p)))
            .collect(),
        colour: style::model_colour(fig.model),
        model: fig.model.to_owned(),
        speeds: (smin, smax),
        xr,
        yr,
    };
    Ok(save_svg_and_png(&f, dir, "flow", (800 + COLOUR_BAR, 720))?.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_aspect_gives_both_axes_one_scale_and_covers_the_data() {
        let (x, y) = equal_aspect(-1.0..2.0, -0.5..0.5, (600, 400));
        let (sx, sy) = ((x.end - x.start) / 600.0, (y.end - y.start) / 400.0);
        assert!((sx - sy).abs() < 1e-12, "{sx} {sy}");
        assert!(x.start <= -1.0 && x.end >= 2.0 && y.start <= -0.5 && y.end >= 0.5);
        // Centred on the data.
        assert!((x.start + x.end - 1.0).abs() < 1e-12 && (y.start + y.end).abs() < 1e-12);
        // A tall plot stretches y instead.
        let (x, y) = equal_aspect(-1.0..1.0, -1.0..1.0, (300, 600));
        assert_eq!(x, -1.0..1.0);
        assert_eq!(y, -2.0..2.0);
    }

    #[test]
    fn the_truth_and_the_mapped_panel_share_limits_that_cover_both() {
        let a = [0.0..1.0, -1.0..0.0, 2.0..3.0];
        let b = [0.5..2.0, -3.0..-2.0, 2.5..2.6];
        assert_eq!(union(&a, &b), [0.0..2.0, -3.0..0.0, 2.0..3.0]);
    }
}
