//! Damaged and random files given to the dataset loaders: never a panic,
//! always an error that names the file (or, for a byte that does not matter,
//! a dataset that still passes every check). `LATENTDYN_FUZZ_CASES` sets the
//! number of cases per loader (default 48, what CI runs).

use std::path::Path;

use latentdyn_data::{generate, load_dataset_file, Dataset, DatasetSpec, SystemKind};
use proptest::prelude::*;

#[path = "support/damage.rs"]
mod support;
use support::{apply, cases, damage};

/// A small dataset written once, its two files' bytes.
fn files() -> &'static (Vec<u8>, Vec<u8>) {
    static FILES: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let spec = DatasetSpec {
            system: SystemKind::Rossler,
            obs_dim: 4,
            n_samples: 12,
            n_timesteps: 6,
            pts_per_period: 35,
            seed: 2,
        };
        let dir = tempfile::tempdir().unwrap();
        let npz = generate(&spec).unwrap().save(dir.path()).unwrap();
        (
            std::fs::read(&npz).unwrap(),
            std::fs::read(npz.with_extension("json")).unwrap(),
        )
    })
}

fn h5() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/Arneodo10_10S_70T_35P_0seed_poisson.h5"),
    )
    .unwrap()
}

/// Loads `path`; an error must name the file.
fn check(path: &Path) {
    if let Err(e) = load_dataset_file(path) {
        let text = e.to_string();
        assert!(
            text.contains(&path.display().to_string()),
            "the error does not name the file: {text}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn damaged_npz_files(d in damage(files().0.len(), 512)) {
        let dir = tempfile::tempdir().unwrap();
        let npz = dir.path().join("Rossler4_12S_6T_35P_2seed_poisson.npz");
        std::fs::write(&npz, apply(&files().0, &d)).unwrap();
        std::fs::write(npz.with_extension("json"), &files().1).unwrap();
        check(&npz);
    }

    #[test]
    fn damaged_json_files(d in damage(files().1.len(), 512)) {
        let dir = tempfile::tempdir().unwrap();
        let npz = dir.path().join("Rossler4_12S_6T_35P_2seed_poisson.npz");
        std::fs::write(&npz, &files().0).unwrap();
        let json = npz.with_extension("json");
        std::fs::write(&json, apply(&files().1, &d)).unwrap();
        if let Err(e) = Dataset::load(&npz) {
            let text = e.to_string();
            prop_assert!(text.contains(&json.display().to_string()) || text.contains(&npz.display().to_string()), "{}", text);
        }
    }

    #[test]
    fn damaged_study_files(d in damage(h5().len(), 512)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Arneodo10_10S_70T_35P_0seed_poisson.h5");
        std::fs::write(&path, apply(&h5(), &d)).unwrap();
        check(&path);
    }
}
