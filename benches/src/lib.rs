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
