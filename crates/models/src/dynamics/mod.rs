//! Latent dynamics: one trait, three implementations.
//!
//! The trait's required method is a single step of the one-bin latent map;
//! [`Dynamics::unroll`] is derived from it, and an implementation may
//! override it with a faster path of the same meaning (the neural ODE solves
//! once over all output times instead of once per bin).

use std::fmt;

use tch::{nn, Tensor};

use crate::config::DynamicsConfig;
use crate::tape::Taped;
use crate::{check_shape, ModelError};

mod discrete;
mod gru;
mod node;

pub use discrete::DiscreteDynamics;
pub use gru::GruDynamics;
pub use node::{NodeDynamics, VectorField, MAX_SOLVER_STEPS};

/// Latent dynamics of the sequential autoencoder.
///
/// Latents are `[batch, L]` per time point; trajectories `[batch, time, L]`.
pub trait Dynamics: fmt::Debug {
    /// The latent size L.
    fn latent_size(&self) -> i64;

    /// One time bin of the latent map, z_{t+1} = F(z_t) (`[batch, L]` in and
    /// out). For the neural ODE this integrates the vector field over one bin
    /// with the configured solver.
    fn step(&self, z: &Tensor) -> Result<Tensor, ModelError>;

    /// The continuous-time vector field f(z) when the dynamics has one (the
    /// neural ODE), else `None`: a fixed-point search then minimises
    /// ½‖f(z)‖² instead of ½‖F(z) − z‖².
    fn vector_field(&self, z: &Tensor) -> Result<Option<Tensor>, ModelError> {
        let _ = z;
        Ok(None)
    }

    /// The latent trajectory from `z0` (`[batch, L]`), `[batch, steps, L]`.
    ///
    /// The default emits the state after each of `steps` applications of
    /// [`Dynamics::step`] (the study's GRU and discrete cells). The neural ODE
    /// instead returns its solution at `steps` equally spaced times starting
    /// at t = 0, so its first latent is `z0` itself (the study's `node`).
    fn unroll(&self, z0: &Tensor, steps: usize) -> Result<Tensor, ModelError> {
        check_shape("initial condition", z0, &[None, Some(self.latent_size())])?;
        check_steps(steps)?;
        let mut states = Vec::with_capacity(steps);
        let mut z = z0.shallow_clone();
        for _ in 0..steps {
            z = self.step(&z)?;
            states.push(z.shallow_clone());
        }
        Ok(Tensor::f_stack(&states, 1)?)
    }

    /// The training path of [`Dynamics::unroll`] by a hand-written kernel
    /// (`latentdyn-kernels`), when this dynamics has one for `z0`'s kind and
    /// device: [`Taped::run`] with the kernel, the trajectory as a fresh
    /// autograd leaf whose tape finishes the backward pass into the
    /// parameters and `z0`. `None` (the default): use [`Dynamics::unroll`].
    fn unroll_taped(&self, z0: &Tensor, steps: usize) -> Result<Option<Taped>, ModelError> {
        let _ = (z0, steps);
        Ok(None)
    }

    /// Vector-field evaluations since the last [`Dynamics::reset_evaluations`]
    /// (the neural ODE's NFE); `None` for dynamics that have no vector field.
    fn evaluations(&self) -> Option<usize> {
        None
    }

    /// Zeroes the counter behind [`Dynamics::evaluations`].
    fn reset_evaluations(&self) {}
}

pub(crate) fn check_steps(steps: usize) -> Result<(), ModelError> {
    if steps == 0 {
        Err(ModelError::config(
            "steps",
            "an unroll needs at least one time step",
        ))
    } else {
        Ok(())
    }
}

/// Builds the dynamics described by `cfg` for latent size `latent`, its
/// parameters registered under `vs`.
pub fn build_dynamics(
    vs: &nn::Path,
    latent: i64,
    cfg: &DynamicsConfig,
) -> Result<Box<dyn Dynamics>, ModelError> {
    Ok(match cfg {
        DynamicsConfig::Gru => Box::new(GruDynamics::new(vs, latent)?),
        DynamicsConfig::Discrete(d) => Box::new(DiscreteDynamics::new(vs, latent, d)?),
        DynamicsConfig::Node(n) => Box::new(NodeDynamics::new(vs, latent, n)?),
    })
}
