//! The study's qualitative claims, checked on whatever runs a grid has.
//!
//! A reproduction is more than numbers inside bands: the study makes four
//! claims about how the models compare, and each is checked here from the
//! cell means of [`crate::results::summarise`]; a fifth carries the third
//! over to recordings, which have no truth. A claim the runs cannot
//! decide says what it needs. Claims are checked at any length (a smoke
//! grid's 300 epochs too); only the comparison with published numbers needs
//! the study's 3000 epochs.

use serde::{Deserialize, Serialize};

use crate::plots::true_dim;
use crate::results::CellSummary;

/// Whether a claim held on the runs at hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "needs")]
pub enum Verdict {
    /// It held on every case checked.
    Holds,
    /// It failed on at least one case.
    Fails,
    /// No case could be checked: the runs it needs (in words).
    Needs(String),
}

impl Verdict {
    /// `✓`, `✗` or `?`.
    pub fn glyph(&self) -> &'static str {
        match self {
            Verdict::Holds => "✓",
            Verdict::Fails => "✗",
            Verdict::Needs(_) => "?",
        }
    }

    /// `holds`, `fails` or `needs: …`.
    pub fn words(&self) -> String {
        match self {
            Verdict::Holds => "holds".into(),
            Verdict::Fails => "fails".into(),
            Verdict::Needs(what) => format!("needs: {what}"),
        }
    }
}

/// One claim of the study and its verdict on these runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// `i` … `iv`.
    pub id: &'static str,
    /// The claim, as the study makes it.
    pub statement: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// The cases checked, one per line (dataset: numbers ✓/✗).
    pub cases: Vec<String>,
}

impl Claim {
    /// `✓ (i) statement — holds` and the cases indented below it.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} ({}) {} — {}",
            self.verdict.glyph(),
            self.id,
            self.statement,
            self.verdict.words()
        );
        for c in &self.cases {
            out.push_str("\n      ");
            out.push_str(c);
        }
        out
    }
}

/// The dynamics the study set against the GRU on a dataset: the discrete
/// NODE for macarthur100, the NODE elsewhere.
fn node_model(dataset: &str) -> &'static str {
    if crate::results::study_dataset(dataset) == "macarthur100" {
        "node-discrete"
    } else {
        "node"
    }
}

fn datasets(cells: &[CellSummary]) -> Vec<String> {
    let mut out: Vec<String> = cells
        .iter()
        .filter(|c| !c.model.starts_with("ablation"))
        .map(|c| c.dataset.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn find<'a>(
    cells: &'a [CellSummary],
    dataset: &str,
    model: &str,
    latent: usize,
) -> Option<&'a CellSummary> {
    cells.iter().find(|c| {
        c.dataset == dataset && c.model == model && c.latent == latent && c.rate_r2.mean.is_finite()
    })
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "✗"
    }
}

fn verdict(cases: &[(bool, String)], needs: &str) -> (Verdict, Vec<String>) {
    let lines = cases.iter().map(|(_, l)| l.clone()).collect();
    let v = if cases.is_empty() {
        Verdict::Needs(needs.into())
    } else if cases.iter().all(|(ok, _)| *ok) {
        Verdict::Holds
    } else {
        Verdict::Fails
    };
    (v, lines)
}

/// The four claims, in the study's order.
pub fn check(cells: &[CellSummary]) -> Vec<Claim> {
    vec![
        node_beats_gru(cells),
        node_state_falls(cells),
        gru_needs_more_dimensions(cells),
        ablation_order(cells),
        recording_dimensions(cells),
    ]
}

