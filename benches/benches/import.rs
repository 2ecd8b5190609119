//! Importing a large NWB session: 256 units, 10.2 million spikes, 1000
//! trials, a 1 kHz behaviour series (`benches/scripts/make_large_session.py`,
//! which `cargo xtask bench` runs, with h5py, when the file is missing):
//! reading the ragged spike times, binning them into 40 bins of 20 ms per
//! trial, resampling the behaviour, the held-out column and the split.
//! The file is `$LATENTDYN_BENCH_NWB`, else
//! `target/bench-data/large_session.nwb`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use latentdyn_data::{import_nwb, Heldout, ImportOptions};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn session() -> PathBuf {
    let path = std::env::var_os("LATENTDYN_BENCH_NWB").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/large_session.nwb"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "{} is missing: `cargo xtask bench --bench import` makes it (h5py in the project's \
         venv), or run benches/scripts/make_large_session.py OUT.nwb and set \
         LATENTDYN_BENCH_NWB=OUT.nwb",
        path.display()
    );
    path
}

fn bench_import(c: &mut Criterion) {
    let path = session();
    let opts = ImportOptions {
        bin_ms: 20.0,
        align: "move_onset_time".into(),
        window_ms: (-300.0, 500.0),
        heldout: Heldout::Column {
            name: "heldout".into(),
        },
        behavior: Some("processing/behavior/hand_kinematics/hand_vel".into()),
        condition: Some("condition_id".into()),
        split_seed: 0,
    };
    let first = import_nwb(&path, &opts, &|_, _| {}).expect("the bench session imports");
    let spikes = first.summary.spikes_total;
    eprintln!(
        "{}: {} units, {spikes} spikes, {} trials × {} bins",
        path.display(),
        first.summary.units,
        first.summary.trials,
        first.summary.bins
    );
    let mut group = c.benchmark_group("import");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(spikes));
    group.bench_function("nwb_256_units_10M_spikes", |b| {
        b.iter(|| black_box(import_nwb(&path, &opts, &|_, _| {}).expect("imports")))
    });
    group.finish();
}

criterion_group!(benches, bench_import);
criterion_main!(benches);
