//! Shared pieces of latentdyn's criterion benchmarks.
//!
//! The benches live in `benches/benches/`; run them with `cargo xtask bench`
//! (or `cargo bench -p latentdyn-benches`). Each reports the time of one hot
//! path; `docs/reproduction.md` sets them beside the reference Python timings
//! in `shared/reference`.

use ndarray::{array, Array1};

/// The Lorenz vector field with the study's parameters (σ 10, ρ 28, β 2.667),
/// a small, cheap right-hand side for timing the solvers themselves.
pub fn lorenz(_t: f64, y: &Array1<f64>) -> Array1<f64> {
    array![
        10.0 * (y[1] - y[0]),
        y[0] * (28.0 - y[2]) - y[1],
        y[0] * y[1] - 2.667 * y[2]
    ]
}

/// The dysts default initial condition of Lorenz.
pub fn lorenz_ic() -> Array1<f64> {
    array![-9.7869288, -15.03852, 20.533978]
}

/// libtorch threads of the training benches: `LATENTDYN_BENCH_THREADS`
/// (default 2, as the reference); also set as libtorch's thread count.
pub fn bench_threads() -> i32 {
    let threads = std::env::var("LATENTDYN_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    tch::set_num_threads(threads);
    threads
}

/// The kernels of the training benches: `LATENTDYN_BENCH_KERNELS` (`hand`,
/// the default, or `libtorch`), as `latentdyn train --kernels` chooses.
pub fn bench_kernels() -> latentdyn_models::Kernels {
    std::env::var("LATENTDYN_BENCH_KERNELS")
        .ok()
        .map(|k| {
            k.parse()
                .expect("LATENTDYN_BENCH_KERNELS: hand or libtorch")
        })
        .unwrap_or_default()
}

/// Trials `from..from + n` of the arneodo dataset's spikes as an f32
/// tensor, the slices `peer_step_bench.py --npz` takes.
pub fn arneodo_batch(data: &latentdyn_data::Dataset, from: usize, n: usize) -> tch::Tensor {
    let idx: Vec<usize> = (from..from + n).collect();
    let spikes = data.spikes.select(ndarray::Axis(0), &idx).mapv(f64::from);
    latentdyn_models::array3_to_tensor(spikes.view(), tch::Device::Cpu).expect("batch tensor")
}

/// The configurations the training benches time, as `peer_step_bench.py`
/// names them: (label, preset, latent size).
pub const TRAIN_CONFIGS: [(&str, &str, usize); 6] = [
    ("gru3", "gru", 3),
    ("gru25", "gru", 25),
    ("gru100", "gru", 100),
    ("node3", "node", 3),
    ("node10", "node", 10),
    ("discrete3", "ablation0", 3),
];

/// A model of `preset` at latent size `latent` for 10 channels, seeded
/// (seed 0), on the kernels [`bench_kernels`] chooses, with its variable
/// store, its Adam and its run configuration.
pub fn bench_model(
    preset: &str,
    latent: usize,
    spec: latentdyn_data::DatasetSpec,
) -> (
    tch::nn::VarStore,
    latentdyn_models::SequentialAutoencoder,
    latentdyn_train::Adam,
    latentdyn_train::RunConfig,
) {
    let cfg = latentdyn_train::RunConfig::preset(preset, Some(latent), spec, 0).expect("preset");
    tch::manual_seed(0);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let mut model =
        latentdyn_models::SequentialAutoencoder::new(&vs.root(), &cfg.model, 10).expect("model");
    model.set_kernels(bench_kernels());
    let adam = latentdyn_train::Adam::new(&vs, cfg.train.optimizer);
    (vs, model, adam, cfg)
}

/// One training step as the study takes it: zero_grad, forward in train
/// mode, Poisson NLL over all bins, backward (the kernels' tapes included),
/// Adam.
pub fn train_step(
    model: &latentdyn_models::SequentialAutoencoder,
    adam: &mut latentdyn_train::Adam,
    x: &tch::Tensor,
) {
    adam.zero_grad();
    let out = model.forward_t(x, true).expect("forward");
    let loss = latentdyn_models::poisson_nll(&out.log_rates, x, None).expect("loss");
    out.backward(&loss).expect("backward");
    adam.step();
}

/// Restarts the bench process with the OpenMP and malloc settings the
/// `latentdyn` binary runs with (`latentdyn_models::runtime`), or says why
/// it could not: every timing bench calls it first, so that both sides of a
/// comparison run as a user's training run does.
pub fn restart_tuned() {
    if let Err(e) = latentdyn_models::runtime::restart_with_tuned_runtime() {
        eprintln!("note: could not restart with the OpenMP and malloc settings ({e})");
    }
}
