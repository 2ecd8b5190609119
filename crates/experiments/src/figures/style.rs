//! The figures' one visual language, so that a colour or a mark means the
//! same thing in every figure of the crate:
//!
//! - **colour says which model**: [`model_colour`] (GRU blue, NODE
//!   vermillion, the discrete NODE and the ablation configs, which are all
//!   discrete, purple); **black is the truth** ([`TRUTH`]); grey is context
//!   (trajectories behind a flow, the loss horizon: [`CONTEXT`]);
//! - **fill says whose number** in the comparisons: ours solid, published
//!   hollow with a dashed line, in the model's colour;
//! - **fill says stability** for fixed points: filled when stable, hollow
//!   otherwise ([`Mark::FixedPoint`]);
//! - a recording's conditions take [`condition_colour`], a palette without
//!   the model colours; a continuous quantity (speed) takes [`viridis`];
//! - tick labels come from [`tick`] (no `-0.0`, no trailing zeros).
//!
//! A test checks that no two of these colours coincide.

use latentdyn_analysis::{FixedPoint, StabilityClass};
use plotters::chart::ChartContext;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

/// The truth: true trajectories, true fixed points, their eigenvalues.
pub const TRUTH: RGBColor = RGBColor(0x1a, 0x1a, 0x1a);

/// Context drawn behind the data (trajectories under a flow, the horizon K).
pub const CONTEXT: RGBColor = RGBColor(0x88, 0x88, 0x88);

const GRU: RGBColor = RGBColor(0x00, 0x72, 0xb2);
const NODE: RGBColor = RGBColor(0xd5, 0x5e, 0x00);
const DISCRETE: RGBColor = RGBColor(0x7b, 0x3f, 0x9e);
const OTHER: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// The colour of a model preset, the same in every figure: `gru` blue,
/// `node` vermillion, `node-discrete` and the ablation configs purple,
/// anything else dark grey.
pub fn model_colour(model: &str) -> RGBColor {
    match model {
        "gru" => GRU,
        "node" => NODE,
        "node-discrete" => DISCRETE,
        m if m.starts_with("ablation") => DISCRETE,
        _ => OTHER,
    }
}

/// `colour` lightened towards white by `f` in [0, 1] (a second series of
/// one model).
pub fn tint(colour: RGBColor, f: f64) -> RGBColor {
    let f = f.clamp(0.0, 1.0);
    let l = |c: u8| (c as f64 + (255.0 - c as f64) * f).round() as u8;
    RGBColor(l(colour.0), l(colour.1), l(colour.2))
}

/// Colours of a recording's conditions, in the order of their sorted labels,
/// repeating after ten; none is a model's colour or the truth's.
const CONDITIONS: [RGBColor; 10] = [
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
    RGBColor(0xf0, 0xe4, 0x42),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x7f),
];

/// The colour of the `k`-th condition (by sorted label).
pub fn condition_colour(k: usize) -> RGBColor {
    CONDITIONS[k % CONDITIONS.len()]
}

/// Matplotlib's viridis at `t` in [0, 1] (clamped), from nine of its
/// samples, interpolated linearly: dark purple (0) to yellow (1).
pub fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 45, 123),
        (59, 82, 139),
        (44, 114, 142),
        (33, 145, 140),
        (40, 174, 128),
        (94, 201, 98),
        (173, 220, 48),
        (253, 231, 37),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let lerp = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

/// A tick label: at most three decimals, trailing zeros trimmed, and never
/// `-0`.
pub fn tick(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    match s {
        "-0" | "" => "0".to_owned(),
        s => s.to_owned(),
    }
}

/// `v` with `digits` significant digits, in plain notation from 1e-3 to
/// 1e5 and scientific outside (a colour bar's or a table's number).
pub fn significant(v: f64, digits: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return tick(v);
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-3..5).contains(&magnitude) {
        return format!("{v:.*e}", digits.saturating_sub(1));
    }
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// Whether a fixed point is drawn filled: every direction stable.
pub fn is_stable(p: &FixedPoint) -> bool {
    p.stability.class == StabilityClass::Stable
}

/// A mark, drawn by [`draw_mark`] at a point of any coordinate system and
/// in legends ([`draw_legend`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mark {
    /// A fixed point: a circle of radius `size`, filled when stable, a thick
    /// ring on white when not.
    FixedPoint {
        /// Every direction stable.
        stable: bool,
        /// Whose point (the truth's or a model's colour).
        colour: RGBColor,
        /// Radius in pixels.
        size: i32,
    },
    /// The `k`-th of a set told apart by shape (circle, triangle, square,
    /// cross, repeating), hollow.
    Shape {
        /// Which shape.
        k: usize,
        /// Whose.
        colour: RGBColor,
        /// Radius in pixels.
        size: i32,
    },
    /// A line segment (legends only; a point draws nothing).
    Line {
        /// Its colour.
        colour: RGBColor,
        /// Its pattern.
        dash: Dash,
    },
    /// A value's marker: ours (filled circle) or published (hollow
    /// triangle), in legends on a line (solid or dashed) when the figure
    /// joins the values by one.
    Value {
        /// The model's colour.
        colour: RGBColor,
        /// Published rather than ours.
        published: bool,
        /// Whether the legend shows the joining line too.
        line: bool,
    },
}

