//! What to generate: [`DatasetSpec`] and the study's six presets.

use serde::{Deserialize, Serialize};

use crate::{DataError, SystemKind};

/// Everything that determines a dataset. Two equal specs give byte-identical files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// The dynamical system.
    pub system: SystemKind,
    /// Number of observed channels ("neurons").
    pub obs_dim: usize,
    /// Number of trials the one long trajectory is cut into (study: 2000).
    pub n_samples: usize,
    /// Time bins per trial (study: 70).
    pub n_timesteps: usize,
    /// Samples per dominant period of the system.
    pub pts_per_period: usize,
    /// The dataset seed (readout, spikes, split and MackeyGlass history derive from it).
    pub seed: u64,
}

/// The study's six datasets, by name, in the study's order.
const STUDY: [(&str, SystemKind, usize, usize); 6] = [
    ("arneodo", SystemKind::Arneodo, 10, 35),
    ("lorenz", SystemKind::Lorenz, 10, 100),
    ("rossler", SystemKind::Rossler, 10, 35),
    ("arneodo100", SystemKind::Arneodo, 100, 35),
    ("mackeyglass100", SystemKind::MackeyGlass, 100, 35),
    ("macarthur100", SystemKind::MacArthur, 100, 70),
];

impl DatasetSpec {
    /// A spec with the study's sizes (2000 × 70, seed 0) for `system` and `obs_dim`,
    /// at the system's default samples per period.
    pub fn new(system: SystemKind, obs_dim: usize) -> Self {
        DatasetSpec {
            system,
            obs_dim,
            n_samples: 2000,
            n_timesteps: 70,
            pts_per_period: system.system().default_pts_per_period(),
            seed: 0,
        }
    }

    /// The study's six datasets: `arneodo`, `lorenz`, `rossler`, `arneodo100`,
    /// `mackeyglass100`, `macarthur100` (2000 samples × 70 steps, seed 0).
    pub fn study_presets() -> Vec<(&'static str, DatasetSpec)> {
        STUDY
            .iter()
            .map(|&(name, system, obs_dim, pts_per_period)| {
                (
                    name,
                    DatasetSpec {
                        pts_per_period,
                        ..DatasetSpec::new(system, obs_dim)
                    },
                )
            })
            .collect()
    }

    /// The study preset called `name` (case-insensitive).
    pub fn preset(name: &str) -> Result<DatasetSpec, DataError> {
        let key = name.trim().to_lowercase();
        Self::study_presets()
            .into_iter()
            .find(|(n, _)| *n == key)
            .map(|(_, s)| s)
            .ok_or_else(|| DataError::UnknownPreset {
                name: name.to_string(),
                valid: STUDY.iter().map(|s| s.0.to_string()).collect(),
            })
    }

    /// The study's file name (without extension):
    /// `{System}{obs_dim}_{n_samples}S_{n_timesteps}T_{pts_per_period}P_{seed}seed_poisson`.
    pub fn name(&self) -> String {
        format!(
            "{}{}_{}S_{}T_{}P_{}seed_poisson",
            self.system,
            self.obs_dim,
            self.n_samples,
            self.n_timesteps,
            self.pts_per_period,
            self.seed
        )
    }

    /// Total points of the one long trajectory, `n_samples × n_timesteps`.
    pub fn n_points(&self) -> usize {
        self.n_samples * self.n_timesteps
    }

    /// The trajectory's end time, `period · n / pts_per_period`.
    pub fn tlim(&self) -> f64 {
        self.system.system().period() * self.n_points() as f64 / self.pts_per_period as f64
    }

    /// Spacing of the sample times, `tlim / (n − 1)`.
    pub fn sample_dt(&self) -> f64 {
        self.tlim() / (self.n_points().max(2) - 1) as f64
    }

