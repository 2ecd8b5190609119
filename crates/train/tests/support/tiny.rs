//! The tiny synthetic dataset the training tests train on (60 trials of 20
//! bins, 6 channels of Arneodo): seconds per run on one core.

use latentdyn_data::{generate, Dataset, DatasetSpec, SystemKind};

/// Generates it.
pub fn tiny_synthetic() -> Dataset {
    let spec = DatasetSpec {
        system: SystemKind::Arneodo,
        obs_dim: 6,
        n_samples: 60,
        n_timesteps: 20,
        pts_per_period: 35,
        seed: 0,
    };
    generate(&spec).expect("tiny dataset")
}
