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
//!
//! The distance to the machine's limit is printed before the timings: the
//! sgemm rate of this process (a 2048² product through libtorch, on the
//! same threads) and, per config, the step's matrix-product FLOP count
//! ([`step_flop`]) and the GFLOP/s a median of five steps achieves.

use criterion::{criterion_group, Criterion};
use latentdyn_benches::{arneodo_batch, bench_model, bench_threads, train_step, TRAIN_CONFIGS};
use latentdyn_data::{generate, DatasetSpec};
use latentdyn_models::{CellKind, DynamicsConfig, ModelConfig};
use std::time::{Duration, Instant};
use tch::{Device, Kind, Tensor};

/// Multiply-add FLOPs (2 per multiply-add) of the matrix products of one
/// training step, forward and backward, of `cfg` on `batch` trials of
/// `steps` bins and `channels` channels. `nfe`: the NODE's vector-field
/// evaluations per forward pass (its backward pass takes one vector–Jacobian
/// product, twice a forward's cost, per evaluation but the two that start
/// the solve). Elementwise work is left out: the products dominate.
fn step_flop(
    cfg: &ModelConfig,
    batch: usize,
    steps: usize,
    channels: usize,
    nfe: Option<usize>,
) -> f64 {
    let (b, t, c) = (batch as f64, steps as f64, channels as f64);
    let (h, l) = (cfg.encoder_size as f64, cfg.latent_size as f64);
    // Per direction and bin: the recurrent product forward, the state
    // gradient and the recurrent weights' gradient (3 × 6BH²); the input
    // product and the input weights' gradient (2 × 6BCH).
    let encoder = 2.0 * t * (18.0 * b * h * h + 12.0 * b * c * h);
    let ic = 3.0 * 2.0 * b * (2.0 * h) * l;
    let readout = 3.0 * 2.0 * b * t * l * c;
    let mlp_forward = |hidden: f64| 4.0 * b * l * hidden;
    let dynamics = match &cfg.dynamics {
        DynamicsConfig::Gru => 18.0 * b * l * l * t,
        DynamicsConfig::Node(n) => {
            let evals = nfe.unwrap_or(0) as f64;
            let m = mlp_forward(n.hidden as f64);
            evals * m + (evals - 2.0).max(0.0) * 2.0 * m
        }
        DynamicsConfig::Discrete(d) => match d.cell {
            CellKind::Mlp { hidden } => 3.0 * mlp_forward(hidden as f64) * t,
            CellKind::Rnn => 3.0 * 2.0 * b * l * l * t,
        },
    };
    encoder + ic + readout + dynamics
}

/// GFLOP/s of a 2048 × 2048 f32 product through libtorch (its sgemm), the
/// best of five after a warm-up.
fn sgemm_gflops() -> f64 {
    let n = 2048;
    let a = Tensor::randn([n, n], (Kind::Float, Device::Cpu));
    let b = Tensor::randn([n, n], (Kind::Float, Device::Cpu));
    let _ = a.matmul(&b);
    let best = (0..5)
        .map(|_| {
            let start = Instant::now();
            let p = a.matmul(&b);
            let _ = p.double_value(&[0, 0]);
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * (n as f64).powi(3) / best / 1e9
}

fn bench_train_step(c: &mut Criterion) {
    let threads = bench_threads();
    let spec = DatasetSpec::preset("arneodo").expect("study preset");
    let data = generate(&spec).expect("arneodo dataset");
    let x = arneodo_batch(&data, 0, 650);

    let sgemm = sgemm_gflops();
    eprintln!("sgemm (2048², libtorch, {threads} threads): {sgemm:.1} GFLOP/s");
    let mut group = c.benchmark_group(format!("train_step_t{threads}"));
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(12));
    for (label, preset, latent) in TRAIN_CONFIGS {
        let (_vs, model, mut adam, cfg) = bench_model(preset, latent, spec);
        let mut step = || train_step(&model, &mut adam, &x);
        step();
        let mut nfe = None;
        if let Some(first) = model.dynamics.evaluations() {
            model.dynamics.reset_evaluations();
            step();
            let per_forward = model.dynamics.evaluations().unwrap_or(0);
            eprintln!(
                "{label}: {per_forward} vector-field evaluations per forward (first: {first})"
            );
            nfe = Some(per_forward);
        }
        let flop = step_flop(&cfg.model, 650, 70, 10, nfe);
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let start = Instant::now();
                step();
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let gflops = flop / times[2] / 1e9;
        eprintln!(
            "{label}: {:.2} GFLOP per step, {:.0} ms (median of 5): {gflops:.1} GFLOP/s, {:.0} % of sgemm",
            flop / 1e9,
            times[2] * 1e3,
            100.0 * gflops / sgemm
        );
        group.bench_function(label, |b| b.iter(&mut step));
    }
    group.finish();
}

criterion_group!(benches, bench_train_step);

fn main() {
    latentdyn_benches::restart_tuned();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