    /// Sizes of the (train, valid, test) splits: test = ⌈0.2·n⌉, valid = ⌈0.2·(n − test)⌉
    /// (scikit-learn's rounding; 1280/320/400 for 2000 samples).
    pub fn split_sizes(&self) -> (usize, usize, usize) {
        // As crate::pipeline::split_trials cuts them.
        let n = self.n_samples;
        let test = (n * 2).div_ceil(10);
        let valid = ((n - test) * 2).div_ceil(10);
        (n - test - valid, valid, test)
    }

    /// Checks that the spec can be generated.
    pub fn validate(&self) -> Result<(), DataError> {
        let bad = |field: &'static str, reason: &str| {
            Err(DataError::InvalidSpec {
                field,
                reason: reason.to_string(),
            })
        };
        if self.obs_dim == 0 {
            return bad("obs_dim", "must be at least 1");
        }
        if self.n_samples < 3 {
            return bad(
                "n_samples",
                "must be at least 3 (one sample for each split)",
            );
        }
        if self.n_timesteps < 2 {
            return bad(
                "n_timesteps",
                "must be at least 2 (a trial needs a step of its dynamics to fit)",
            );
        }
        if self.pts_per_period < 2 {
            return bad("pts_per_period", "must be at least 2");
        }
        let n = self.n_samples.checked_mul(self.n_timesteps);
        match n {
            Some(n) if n >= 2 => {}
            _ => {
                return bad(
                    "n_samples",
                    "n_samples × n_timesteps must be between 2 and usize::MAX",
                )
            }
        }
        let cells = self
            .n_points()
            .checked_mul(self.obs_dim.max(self.system.system().dimension()));
        if cells.is_none_or(|c| c > 2_000_000_000) {
            return bad(
                "obs_dim",
                "n_samples × n_timesteps × obs_dim exceeds 2·10⁹ values; split the request",
            );
        }
        let (tr, va, te) = self.split_sizes();
        if tr == 0 || va == 0 || te == 0 {
            return bad(
                "n_samples",
                "too small for a non-empty train/valid/test split",
            );
        }
        if self.system == SystemKind::MackeyGlass {
            let mg = self.system.system();
            let dt = self.sample_dt();
            if let crate::System::MackeyGlass(p) = mg {
                if dt > p.tau {
                    return bad(
                        "pts_per_period",
                        "too small for MackeyGlass: the sample spacing exceeds the delay τ",
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_names_and_splits() {
        let s = DatasetSpec::preset("arneodo").unwrap();
        assert_eq!(s.name(), "Arneodo10_2000S_70T_35P_0seed_poisson");
        assert_eq!(s.split_sizes(), (1280, 320, 400));
        assert_eq!(
            DatasetSpec::preset("MacArthur100").unwrap().name(),
            "MacArthur100_2000S_70T_70P_0seed_poisson"
        );
        assert_eq!(
            DatasetSpec::preset("lorenz").unwrap().name(),
            "Lorenz10_2000S_70T_100P_0seed_poisson"
        );
        for (_, s) in DatasetSpec::study_presets() {
            s.validate().unwrap();
        }
        let msg = DatasetSpec::preset("henon").unwrap_err().to_string();
        assert!(
            msg.contains("henon") && msg.contains("mackeyglass100"),
            "{msg}"
        );
    }

    #[test]
    fn study_sampling_steps() {
        let s = DatasetSpec::preset("arneodo").unwrap();
        assert!((s.sample_dt() - 0.09040350288216344).abs() < 1e-15);
        let s = DatasetSpec::preset("lorenz").unwrap();
        assert!((s.sample_dt() - 0.01500810720076572).abs() < 1e-15);
        let s = DatasetSpec::preset("rossler").unwrap();
        assert!((s.sample_dt() - 0.16881834870249074).abs() < 1e-15);
    }

    #[test]
    fn invalid_specs_are_named() {
        let mut s = DatasetSpec::preset("arneodo").unwrap();
        s.obs_dim = 0;
        let e = s.validate().unwrap_err();
        assert!(matches!(
            e,
            DataError::InvalidSpec {
                field: "obs_dim",
                ..
            }
        ));
        s.obs_dim = 10;
        s.n_samples = 2;
        assert!(s.validate().is_err());
    }
}
