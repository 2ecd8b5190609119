//! The study's `gru` dynamics: a GRU cell with a zero input of size 1.

use latentdyn_kernels::GruUnroll;
use tch::{nn, Tensor};

use super::Dynamics;
use crate::layers::GruCell;
use crate::tape::{kernel_applies, Taped};
use crate::{check_shape, ModelError};

/// z_{t+1} = GRUCell(0, z_t), PyTorch's `nn.GRUCell(1, L)`; trained by the
/// [`GruUnroll`] kernel.
#[derive(Debug)]
pub struct GruDynamics {
    /// The cell; parameters `weight_ih [3L, 1]`, `weight_hh [3L, L]`, `bias_ih`, `bias_hh`.
    pub cell: GruCell,
    latent: i64,
}

impl GruDynamics {
    /// Registers the cell's parameters directly under `vs`.
    pub fn new(vs: &nn::Path, latent: i64) -> Result<Self, ModelError> {
        Ok(GruDynamics {
            cell: GruCell::new(vs, 1, latent)?,
            latent,
        })
    }
}

impl Dynamics for GruDynamics {
    fn latent_size(&self) -> i64 {
        self.latent
    }

    fn step(&self, z: &Tensor) -> Result<Tensor, ModelError> {
        check_shape("GRU state", z, &[None, Some(self.latent)])?;
        let u = Tensor::f_zeros([z.size()[0], 1], (z.kind(), z.device()))?;
        self.cell.forward(&u, z)
    }

    fn unroll(&self, z0: &Tensor, steps: usize) -> Result<Tensor, ModelError> {
        check_shape("initial condition", z0, &[None, Some(self.latent)])?;
        super::check_steps(steps)?;
        let u = Tensor::f_zeros([z0.size()[0], 1], (z0.kind(), z0.device()))?;
        let mut states = Vec::with_capacity(steps);
        let mut z = z0.shallow_clone();
        for _ in 0..steps {
            z = self.cell.forward(&u, &z)?;
            states.push(z.shallow_clone());
        }
        Ok(Tensor::f_stack(&states, 1)?)
    }

    fn unroll_taped(&self, z0: &Tensor, steps: usize) -> Result<Option<Taped>, ModelError> {
        check_shape("initial condition", z0, &[None, Some(self.latent)])?;
        super::check_steps(steps)?;
        let w = &self.cell.weights;
        let params = [&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh];
        if !kernel_applies(&[z0, &w.w_hh]) {
            return Ok(None);
        }
        Taped::run(z0, &params, |p| GruUnroll::new(p, steps)).map(Some)
    }
}
