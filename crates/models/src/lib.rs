//! The study's sequential autoencoder (Sedler, Versteeg & Pandarinath 2023)
//! on libtorch: a bidirectional-GRU encoder infers the initial condition z₀,
//! latent dynamics unroll it over the trial, and a linear readout maps the
//! latents to log firing rates, trained with a Poisson likelihood.
//!
//! The three dynamics of the study — a GRU cell, a neural ODE and the
//! discrete-time cell of the ablation — sit behind one trait, [`Dynamics`],
//! whose required method is a single step; everything around them (encoder,
//! initial condition, readout, loss) is shared. Configuration is plain serde
//! ([`ModelConfig`]) with the study's values as defaults and its configs as
//! presets. Every parameter is initialised as PyTorch initialises the
//! corresponding layer, so a model here starts from the same distribution as
//! the study's.
//!
//! (`no_run`: rustdoc links doctests outside `target/`, where the runpath
//! to libtorch does not reach.)
//!
//! ```no_run
//! use latentdyn_models::{poisson_nll, DeviceChoice, ModelConfig, SequentialAutoencoder};
//! use tch::{nn, Kind, Tensor};
//!
//! let device = DeviceChoice::Cpu.resolve()?;
//! let vs = nn::VarStore::new(device);
//! let model = SequentialAutoencoder::new(&vs.root(), &ModelConfig::study_node(3), 10)?;
//! let spikes = Tensor::zeros([4, 70, 10], (Kind::Float, device));
//! let out = model.forward_t(&spikes, true)?;
//! assert_eq!(out.latents.size(), [4, 70, 3]);
//! let loss = poisson_nll(&out.log_rates, &spikes, Some(5))?;
//! out.backward(&loss)?; // the encoder's gradients included
//! # Ok::<(), latentdyn_models::ModelError>(())
//! ```
//!
//! In training on the CPU the encoder and the dynamics run by the
//! hand-written kernels of `latentdyn-kernels`, plugged into autograd by
//! [`Taped::run`]; [`SaeOutput::backward`] finishes their backward passes.
//!
//! This crate depends on `latentdyn-ode` (its `Tensor` state backend drives
//! the neural ODE), on `latentdyn-kernels`, and on nothing that knows about
//! datasets.

pub mod config;
pub mod convert;
pub mod device;
pub mod dynamics;
pub mod encoder;
mod error;
pub mod layers;
pub mod loss;
pub mod runtime;
pub mod sae;
mod tape;

pub use config::{
    CellKind, DiscreteConfig, DynamicsConfig, ModelConfig, NodeConfig, NodeSolver, Update,
};
pub use convert::{array3_to_tensor, tensor_to_array3};
pub use device::{device_name, DeviceChoice};
pub use dynamics::{build_dynamics, DiscreteDynamics, Dynamics, GruDynamics, NodeDynamics};
pub use encoder::Encoder;
pub use error::ModelError;
pub use latentdyn_ode::{Method, OutputMode};
pub use loss::poisson_nll;
pub use sae::{parameter_count, Kernels, SaeOutput, SequentialAutoencoder};
pub use tape::{Taped, Tapes};

use tch::Tensor;

/// Checks `t`'s shape against `expected` (`None` = any size in that dimension).
pub(crate) fn check_shape(
    what: &'static str,
    t: &Tensor,
    expected: &[Option<i64>],
) -> Result<(), ModelError> {
    let found = t.size();
    let ok = found.len() == expected.len()
        && found
            .iter()
            .zip(expected)
            .all(|(f, e)| e.is_none_or(|e| e == *f));
    if ok {
        return Ok(());
    }
    let dims: Vec<String> = expected
        .iter()
        .map(|e| e.map_or_else(|| "_".to_owned(), |e| e.to_string()))
        .collect();
    Err(ModelError::Shape {
        what,
        expected: format!("[{}]", dims.join(", ")),
        found,
    })
}
