//! Damaged and random grid files: never a panic, always an error naming the
//! file (or a grid that passes every check). `LATENTDYN_FUZZ_CASES` sets the
//! number of cases (default 48, what CI runs).

use latentdyn_experiments::Grid;
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("LATENTDYN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

const SURVEY: &str = include_str!("../../../configs/grids/survey.toml");

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn damaged_grid_files(cut in 0..SURVEY.len(), at in 0..SURVEY.len(), byte in 1u8..=255, random in proptest::collection::vec(any::<u8>(), 0..200), which in 0..3u8) {
        let mut bytes = SURVEY.as_bytes().to_vec();
        match which {
            0 => bytes.truncate(cut),
            1 => bytes[at] ^= byte,
            _ => bytes = random,
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(&path, &bytes).unwrap();
        match Grid::from_file(&path) {
            Err(e) => {
                let text = e.to_string();
                prop_assert!(text.contains("g.toml") || text.contains("grid"), "{}", text);
            }
            Ok(g) => prop_assert!(g.validate().is_ok()),
        }
    }
}
