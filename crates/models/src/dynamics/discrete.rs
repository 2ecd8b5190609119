//! The study's discrete-time cells (`node-discrete` and the ablation).

use latentdyn_kernels::MlpUnroll;
use tch::{nn, Tensor};

use super::Dynamics;
use crate::config::{CellKind, DiscreteConfig};
use crate::layers::{Mlp, RnnCell};
use crate::tape::{kernel_applies, Taped};
use crate::{check_shape, ModelError};

/// The function applied to `[u, z]`, u = 0 of size 1.
#[derive(Debug)]
pub enum Cell {
    /// MLP (L+1) → hidden → L, tanh (parameters under `mlp/0`, `mlp/2`).
    Mlp(Mlp),
    /// tanh(W u + b_ih + U z + b_hh) (parameters under `cell`).
    Rnn(RnnCell),
}

/// z_{t+1} = z_t + dt·cell(u, z_t), or z_{t+1} = cell(u, z_t) without
/// pass-through; the MLP cell is trained by the [`MlpUnroll`] kernel.
#[derive(Debug)]
pub struct DiscreteDynamics {
    /// The cell.
    pub cell: Cell,
    /// `Some(dt)` for the residual form.
    pub residual_dt: Option<f64>,
    latent: i64,
}

impl DiscreteDynamics {
    /// Registers the cell's parameters under `vs`.
    pub fn new(vs: &nn::Path, latent: i64, cfg: &DiscreteConfig) -> Result<Self, ModelError> {
        let cell = match cfg.cell {
            CellKind::Mlp { hidden } => {
                Cell::Mlp(Mlp::new(&(vs / "mlp"), latent + 1, hidden as i64, latent)?)
            }
            CellKind::Rnn => Cell::Rnn(RnnCell::new(&(vs / "cell"), 1, latent)?),
        };
        Ok(DiscreteDynamics {
            cell,
            residual_dt: cfg.residual_dt(),
            latent,
        })
    }

    /// cell(0, z).
    fn cell_output(&self, z: &Tensor) -> Result<Tensor, ModelError> {
        let u = Tensor::f_zeros([z.size()[0], 1], (z.kind(), z.device()))?;
        match &self.cell {
            Cell::Mlp(mlp) => Ok(mlp.forward(&Tensor::f_cat(&[&u, z], 1)?)),
            Cell::Rnn(rnn) => rnn.forward(&u, z),
        }
    }
}

impl Dynamics for DiscreteDynamics {
    fn latent_size(&self) -> i64 {
        self.latent
    }

    fn step(&self, z: &Tensor) -> Result<Tensor, ModelError> {
        check_shape("discrete-cell state", z, &[None, Some(self.latent)])?;
        let out = self.cell_output(z)?;
        Ok(match self.residual_dt {
            Some(dt) => z + out * dt,
            None => out,
        })
    }

    fn unroll_taped(&self, z0: &Tensor, steps: usize) -> Result<Option<Taped>, ModelError> {
        check_shape("initial condition", z0, &[None, Some(self.latent)])?;
        super::check_steps(steps)?;
        // The vanilla RNN cell has no kernel: libtorch runs it.
        let Cell::Mlp(mlp) = &self.cell else {
            return Ok(None);
        };
        let params = [&mlp.l1.weight, &mlp.l1.bias, &mlp.l2.weight, &mlp.l2.bias];
        if !kernel_applies(&[z0, &mlp.l1.weight]) {
            return Ok(None);
        }
        Taped::run(z0, &params, |p| MlpUnroll::new(p, self.residual_dt, steps)).map(Some)
    }
}
