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
