//! The study's growing loss horizon and the epoch scaling of short runs.

use serde::{Deserialize, Serialize};

/// How many leading time steps the loss sees: starts at `points_per_group`
/// and grows by that much every `epochs_per_group` epochs, up to all steps
/// (study, "Loss": K = min(T, points_per_group · (1 + ⌊epoch / epochs_per_group⌋))).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Horizon {
    /// Points added to the horizon per group.
    pub points_per_group: usize,
    /// Epochs per group.
    pub epochs_per_group: usize,
}

impl Horizon {
    /// K at `epoch` (0-based) for sequences of `n_steps` bins.
    pub fn at(&self, epoch: usize, n_steps: usize) -> usize {
        let groups = 1 + epoch / self.epochs_per_group.max(1);
        self.points_per_group.saturating_mul(groups).min(n_steps)
    }

    /// The same schedule shape for a run of `epochs` instead of `study_epochs`:
    /// `epochs_per_group` scaled by the same factor (at least 1).
    pub fn scaled(&self, epochs: usize, study_epochs: usize) -> Self {
        let epg = (self.epochs_per_group as f64 * epochs as f64 / study_epochs.max(1) as f64)
            .round()
            .max(1.0) as usize;
        Self {
            points_per_group: self.points_per_group,
            epochs_per_group: epg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_schedule_matches_the_formula() {
        // node: points_per_group 5, epochs_per_group 150, T = 70.
        let h = Horizon {
            points_per_group: 5,
            epochs_per_group: 150,
        };
        assert_eq!(h.at(0, 70), 5);
        assert_eq!(h.at(149, 70), 5);
        assert_eq!(h.at(150, 70), 10);
        assert_eq!(h.at(13 * 150 - 1, 70), 65);
        assert_eq!(h.at(13 * 150, 70), 70);
        assert_eq!(h.at(2999, 70), 70);
    }

    #[test]
    fn gru_schedule_is_full_from_the_start() {
        let h = Horizon {
            points_per_group: 70,
            epochs_per_group: 3000,
        };
        assert!((0..3000).all(|e| h.at(e, 70) == 70));
    }

    #[test]
    fn scaling_keeps_the_shape() {
        let h = Horizon {
            points_per_group: 5,
            epochs_per_group: 150,
        };
        let s = h.scaled(300, 3000);
        assert_eq!(s.epochs_per_group, 15);
        // The horizon reaches 70 at the same fraction of the run.
        let full_at = |h: &Horizon, n: usize| (0..n).find(|&e| h.at(e, 70) == 70).unwrap();
        assert_eq!(full_at(&h, 3000) * 300, full_at(&s, 300) * 3000);
        assert_eq!(h.scaled(1, 3000).epochs_per_group, 1);
    }
}