/// (v) On a recording, where the true dimensionality is unknown, claim
/// (iii) with the grid's smallest L in its place: the NODE at the
/// smallest L reaches a co-smoothing bits/spike that GRU needs a larger L
/// for (or that no GRU of the grid reaches).
fn recording_dimensions(cells: &[CellSummary]) -> Claim {
    let co = |c: &CellSummary| c.recording.as_ref().map_or(f64::NAN, |r| r.co_bps.mean);
    let mut cases = Vec::new();
    let mut sets: Vec<&str> = cells
        .iter()
        .filter(|c| c.recording.is_some())
        .map(|c| c.dataset.as_str())
        .collect();
    sets.sort_unstable();
    sets.dedup();
    for d in sets {
        let series = |model: &str| {
            let mut v: Vec<&CellSummary> = cells
                .iter()
                .filter(|c| c.dataset == d && c.model == model && co(c).is_finite())
                .collect();
            v.sort_by_key(|c| c.latent);
            v
        };
        let (nodes, grus) = (series("node"), series("gru"));
        let Some(n) = nodes.first() else { continue };
        let l0 = n.latent;
        if !grus.iter().any(|c| c.latent <= l0) || !grus.iter().any(|c| c.latent > l0) {
            continue;
        }
        let target = co(n);
        // Below the null model (co-bps ≤ 0) there is nothing to reach.
        if target <= 0.0 {
            continue;
        }
        let how = match grus.iter().find(|c| co(c) >= target) {
            Some(c) => (
                c.latent > l0,
                format!("GRU first reaches it at L = {} ({:.4})", c.latent, co(c)),
            ),
            None => (
                true,
                format!(
                    "no GRU up to L = {} reaches it (best {:.4})",
                    grus.last().map_or(0, |c| c.latent),
                    grus.iter().map(|c| co(c)).fold(f64::NEG_INFINITY, f64::max)
                ),
            ),
        };
        cases.push((
            how.0,
            format!(
                "{d}: NODE L = {l0} co-bps {target:.4}; {} {}",
                how.1,
                mark(how.0)
            ),
        ));
    }
    let (verdict, cases) = verdict(
        &cases,
        "a recording with NODE runs (co-bps above 0) and GRU runs at the NODE's smallest L and \
         above it",
    );
    Claim {
        id: "v",
        statement: "on a recording (no truth), the NODE at the grid's smallest L reaches a \
                    co-smoothing bits/spike that GRU needs a larger L for",
        verdict,
        cases,
    }
}

/// (i) At the true dimensionality NODE beats GRU on rate R² and on state
/// R², per dataset.
fn node_beats_gru(cells: &[CellSummary]) -> Claim {
    let mut cases = Vec::new();
    for d in datasets(cells) {
        let Some(dim) = true_dim(&d).map(|v| v as usize) else {
            continue;
        };
        let (Some(n), Some(g)) = (
            find(cells, &d, node_model(&d), dim),
            find(cells, &d, "gru", dim),
        ) else {
            continue;
        };
        let ok = n.rate_r2.mean > g.rate_r2.mean && n.state_r2.mean > g.state_r2.mean;
        cases.push((
            ok,
            format!(
                "{d} L = {dim}: rate R² {:.3} vs {:.3}, state R² {:.3} vs {:.3} (NODE vs GRU) {}",
                n.rate_r2.mean,
                g.rate_r2.mean,
                n.state_r2.mean,
                g.state_r2.mean,
                mark(ok)
            ),
        ));
    }
    let (verdict, cases) = verdict(
        &cases,
        "GRU and NODE runs at a dataset's true dimensionality",
    );
    Claim {
        id: "i",
        statement: "at the true dimensionality NODE beats GRU on rate R² and on state R²",
        verdict,
        cases,
    }
}

/// (ii) NODE state R² falls as L grows past the true dimensionality.
fn node_state_falls(cells: &[CellSummary]) -> Claim {
    let mut cases = Vec::new();
    for d in datasets(cells) {
        let Some(dim) = true_dim(&d).map(|v| v as usize) else {
            continue;
        };
        let model = node_model(&d);
        let mut series: Vec<&CellSummary> = cells
            .iter()
            .filter(|c| {
                c.dataset == d && c.model == model && c.latent >= dim && c.state_r2.mean.is_finite()
            })
            .collect();
        series.sort_by_key(|c| c.latent);
        if series.len() < 2 || series[0].latent != dim {
            continue;
        }
        let ok = series
            .windows(2)
            .all(|w| w[1].state_r2.mean < w[0].state_r2.mean);
        let path: Vec<String> = series
            .iter()
            .map(|c| format!("L{} {:.3}", c.latent, c.state_r2.mean))
            .collect();
        cases.push((
            ok,
            format!("{d}: state R² {} {}", path.join(" → "), mark(ok)),
        ));
    }
    let (verdict, cases) = verdict(
        &cases,
        "NODE runs at the true dimensionality and at a larger L",
    );
    Claim {
        id: "ii",
        statement: "NODE state R² falls as L grows past the true dimensionality",
        verdict,
        cases,
    }
}