/// The closed outline of an upward triangle of `size` pixels around the
/// origin (plotters' `TriangleMarker` is always filled).
fn triangle(size: i32) -> Vec<(i32, i32)> {
    let w = (0.87 * size as f64).round() as i32;
    vec![(0, -size), (w, size / 2), (-w, size / 2), (0, -size)]
}

fn de<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Draws `mark` at `at` on `area`.
pub fn draw_mark<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    mark: Mark,
) -> Result<(), String>
where
    CT::From: Clone,
{
    match mark {
        Mark::FixedPoint {
            stable: true,
            colour,
            size,
        } => area
            .draw(&Circle::new(at, size, colour.filled()))
            .map_err(de),
        Mark::FixedPoint {
            stable: false,
            colour,
            size,
        } => area
            .draw(
                &(EmptyElement::at(at)
                    + Circle::new((0, 0), size, WHITE.filled())
                    + Circle::new((0, 0), size, colour.stroke_width(3))),
            )
            .map_err(de),
        Mark::Shape { k, colour, size } => {
            let stroke = colour.stroke_width(2);
            match k % 4 {
                0 => area.draw(&Circle::new(at, size, stroke)),
                1 => area
                    .draw(&(EmptyElement::at(at) + PathElement::new(triangle(size + 1), stroke))),
                2 => area.draw(
                    &(EmptyElement::at(at)
                        + Rectangle::new([(1 - size, 1 - size), (size - 1, size - 1)], stroke)),
                ),
                _ => area.draw(&Cross::new(at, size, stroke)),
            }
            .map_err(de)
        }
        Mark::Line { .. } => Ok(()),
        Mark::Value {
            colour,
            published: false,
            ..
        } => area.draw(&Circle::new(at, 4, colour.filled())).map_err(de),
        Mark::Value {
            colour,
            published: true,
            ..
        } => area
            .draw(
                &(EmptyElement::at(at)
                    + Polygon::new(triangle(6), WHITE.filled())
                    + PathElement::new(triangle(6), colour.stroke_width(2))),
            )
            .map_err(de),
    }
}

/// A line's pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dash {
    /// Unbroken.
    Solid,
    /// 6-pixel dashes (published values).
    Dashed,
    /// Dots.
    Dotted,
    /// 12-pixel dashes.
    Long,
}

/// Draws `points` as a line of `colour` and `dash`, `width` pixels wide, on
/// `chart`.
pub fn draw_line<DB: DrawingBackend, CT>(
    chart: &mut ChartContext<'_, DB, CT>,
    points: Vec<CT::From>,
    colour: RGBColor,
    dash: Dash,
    width: u32,
) -> Result<(), String>
where
    CT: CoordTranslate,
    CT::From: Clone + 'static,
{
    let style = colour.stroke_width(width);
    let dashed = |size: i32, gap: i32| DashedLineSeries::new(points.clone(), size, gap, style);
    match dash {
        Dash::Solid => chart
            .draw_series(LineSeries::new(points.clone(), style))
            .map(|_| ()),
        Dash::Dashed => chart.draw_series(dashed(6, 4)).map(|_| ()),
        Dash::Dotted => chart.draw_series(dashed(2, 3)).map(|_| ()),
        Dash::Long => chart.draw_series(dashed(12, 4)).map(|_| ()),
    }
    .map_err(de)
}

/// Draws a legend entry's mark centred in a 22-pixel-wide slot at `(x, y)`.
fn draw_legend_mark<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    mark: Mark,
) -> Result<(), String> {
    let segment = |colour: RGBColor, dash: Dash| -> Result<(), String> {
        let pieces: &[(i32, i32)] = match dash {
            Dash::Solid => &[(0, 22)],
            Dash::Dashed => &[(0, 6), (9, 13), (16, 22)],
            Dash::Dotted => &[(0, 2), (5, 7), (10, 12), (15, 17), (20, 22)],
            Dash::Long => &[(0, 9), (13, 22)],
        };
        for &(a, b) in pieces {
            area.draw(&PathElement::new(
                [(x + a, y), (x + b, y)],
                colour.stroke_width(2),
            ))
            .map_err(de)?;
        }
        Ok(())
    };
    match mark {
        Mark::Line { colour, dash } => segment(colour, dash),
        Mark::Value {
            colour,
            published,
            line,
        } => {
            if line {
                segment(colour, if published { Dash::Dashed } else { Dash::Solid })?;
            }
            draw_mark(area, (x + 11, y), mark)
        }
        _ => draw_mark(area, (x + 11, y), mark),
    }
}

