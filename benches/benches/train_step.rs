//! One full training step — zero_grad, forward (train mode), Poisson NLL over
//! all 70 bins, backward, Adam — for the configs that
//! `shared/reference/peer_step_bench.py` times in PyTorch: batch 650 × 70 bins
//! × 10 channels (the first 650 trials of the arneodo dataset's `spikes`, the
//! batch `peer_step_bench.py --npz` takes),
//! libtorch threads from `LATENTDYN_BENCH_THREADS` (default 2, as the reference).
//! The model trains by the hand-written CPU kernels (the default);
//! `LATENTDYN_BENCH_KERNELS=libtorch` times libtorch's operators instead
//! (`hand`, the default, the hand-written kernels), as `latentdyn train
//! --kernels` chooses.
//! Runs with `GOMP_SPINCOUNT=10000` and `GLIBC_TUNABLES` for malloc unless
//! they are set, as `latentdyn` does (`latentdyn_models::runtime`).

use criterion::{criterion_group, Criterion};
use latentdyn_data::{generate, DatasetSpec};
use latentdyn_models::{array3_to_tensor, poisson_nll, SequentialAutoencoder};
use latentdyn_train::{Adam, RunConfig};
use ndarray::Axis;
use std::time::Duration;
use tch::{nn::VarStore, Device};

fn bench_train_step(c: &mut Criterion) {
    let threads: i32 = std::env::var("LATENTDYN_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    tch::set_num_threads(threads);
    let spec = DatasetSpec::preset("arneodo").expect("study preset");
    let data = generate(&spec).expect("arneodo dataset");
    let idx: Vec<usize> = (0..650).collect();
    let spikes = data.spikes.select(Axis(0), &idx).mapv(f64::from);
    let x = array3_to_tensor(spikes.view(), Device::Cpu).expect("batch tensor");

    let mut group = c.benchmark_group(format!("train_step_t{threads}"));
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(12));
    for (label, preset, latent) in [
        ("gru3", "gru", 3),
        ("gru25", "gru", 25),
        ("gru100", "gru", 100),
        ("node3", "node", 3),
        ("node10", "node", 10),
        ("discrete3", "ablation0", 3),
    ] {
        let cfg = RunConfig::preset(preset, Some(latent), spec, 0).expect("preset");
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let mut model = SequentialAutoencoder::new(&vs.root(), &cfg.model, 10).expect("model");
        let kernels = std::env::var("LATENTDYN_BENCH_KERNELS")
            .ok()
            .map(|k| {
                k.parse()
                    .expect("LATENTDYN_BENCH_KERNELS: hand or libtorch")
            })
            .unwrap_or_default();
        model.set_kernels(kernels);
        let mut adam = Adam::new(&vs, cfg.train.optimizer);
        let mut step = || {
            adam.zero_grad();
            let out = model.forward_t(&x, true).expect("forward");
            let loss = poisson_nll(&out.log_rates, &x, None).expect("loss");
            out.backward(&loss).expect("backward");
            adam.step();
        };
        step();
        if let Some(nfe) = model.dynamics.evaluations() {
            model.dynamics.reset_evaluations();
            step();
            let per_forward = model.dynamics.evaluations().unwrap_or(0);
            eprintln!("{label}: {per_forward} vector-field evaluations per forward (first: {nfe})");
        }
        group.bench_function(label, |b| b.iter(&mut step));
    }
    group.finish();
}

criterion_group!(benches, bench_train_step);

fn main() {
    // As the `latentdyn` binary does (see latentdyn_models::runtime).
    if let Err(e) = latentdyn_models::runtime::restart_with_tuned_runtime() {
        eprintln!("note: could not restart with the OpenMP and malloc settings ({e})");
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