/// (iii) GRU needs L well above the true dimensionality to reach the
/// NODE's rate R² at the true dimensionality.
fn gru_needs_more_dimensions(cells: &[CellSummary]) -> Claim {
    let mut cases = Vec::new();
    for d in datasets(cells) {
        let Some(dim) = true_dim(&d).map(|v| v as usize) else {
            continue;
        };
        let Some(n) = find(cells, &d, node_model(&d), dim) else {
            continue;
        };
        let mut grus: Vec<&CellSummary> = cells
            .iter()
            .filter(|c| c.dataset == d && c.model == "gru" && c.rate_r2.mean.is_finite())
            .collect();
        grus.sort_by_key(|c| c.latent);
        let tried_above = grus.iter().any(|c| c.latent > dim);
        if !tried_above || !grus.iter().any(|c| c.latent <= dim) {
            continue;
        }
        let target = n.rate_r2.mean;
        let reach = grus.iter().find(|c| c.rate_r2.mean >= target);
        let (ok, how) = match reach {
            Some(c) => (
                c.latent > dim,
                format!(
                    "GRU first reaches it at L = {} ({:.3})",
                    c.latent, c.rate_r2.mean
                ),
            ),
            None => (
                true,
                format!(
                    "no GRU up to L = {} reaches it (best {:.3})",
                    grus.last().map_or(0, |c| c.latent),
                    grus.iter()
                        .map(|c| c.rate_r2.mean)
                        .fold(f64::NEG_INFINITY, f64::max)
                ),
            ),
        };
        cases.push((
            ok,
            format!(
                "{d}: NODE L = {dim} rate R² {target:.3}; {how} {}",
                mark(ok)
            ),
        ));
    }
    let (verdict, cases) = verdict(
        &cases,
        "a NODE at the true dimensionality and GRUs at it and above it",
    );
    Claim {
        id: "iii",
        statement: "GRU needs L well above the true dimensionality to reach the NODE's rate R² \
                    at the true dimensionality",
        verdict,
        cases,
    }
}

