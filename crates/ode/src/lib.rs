//! Explicit Runge–Kutta ODE solvers for latentdyn.
//!
//! One set of solvers, generic over a small [`State`] trait, serves two
//! backends: `ndarray::Array1<f64>` (and `Vec<f64>`) for data generation,
//! and — behind the `tch` feature — `tch::Tensor`, whose operations keep the
//! autograd graph so a neural ODE can be trained by backpropagating through
//! the solver.
//!
//! - Methods are data: a [`Tableau`] (Euler, midpoint, RK4, Dopri5, Tsit5,
//!   DOP853), named by [`Method`].
//! - [`solve_fixed`]: equal steps per output interval.
//! - [`solve_adaptive`]: embedded error control (Hairer–Nørsett–Wanner),
//!   Hairer's initial step, dense output or torchdyn-style stepping onto the
//!   output times ([`OutputMode`]).
//! - [`solve_adaptive_recorded`], [`solve_fixed_recorded`] and
//!   [`Recording::backward`]: backpropagation through the accepted steps of
//!   a solve (the discrete adjoint), for hand-written training kernels.
//! - [`solve_dde`]: constant-delay differential equations by the method of
//!   steps with interpolated history.
//! - [`test_models`]: problems with known solutions, used by the tests.
//!
//! Errors are typed ([`OdeError`]); bad input never panics or hangs.

mod adjoint;
mod dde;
mod error;
mod solve;
mod state;
mod tableau;
pub mod test_models;

pub use adjoint::{solve_adaptive_recorded, solve_fixed_recorded, Recording};
pub use dde::{solve_dde, DdeOptions, DdeProblem};
pub use error::OdeError;
pub use solve::{
    solve_adaptive, solve_fixed, AcceptedStep, AdaptiveOptions, OdeFn, OutputMode, Solution,
    SolverStats,
};
pub use state::State;
pub use tableau::{DenseOutput, ErrorEstimator, Method, Tableau, UnknownMethod};
