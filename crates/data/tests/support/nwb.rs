//! The NWB fixtures and the import options the tests use them with, shared
//! by the tests that import them (`#[path = "support/nwb.rs"] mod nwb_fixtures;`).

use std::path::{Path, PathBuf};

use latentdyn_data::{Heldout, ImportOptions};

/// `tests/fixtures/nwb/<name>`: our own small NWB files (make_nwb_fixtures.py).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/nwb")
        .join(name)
}

/// How `tiny.nwb` is cut: aligned on `move`, −100:200 ms in 50 ms bins,
/// the `heldout` column, its behaviour and conditions.
pub fn tiny_options() -> ImportOptions {
    ImportOptions {
        bin_ms: 50.0,
        align: "move".into(),
        window_ms: (-100.0, 200.0),
        heldout: Heldout::Column {
            name: "heldout".into(),
        },
        behavior: Some("processing/behavior/hand/vel".into()),
        condition: Some("condition_id".into()),
        split_seed: 0,
    }
}
