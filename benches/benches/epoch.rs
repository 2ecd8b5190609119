//! One epoch of the study, as `shared/reference/peer_step_bench.py --valid`
//! times its parts: two training steps (650 and 630 trials: zero_grad,
//! forward in train mode, Poisson NLL over all 70 bins, backward, Adam) and
//! the validation pass (eval mode, no grad, one forward of the 320
//! validation trials, log-rates copied out), so that epoch ≈ 2 × step +
//! valid. The batches are trials 0–649, 650–1279 and (validation) 650–969
//! of the arneodo dataset's `spikes`, the slices `peer_step_bench.py --npz`
//! takes. libtorch threads from `LATENTDYN_BENCH_THREADS` (default 2); the
//! hand-written kernels unless `LATENTDYN_BENCH_KERNELS=libtorch`.

use criterion::{criterion_group, Criterion};
use latentdyn_benches::{arneodo_batch, bench_model, bench_threads, train_step, TRAIN_CONFIGS};
use latentdyn_data::{generate, DatasetSpec};
use latentdyn_models::{tensor_to_array3, SequentialAutoencoder};
use std::time::Duration;

fn bench_epoch(c: &mut Criterion) {
    let threads = bench_threads();
    let spec = DatasetSpec::preset("arneodo").expect("study preset");
    let data = generate(&spec).expect("arneodo dataset");
    let (first, second, valid) = (
        arneodo_batch(&data, 0, 650),
        arneodo_batch(&data, 650, 630),
        arneodo_batch(&data, 650, 320),
    );

    let mut group = c.benchmark_group(format!("epoch_t{threads}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15));
    // gru100's epoch is left out: its step is timed by the train-step bench.
    for (label, preset, latent) in TRAIN_CONFIGS.into_iter().filter(|c| c.0 != "gru100") {
        let (_vs, model, mut adam, _) = bench_model(preset, latent, spec);
        let valid_pass = |model: &SequentialAutoencoder| {
            tch::no_grad(|| {
                let out = model.forward_t(&valid, false).expect("validation forward");
                tensor_to_array3(&out.log_rates).expect("log-rates")
            })
        };
        train_step(&model, &mut adam, &first);
        group.bench_function(format!("valid/{label}"), |b| b.iter(|| valid_pass(&model)));
        group.bench_function(format!("epoch/{label}"), |b| {
            b.iter(|| {
                train_step(&model, &mut adam, &first);
                train_step(&model, &mut adam, &second);
                valid_pass(&model)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_epoch);

fn main() {
    latentdyn_benches::restart_tuned();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
