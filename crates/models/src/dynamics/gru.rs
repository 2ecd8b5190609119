//! The study's `gru` dynamics: a GRU cell with a zero input of size 1.

use ndarray::{Array1, Array2};
use tch::{nn, Device, Kind, Tensor};

use super::Dynamics;
use crate::fused_gru::{self, DirectionTape, GruParams, OutputGrad};
use crate::layers::GruCell;
use crate::tape::{batch_major, inject, tensor, to_array2, to_vec, Tape, Taped};
use crate::{check_shape, ModelError};

/// z_{t+1} = GRUCell(0, z_t), PyTorch's `nn.GRUCell(1, L)` on the fused kernel.
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
        if z0.device() != Device::Cpu || z0.kind() != Kind::Float || w.w_hh.kind() != Kind::Float {
            return Ok(None);
        }
        let params = GruParams {
            w_ih: to_array2(&w.w_ih)?,
            w_hh: to_array2(&w.w_hh)?,
            b_ih: Array1::from_vec(to_vec(&w.b_ih)?),
            b_hh: Array1::from_vec(to_vec(&w.b_hh)?),
        };
        let b = z0.size()[0] as usize;
        let h0 = to_array2(z0)?;
        let x = Array2::<f32>::zeros((steps * b, 1));
        let (_, tape) = fused_gru::forward(x, steps, b, &params, Some(h0.view()));
        let states = batch_major(tape.states(), steps);
        let leaf = tensor(
            states.as_slice().expect("contiguous"),
            &[b as i64, steps as i64, self.latent],
        )?
        .set_requires_grad(true);
        let record = UnrollTape {
            leaf: leaf.shallow_clone(),
            z0: z0.shallow_clone(),
            tape,
            params,
            tensors: [&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh].map(Tensor::shallow_clone),
        };
        Ok(Some((leaf, Box::new(record))))
    }
}

/// The GRU dynamics' unroll, recorded for [`Tape::backward`].
struct UnrollTape {
    leaf: Tensor,
    z0: Tensor,
    tape: DirectionTape,
    params: GruParams,
    tensors: [Tensor; 4],
}

impl std::fmt::Debug for UnrollTape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GruUnrollTape")
            .field("latents", &self.leaf.size())
            .finish_non_exhaustive()
    }
}

impl Tape for UnrollTape {
    fn backward(&self) -> Result<(), ModelError> {
        let g = self.leaf.f_grad()?;
        if !g.defined() {
            return Ok(());
        }
        // [B, T, L] → time-major [T·B, L].
        let size = g.size();
        let g = to_array2(
            &g.f_transpose(0, 1)?
                .f_reshape([size[0] * size[1], size[2]])?,
        )?;
        let (d, dz0) = fused_gru::backward(&self.tape, &self.params, OutputGrad::Every(g.view()));
        let [w_ih, w_hh, b_ih, b_hh] = &self.tensors;
        inject(&[
            (
                w_ih,
                tensor(d.w_ih.as_slice().expect("contiguous"), &w_ih.size())?,
            ),
            (
                w_hh,
                tensor(d.w_hh.as_slice().expect("contiguous"), &w_hh.size())?,
            ),
            (
                b_ih,
                tensor(d.b_ih.as_slice().expect("contiguous"), &b_ih.size())?,
            ),
            (
                b_hh,
                tensor(d.b_hh.as_slice().expect("contiguous"), &b_hh.size())?,
            ),
            (
                &self.z0,
                tensor(dz0.as_slice().expect("contiguous"), &self.z0.size())?,
            ),
        ])
    }
}
