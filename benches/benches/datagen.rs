//! Generating each of the study's six datasets (trajectory, readout, spikes,
//! split), and all six in parallel as `latentdyn data generate --preset all`
//! does. Reference: dysts 0.96 needs 916 s for the Arneodo trajectory alone,
//! dysts 0.1 (the study's) 8.3 s (shared/reference/peer-timings.md).

use criterion::{criterion_group, criterion_main, Criterion};
use latentdyn_data::{generate, generate_many, DatasetSpec};
use std::hint::black_box;
use std::time::Duration;

fn bench_datasets(c: &mut Criterion) {
    let mut group = c.benchmark_group("datagen");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let presets = DatasetSpec::study_presets();
    for (name, spec) in &presets {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(generate(spec).expect("generates")))
        });
    }
    let specs: Vec<DatasetSpec> = presets.iter().map(|(_, s)| *s).collect();
    group.bench_function("all_six_parallel", |b| {
        b.iter(|| black_box(generate_many(&specs)))
    });
    group.finish();
}

criterion_group!(benches, bench_datasets);
criterion_main!(benches);
