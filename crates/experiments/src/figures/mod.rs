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

pub use learning::learning_curves;

use std::path::{Path, PathBuf};
use std::sync::Once;

use latentdyn_analysis::{AffineMap, AnalysisError, FixedPoint};
use nalgebra::{DMatrix, SymmetricEigen};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

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

const MODEL_COLOR: RGBColor = RGBColor(214, 39, 40);
const TRUTH_COLOR: RGBColor = RGBColor(31, 119, 180);

/// Colours of conditions, in the order of the conditions' sorted labels
/// (matplotlib's `tab10`), repeating after ten.
const CONDITION_COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One 3-D panel: trajectories and fixed points in three coordinates.
struct Panel {
    title: String,
    axes: [String; 3],
    lines: Vec<Vec<(f64, f64, f64)>>,
    points: Vec<(f64, f64, f64)>,
    color: RGBColor,
    /// One colour per line (by condition), overriding `color`.
    line_colors: Option<Vec<RGBColor>>,
}

fn pad3(row: ndarray::ArrayView1<'_, f64>) -> (f64, f64, f64) {
    let g = |i: usize| row.get(i).copied().unwrap_or(0.0);
    (g(0), g(1), g(2))
}

impl Panel {
    fn new(
        title: String,
        axes: [String; 3],
        x: &Array2<f64>,
        pts: &Array2<f64>,
        steps: usize,
        trials: usize,
        color: RGBColor,
    ) -> Self {
        let lines = (0..trials.min(x.nrows() / steps.max(1)))
            .map(|t| {
                (t * steps..(t + 1) * steps)
                    .map(|i| pad3(x.row(i)))
                    .collect()
            })
            .collect();
        let points = pts.outer_iter().map(pad3).collect();
        Panel {
            title,
            axes,
            lines,
            points,
            color,
            line_colors: None,
        }
    }

    /// Colours each trial's line by its condition.
    fn coloured_by(mut self, conditions: &[i64]) -> Self {
        let mut keys = conditions.to_vec();
        keys.sort_unstable();
        keys.dedup();
        let colour = |c: &i64| {
            let k = keys.binary_search(c).unwrap_or(0);
            CONDITION_COLORS[k % CONDITION_COLORS.len()]
        };
        self.line_colors = Some(
            conditions
                .iter()
                .take(self.lines.len())
                .map(colour)
                .collect(),
        );
        self.axes[2] = format!("{}   colour: condition", self.axes[2]);
        self
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let all = || self.lines.iter().flatten().chain(&self.points);
        let (xr, yr, zr) = (
            range(all().map(|p| p.0)),
            range(all().map(|p| p.1)),
            range(all().map(|p| p.2)),
        );
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT, 20))
            .margin(10)
            .margin_bottom(34)
            .build_cartesian_3d(xr, yr, zr)
            .map_err(err)?;
        chart.with_projection(|mut p| {
            p.pitch = 0.45;
            p.yaw = 0.7;
            p.scale = 0.85;
            p.into_matrix()
        });
        chart
            .configure_axes()
            .label_style((FONT, 12))
            .max_light_lines(2)
            .draw()
            .map_err(err)?;
        for (i, l) in self.lines.iter().enumerate() {
            let line_color = match &self.line_colors {
                Some(c) => c.get(i).copied().unwrap_or(self.color).mix(0.7),
                None => self.color.mix(0.35),
            };
            chart
                .draw_series(LineSeries::new(
                    l.iter().copied(),
                    line_color.stroke_width(1),
                ))
                .map_err(err)?;
        }
        chart
            .draw_series(
                self.points
                    .iter()
                    .map(|&p| Circle::new(p, 7, BLACK.filled())),
            )
            .map_err(err)?;
        chart
            .draw_series(
                self.points
                    .iter()
                    .map(|&p| Circle::new(p, 4, YELLOW.filled())),
            )
            .map_err(err)?;
        // Axis names, which plotters' 3-D charts do not draw, under the chart.
        let height = area.dim_in_pixel().1 as i32;
        area.draw(&Text::new(
            format!(
                "x: {}   y: {}   z: {}   ● fixed points",
                self.axes[0], self.axes[1], self.axes[2]
            ),
            (10, height - 22),
            (FONT, 14).into_font().color(&BLACK),
        ))
        .map_err(err)?;
        Ok(())
    }
}

struct Panels(Vec<Panel>);

impl Figure for Panels {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let areas = root.split_evenly((1, self.0.len().max(1)));
        for (p, a) in self.0.iter().zip(&areas) {
            p.draw(a)?;
        }
        Ok(())
    }
}

fn locations(points: &[FixedPoint], dim: usize) -> Array2<f64> {
    Array2::from_shape_fn((points.len(), dim), |(i, j)| {
        points[i].location.get(j).copied().unwrap_or(0.0)
    })
}

