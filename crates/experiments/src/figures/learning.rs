//! Learning curves of one run, from its `metrics.csv`: the training and
//! validation loss with the loss horizon K, and the validation scores (rate
//! and state R² against the truth, or a recording's co-smoothing and
//! decoding), against the epoch.

use std::path::{Path, PathBuf};

use latentdyn_train::{EpochRecord, Scores};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{self, Dash, Mark, Place};
use super::{err, range, save_svg_and_png, Figure, FigureError, FONT};

/// A named series of (epoch, value).
type Named = (&'static str, Vec<(f64, f64)>);

/// A named series of (epoch, value), with its colour and pattern.
type Series = (&'static str, RGBColor, Dash, Vec<(f64, f64)>);

struct Learning {
    title: String,
    /// Training and validation loss.
    losses: Vec<Series>,
    /// The horizon K per epoch.
    horizon: Vec<(f64, f64)>,
    /// The validation scores.
    scores: Vec<Series>,
    /// What the score panel shows, for its axis.
    score_axis: &'static str,
    epochs: f64,
}

fn legend(series: &[Series]) -> Vec<(Mark, String)> {
    series
        .iter()
        .map(|(name, colour, dash, _)| {
            let mark = Mark::Line {
                colour: *colour,
                dash: *dash,
            };
            (mark, (*name).to_owned())
        })
        .collect()
}

impl Figure for Learning {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let root = root.titled(&self.title, (FONT, 20)).map_err(err)?;
        let panels = root.split_evenly((1, 2));
        let x = 1.0..self.epochs.max(2.0);
        let f = |v: &f64| style::tick(*v);
        // The loss, with K on a second axis.
        let yr = range(self.losses.iter().flat_map(|s| s.3.iter().map(|p| p.1)));
        let kmax = self.horizon.iter().map(|p| p.1).fold(1.0, f64::max);
        let mut chart = ChartBuilder::on(&panels[0])
            .caption(
                "loss: Poisson NLL per bin and neuron (nats; lower is better)",
                (FONT, 15),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .right_y_label_area_size(50)
            .build_cartesian_2d(x.clone(), yr)
            .map_err(err)?
            .set_secondary_coord(x.clone(), 0.0..kmax * 1.05);
        chart
            .configure_mesh()
            .x_desc("epoch (from 1)")
            .y_desc("loss over the first K bins (nats)")
            .x_label_formatter(&f)
            .y_label_formatter(&f)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        chart
            .configure_secondary_axes()
            .y_desc("loss horizon K (bins)")
            .y_label_formatter(&f)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(err)?;
        for (_, colour, dash, pts) in &self.losses {
            style::draw_line(&mut chart, pts.clone(), *colour, *dash, 2)?;
        }
        chart
            .draw_secondary_series(DashedLineSeries::new(
                self.horizon.iter().copied(),
                2,
                3,
                style::CONTEXT.stroke_width(1),
            ))
            .map_err(err)?;
        let mut entries = legend(&self.losses);
        entries.push((
            Mark::Line {
                colour: style::CONTEXT,
                dash: Dash::Dotted,
            },
            "loss horizon K (right axis)".to_owned(),
        ));
        let plain = chart.plotting_area().strip_coord_spec();
        style::draw_legend(&plain, &entries, Place::TopRight(8, 8), 12)?;

        // The validation scores.
        let all = || self.scores.iter().flat_map(|s| s.3.iter().map(|p| p.1));
        let lo = all().fold(f64::INFINITY, f64::min);
        let hi = all().fold(f64::NEG_INFINITY, f64::max);
        // Show at most down to −1 (early epochs can be far below).
        let yr = range([lo.max(-1.0), hi.max(lo.max(-1.0) + 1e-3)].into_iter());
        let mut chart = ChartBuilder::on(&panels[1])
            .caption(
                format!("validation {} (higher is better)", self.score_axis),
                (FONT, 15),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x, yr.clone())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("epoch (from 1)")
            .y_desc(self.score_axis)
            .x_label_formatter(&f)
            .y_label_formatter(&f)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (_, colour, dash, pts) in &self.scores {
            let shown = pts.iter().map(|&(e, v)| (e, v.max(yr.start))).collect();
            style::draw_line(&mut chart, shown, *colour, *dash, 2)?;
        }
        let plain = chart.plotting_area().strip_coord_spec();
        style::draw_legend(&plain, &legend(&self.scores), Place::BottomRight(8, 8), 12)?;
        Ok(())
    }
}

/// Draws `history` (a run's `metrics.csv` rows) of a run of `model` (the
/// preset, which picks the colour) as `learning.svg` and `learning.png` in
/// `dir`. Epochs are numbered from 1 (the CSV's `epoch`
/// column counts from 0). A score missing at an epoch (a recording's split
/// without held-out spikes) leaves a gap in its line.
pub fn learning_curves(
    title: &str,
    model: &str,
    history: &[EpochRecord],
    epochs: usize,
    dir: &Path,
) -> Result<Vec<PathBuf>, FigureError> {
    if history.is_empty() {
        return Err(FigureError::Input {
            what: "metrics.csv",
            reason: "no finished epoch to draw".into(),
        });
    }
    let at = |f: &dyn Fn(&EpochRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|r| {
                f(r).filter(|v| v.is_finite())
                    .map(|v| (r.epoch as f64 + 1.0, v))
            })
            .collect()
    };
    let colour = style::model_colour(model);
    let losses = vec![
        (
            "training loss",
            style::CONTEXT,
            Dash::Solid,
            at(&|r| Some(r.train_loss)),
        ),
        (
            "validation loss",
            colour,
            Dash::Solid,
            at(&|r| Some(r.valid_loss)),
        ),
    ];
    // The k-th score of a run: its model's colour, then lighter, each with
    // its own dash, so that every line of one run reads as that model's.
    let series_style = |k: usize| match k {
        0 => (colour, Dash::Solid),
        1 => (colour, Dash::Dashed),
        2 => (style::tint(colour, 0.5), Dash::Dotted),
        _ => (style::tint(colour, 0.5), Dash::Long),
    };
    let (named, score_axis): (Vec<Named>, _) = match &history[0].metrics {
        Scores::Truth(_) => {
            let truth = |f: fn(&latentdyn_analysis::Metrics) -> f64| {
                at(&|r: &EpochRecord| r.metrics.truth().map(f))
            };
            (
                vec![
                    ("rate R²", truth(|m| m.rate_r2)),
                    ("state R² (true → inferred)", truth(|m| m.state_r2)),
                    ("latent R² (inferred → true)", truth(|m| m.latent_r2)),
                ],
                "R² against the truth",
            )
        }
        Scores::Recording(_) => {
            let rec = |f: fn(&latentdyn_analysis::RecordingMetrics) -> Option<f64>| {
                at(&|r: &EpochRecord| r.metrics.recording().and_then(f))
            };
            (
                vec![
                    ("co-smoothing bits/spike", rec(|m| m.co_bps)),
                    ("velocity R²", rec(|m| m.velocity_r2)),
                    ("held-in bits/spike", rec(|m| m.heldin_bps)),
                    ("PSTH R²", rec(|m| m.psth_r2)),
                ],
                "scores (no ground truth)",
            )
        }
    };
    let scores: Vec<Series> = named
        .into_iter()
        .enumerate()
        .map(|(k, (name, points))| {
            let (c, dash) = series_style(k);
            (name, c, dash, points)
        })
        .collect();
    let fig = Learning {
        title: format!(
            "{title}: learning curves ({} of {epochs} epochs)",
            history.len()
        ),
        losses,
        horizon: at(&|r| Some(r.horizon as f64)),
        scores: scores.into_iter().filter(|s| !s.3.is_empty()).collect(),
        score_axis,
        epochs: epochs.max(history.len()) as f64,
    };
    Ok(save_svg_and_png(&fig, dir, "learning", (1400, 520))?.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use latentdyn_analysis::{Metrics, RecordingMetrics, ThirdMetrics};

    fn record(epoch: usize, metrics: Scores) -> EpochRecord {
        EpochRecord {
            epoch,
            horizon: (epoch + 5).min(20),
            train_loss: 1.0 / (1.0 + epoch as f64),
            valid_loss: 1.1 / (1.0 + epoch as f64),
            metrics,
            seconds: 0.1,
        }
    }

    #[test]
    fn curves_of_synthetic_data_and_of_a_recording_are_drawn() {
        let t = ThirdMetrics {
            rate_r2: 0.5,
            state_r2: 0.5,
            latent_r2: 0.5,
        };
        let truth: Vec<EpochRecord> = (0..30)
            .map(|e| {
                let v = e as f64 / 30.0;
                record(
                    e,
                    Scores::Truth(Metrics {
                        nll: 1.0,
                        rate_r2: v,
                        state_r2: v * 0.9,
                        latent_r2: v * 0.8,
                        early: t,
                        middle: t,
                        late: t,
                    }),
                )
            })
            .collect();
        let rec: Vec<EpochRecord> = (0..30)
            .map(|e| {
                record(
                    e,
                    Scores::Recording(RecordingMetrics {
                        nll: 1.0,
                        co_bps: (e % 7 != 0).then_some(e as f64 / 100.0),
                        heldin_bps: Some(0.1),
                        velocity_r2: None,
                        psth_r2: Some(0.3),
                    }),
                )
            })
            .collect();
        for (history, word) in [(&truth, "state R²"), (&rec, "co-smoothing")] {
            let dir = tempfile::tempdir().unwrap();
            let files = learning_curves("run", "node", history, 100, dir.path()).unwrap();
            assert_eq!(files.len(), 2);
            let svg = std::fs::read_to_string(&files[0]).unwrap();
            assert!(
                svg.contains(word) && svg.contains("30 of 100 epochs"),
                "{word}"
            );
            // No velocity on this recording: no velocity legend.
            assert!(!svg.contains("velocity"));
        }
        let dir = tempfile::tempdir().unwrap();
        assert!(learning_curves("run", "gru", &[], 100, dir.path()).is_err());
    }
}