/// (iv) The ablation keeps its order on rate R²: baseline > no gradual >
/// no MLP, no pass-through > vanilla.
fn ablation_order(cells: &[CellSummary]) -> Claim {
    let mut cases = Vec::new();
    let mut sets: Vec<String> = cells
        .iter()
        .filter(|c| c.model.starts_with("ablation"))
        .map(|c| c.dataset.clone())
        .collect();
    sets.sort();
    sets.dedup();
    for d in sets {
        let r = |m: &str| find(cells, &d, m, 3).map(|c| c.rate_r2.mean);
        let all = [
            "ablation0",
            "ablation1",
            "ablation2",
            "ablation3",
            "ablation4",
        ]
        .map(r);
        let [Some(base), Some(no_pass), Some(no_mlp), Some(no_grad), Some(vanilla)] = all else {
            continue;
        };
        let ok = base > no_grad
            && no_grad > no_mlp
            && no_grad > no_pass
            && no_mlp > vanilla
            && no_pass > vanilla;
        cases.push((
            ok,
            format!(
                "{d}: baseline {base:.3} > no gradual {no_grad:.3} > no MLP {no_mlp:.3}, \
                 no pass-through {no_pass:.3} > vanilla {vanilla:.3} {}",
                mark(ok)
            ),
        ));
    }
    let (verdict, cases) = verdict(&cases, "all five ablation configs (ablation0 … ablation4)");
    Claim {
        id: "iv",
        statement: "the ablation keeps its order on rate R² (baseline > no gradual > no MLP, \
                    no pass-through > vanilla)",
        verdict,
        cases,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{CellSummary, MeanStd};
    use latentdyn_analysis::NllBasis;

    fn cell(dataset: &str, model: &str, latent: usize, rate: f64, state: f64) -> CellSummary {
        let m = |v: f64| MeanStd {
            mean: v,
            std: f64::NAN,
            n: 1,
        };
        CellSummary {
            dataset: dataset.into(),
            model: model.into(),
            latent,
            n: 1,
            diverged: 0,
            unfinished: 0,
            nll: m(1.4),
            rate_r2: m(rate),
            state_r2: m(state),
            recording: None,
            fp_matched: m(f64::NAN),
            fp_spurious: m(f64::NAN),
            fp_truth: None,
            published: None,
            epochs: 300,
            nll_basis: NllBasis::Full,
            report_last: 500,
        }
    }

    #[test]
    fn the_published_arneodo_numbers_satisfy_every_claim() {
        // The study's published arneodo means (shared/docs/study.md).
        let mut cells = Vec::new();
        for (l, gr, gs, nr, ns) in [
            (2, 0.245, 0.583, 0.411, 0.698),
            (3, 0.511, 0.686, 0.912, 0.940),
            (5, 0.746, 0.608, 0.924, 0.935),
            (10, 0.925, 0.671, 0.969, 0.752),
            (25, 0.974, 0.623, 0.968, 0.576),
            (100, 0.985, 0.667, 0.949, 0.346),
        ] {
            cells.push(cell("arneodo", "gru", l, gr, gs));
            cells.push(cell("arneodo", "node", l, nr, ns));
        }
        for (m, r) in [
            ("ablation0", 0.904),
            ("ablation1", 0.599),
            ("ablation2", 0.598),
            ("ablation3", 0.798),
            ("ablation4", 0.356),
        ] {
            cells.push(cell("arneodo", m, 3, r, 0.5));
        }
        let claims = check(&cells);
        for c in &claims[..4] {
            assert_eq!(c.verdict, Verdict::Holds, "{}", c.render());
        }
        // No recording among them: (v) says what it needs.
        assert!(matches!(claims[4].verdict, Verdict::Needs(_)));
        assert!(
            claims[2].cases[0].contains("L = 10"),
            "{}",
            claims[2].render()
        );
    }

    #[test]
    fn claims_fail_and_say_what_they_need() {
        // GRU better than NODE at the true dimension: (i) fails; nothing else is decidable.
        let cells = vec![
            cell("study:lorenz", "gru", 3, 0.9, 0.8),
            cell("study:lorenz", "node", 3, 0.8, 0.9),
        ];
        let c = check(&cells);
        assert_eq!(c[0].verdict, Verdict::Fails);
        assert!(c[0].cases[0].starts_with("study:lorenz L = 3"));
        for other in &c[1..] {
            assert!(
                matches!(other.verdict, Verdict::Needs(_)),
                "{}",
                other.render()
            );
        }
        // (ii) fails when the state R² rises again; macarthur100 compares node-discrete.
        let cells = vec![
            cell("macarthur100", "node-discrete", 10, 0.9, 0.8),
            cell("macarthur100", "node-discrete", 25, 0.9, 0.85),
            cell("macarthur100", "gru", 10, 0.5, 0.5),
        ];
        let c = check(&cells);
        assert_eq!(c[0].verdict, Verdict::Holds);
        assert_eq!(c[1].verdict, Verdict::Fails);
        // (iii) fails when the GRU already reaches the NODE at the true dimension.
        let cells = vec![
            cell("arneodo", "node", 3, 0.9, 0.9),
            cell("arneodo", "gru", 3, 0.95, 0.5),
            cell("arneodo", "gru", 10, 0.97, 0.5),
        ];
        assert_eq!(check(&cells)[2].verdict, Verdict::Fails);
        // (iv) fails when vanilla beats no pass-through.
        let mut cells: Vec<CellSummary> = [0.9, 0.3, 0.6, 0.8, 0.4]
            .iter()
            .enumerate()
            .map(|(i, &r)| cell("arneodo", &format!("ablation{i}"), 3, r, 0.5))
            .collect();
        assert_eq!(check(&cells)[3].verdict, Verdict::Fails);
        cells[1].rate_r2.mean = 0.5;
        assert_eq!(check(&cells)[3].verdict, Verdict::Holds);
        assert_eq!(Verdict::Needs("x".into()).words(), "needs: x");
    }

    fn recording_cell(model: &str, latent: usize, co_bps: f64) -> CellSummary {
        let m = |v: f64| MeanStd {
            mean: v,
            std: f64::NAN,
            n: 1,
        };
        let none = MeanStd {
            mean: f64::NAN,
            std: f64::NAN,
            n: 0,
        };
        CellSummary {
            rate_r2: none,
            state_r2: none,
            recording: Some(crate::results::RecordingCell {
                co_bps: m(co_bps),
                heldin_bps: m(0.1),
                velocity_r2: none,
                psth_r2: none,
            }),
            ..cell("reach_a", model, latent, f64::NAN, f64::NAN)
        }
    }

    #[test]
    fn the_recording_claim_is_claim_iii_at_the_smallest_l() {
        let grid = |node2: f64, gru2: f64, gru6: f64| {
            vec![
                recording_cell("node", 2, node2),
                recording_cell("node", 6, 0.14),
                recording_cell("gru", 2, gru2),
                recording_cell("gru", 6, gru6),
            ]
        };
        let c = check(&grid(0.10, 0.02, 0.11));
        assert_eq!(c[4].verdict, Verdict::Holds, "{}", c[4].render());
        assert!(c[4].cases[0].contains("GRU first reaches it at L = 6"));
        // The truth's claims cannot be decided on a recording.
        for other in &c[..4] {
            assert!(
                matches!(other.verdict, Verdict::Needs(_)),
                "{}",
                other.render()
            );
        }
        let c = check(&grid(0.10, 0.12, 0.13));
        assert_eq!(c[4].verdict, Verdict::Fails, "{}", c[4].render());
        // A NODE worse than the null model has nothing to reach.
        let c = check(&grid(-0.05, -0.2, 0.13));
        assert!(matches!(c[4].verdict, Verdict::Needs(_)));
    }
}