/// 3-D latent trajectories with fixed points: truth, model (top three PCs when
/// L > 3) and — with a map — the model on the true axes. Writes
/// `trajectories.svg` and `.png` into `dir`.
pub fn trajectories(fig: &RunFigures<'_>, dir: &Path) -> Result<Vec<PathBuf>, FigureError> {
    let l = fig.inferred.ncols();
    let names = |p: &str| [format!("{p}1"), format!("{p}2"), format!("{p}3")];
    let mut panels = Vec::new();
    if fig.true_latents.ncols() > 0 {
        let tp = locations(fig.true_points, fig.true_latents.ncols());
        panels.push(Panel::new(
            "truth".into(),
            names("z"),
            &fig.true_latents.to_owned(),
            &tp,
            fig.steps,
            fig.trials,
            TRUTH_COLOR,
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
            names("PC"),
        )
    } else {
        (
            fig.inferred.to_owned(),
            mp,
            format!("{} (L = {l})", fig.title),
            names("x"),
        )
    };
    let model = Panel::new(title, axes, &x, &p, fig.steps, fig.trials, MODEL_COLOR);
    panels.push(match fig.conditions {
        Some(c) => model.coloured_by(c),
        None => model,
    });
    if let Some(m) = fig.to_true {
        let x = m.apply(fig.inferred)?;
        let p = m.apply(locations(fig.model_points, l).view())?;
        panels.push(Panel::new(
            "model mapped onto the true axes".into(),
            names("z"),
            &x,
            &p,
            fig.steps,
            fig.trials,
            MODEL_COLOR,
        ));
    }
    let w = 560 * panels.len() as u32;
    Ok(save_svg_and_png(&Panels(panels), dir, "trajectories", (w, 560))?.into())
}

struct EigenFigure {
    title: String,
    truth: Vec<(f64, f64)>,
    model: Vec<(f64, f64)>,
}

impl Figure for EigenFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let all = || self.truth.iter().chain(&self.model);
        let xr = range(all().map(|p| p.0).chain([-1.05, 1.05]));
        let yr = range(all().map(|p| p.1).chain([-1.05, 1.05]));
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(xr, yr)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("Re λ")
            .y_desc("Im λ")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                (0..=360).map(|i| {
                    let a = (i as f64).to_radians();
                    (a.cos(), a.sin())
                }),
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(err)?
            .label("unit circle")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.5)));
        chart
            .draw_series(
                self.truth
                    .iter()
                    .map(|&p| Circle::new(p, 7, TRUTH_COLOR.stroke_width(2))),
            )
            .map_err(err)?
            .label("truth")
            .legend(|(x, y)| Circle::new((x + 9, y), 6, TRUTH_COLOR.stroke_width(2)));
        chart
            .draw_series(
                self.model
                    .iter()
                    .map(|&p| Cross::new(p, 6, MODEL_COLOR.stroke_width(2))),
            )
            .map_err(err)?
            .label("model")
            .legend(|(x, y)| Cross::new((x + 9, y), 6, MODEL_COLOR.stroke_width(2)));
        chart
            .configure_series_labels()
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

/// The fixed points' one-bin eigenvalues in the complex plane with the unit
/// circle, model against truth. Writes `eigenvalues.svg` and `.png`.
pub fn eigenvalues(fig: &RunFigures<'_>, dir: &Path) -> Result<Vec<PathBuf>, FigureError> {
    let pts = |ps: &[FixedPoint]| {
        ps.iter()
            .flat_map(|p| p.eigenvalues.iter().map(|e| (e.re, e.im)))
            .collect::<Vec<_>>()
    };
    let f = EigenFigure {
        title: format!(
            "{}: one-bin eigenvalues ({} model, {} true fixed points)",
            fig.title,
            fig.model_points.len(),
            fig.true_points.len()
        ),
        truth: pts(fig.true_points),
        model: pts(fig.model_points),
    };
    Ok(save_svg_and_png(&f, dir, "eigenvalues", (760, 700))?.into())
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
    points: Vec<(f64, f64)>,
    xr: std::ops::Range<f64>,
    yr: std::ops::Range<f64>,
}

fn speed_color(t: f64) -> RGBColor {
    // Light blue (slow) to dark red (fast).
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t) as u8;
    RGBColor(lerp(120.0, 180.0), lerp(170.0, 20.0), lerp(230.0, 30.0))
}

impl Figure for FlowFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(self.xr.clone(), self.yr.clone())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(self.axes[0].as_str())
            .y_desc(self.axes[1].as_str())
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (i, l) in self.lines.iter().enumerate() {
            let s = chart
                .draw_series(LineSeries::new(l.iter().copied(), BLACK.mix(0.25)))
                .map_err(err)?;
            if i == 0 {
                s.label("trajectories")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.4)));
            }
        }
        for &((x, y), (dx, dy), s) in &self.arrows {
            let c = speed_color(s);
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
        chart
            .draw_series(
                self.points
                    .iter()
                    .map(|&p| Circle::new(p, 7, BLACK.filled())),
            )
            .map_err(err)?
            .label("fixed points")
            .legend(|(x, y)| Circle::new((x + 9, y), 5, BLACK.filled()));
        chart
            .draw_series(
                self.points
                    .iter()
                    .map(|&p| Circle::new(p, 4, YELLOW.filled())),
            )
            .map_err(err)?;
        chart
            .configure_series_labels()
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

/// The learned flow in the plane of the model's top two principal components
/// (other components held at their mean): arrows of the one-bin displacement
/// `velocity(x)` projected onto the plane, normalised in length and coloured
/// by speed (blue slow, red fast), with trajectories and fixed points
/// projected. `velocity` maps `[points, L]` to `[points, L]` (e.g. `F(x) − x`
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
        points: pts.outer_iter().map(|r| (r[0], r[1])).collect(),
        xr,
        yr,
    };
    Ok(save_svg_and_png(&f, dir, "flow", (800, 720))?.into())
}