/// Where a legend goes on its area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A boxed column at this corner of the area (pixels from the edges).
    TopLeft(i32, i32),
    /// A boxed column at the top right.
    TopRight(i32, i32),
    /// A boxed column at the bottom right.
    BottomRight(i32, i32),
    /// One unboxed row, centred, at this height.
    Row(i32),
}

/// Draws `entries` (a mark and its words) as a legend on `area`. Every
/// figure's legend is drawn here, so that each entry shows the mark the
/// figure draws.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(Mark, String)],
    place: Place,
    font_size: i32,
) -> Result<(), String> {
    if entries.is_empty() {
        return Ok(());
    }
    let font = (crate::figures::FONT, font_size).into_font().color(&BLACK);
    let text_width = |t: &str| {
        area.estimate_text_size(t, &font)
            .map_or(font_size * t.chars().count() as i32 / 2, |s| s.0 as i32)
    };
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let line = font_size + 8;
    match place {
        Place::Row(y) => {
            let widths: Vec<i32> = entries
                .iter()
                .map(|(_, t)| 30 + text_width(t) + 18)
                .collect();
            let mut x = (w - widths.iter().sum::<i32>()).max(0) / 2;
            for ((mark, text), width) in entries.iter().zip(widths) {
                draw_legend_mark(area, (x, y), *mark)?;
                area.draw(&Text::new(
                    text.as_str(),
                    (x + 28, y - font_size / 2 - 1),
                    font.clone(),
                ))
                .map_err(de)?;
                x += width;
            }
        }
        _ => {
            let width = 28
                + entries
                    .iter()
                    .map(|(_, t)| text_width(t))
                    .max()
                    .unwrap_or(0)
                + 16;
            let height = line * entries.len() as i32 + 8;
            let (x0, y0) = match place {
                Place::TopLeft(dx, dy) => (dx, dy),
                Place::TopRight(dx, dy) => (w - dx - width, dy),
                Place::BottomRight(dx, dy) => (w - dx - width, h - dy - height),
                Place::Row(_) => unreachable!("handled above"),
            };
            area.draw(&Rectangle::new(
                [(x0, y0), (x0 + width, y0 + height)],
                WHITE.mix(0.9).filled(),
            ))
            .map_err(de)?;
            area.draw(&Rectangle::new(
                [(x0, y0), (x0 + width, y0 + height)],
                BLACK.mix(0.4).stroke_width(1),
            ))
            .map_err(de)?;
            for (i, (mark, text)) in entries.iter().enumerate() {
                let y = y0 + 4 + line * i as i32 + line / 2;
                draw_legend_mark(area, (x0 + 6, y), *mark)?;
                area.draw(&Text::new(
                    text.as_str(),
                    (x0 + 34, y - font_size / 2 - 1),
                    font.clone(),
                ))
                .map_err(de)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_have_no_negative_zero_nor_trailing_zeros() {
        assert_eq!(tick(-0.0), "0");
        assert_eq!(tick(-1e-12), "0");
        assert_eq!(tick(4.0), "4");
        assert_eq!(tick(-2.5), "-2.5");
        assert_eq!(tick(0.125), "0.125");
        assert_eq!(tick(0.2000000001), "0.2");
        assert_eq!(tick(1500.0), "1500");
    }

    #[test]
    fn significant_digits() {
        assert_eq!(significant(15.04, 2), "15");
        assert_eq!(significant(2.6149, 2), "2.6");
        assert_eq!(significant(0.4512, 2), "0.45");
        assert_eq!(significant(0.0004512, 2), "4.5e-4");
        assert_eq!(significant(123456.0, 2), "1.2e5");
        assert_eq!(significant(-0.0, 2), "0");
        assert_eq!(significant(2.0, 3), "2");
    }

    #[test]
    fn every_meaning_has_its_own_colour() {
        let mut colours = vec![
            ("truth", TRUTH),
            ("context", CONTEXT),
            ("gru", model_colour("gru")),
            ("node", model_colour("node")),
            ("node-discrete", model_colour("node-discrete")),
            ("other", model_colour("lfads")),
        ];
        for k in 0..10 {
            colours.push(("condition", condition_colour(k)));
        }
        for (i, (a, ca)) in colours.iter().enumerate() {
            for (b, cb) in &colours[i + 1..] {
                let d = (ca.0 as i32 - cb.0 as i32).abs()
                    + (ca.1 as i32 - cb.1 as i32).abs()
                    + (ca.2 as i32 - cb.2 as i32).abs();
                assert!(d > 40, "{a} and {b} look alike: {ca:?} {cb:?}");
            }
        }
        // The ablation configs are discrete NODEs: one family, one colour.
        assert_eq!(model_colour("ablation3"), model_colour("node-discrete"));
    }

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(2.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        // Monotone in green, the channel that carries its lightness.
        let g: Vec<u8> = (0..=20).map(|i| viridis(i as f64 / 20.0).1).collect();
        assert!(g.windows(2).all(|w| w[0] <= w[1]), "{g:?}");
    }
}
