//! The study's discrete-time cells (`node-discrete` and the ablation).

use ndarray::{s, Array1, Array2, Array3, Axis};
use tch::{nn, Device, Kind, Tensor};

use super::node_kernel::MlpParams;
use super::Dynamics;
use crate::config::{CellKind, DiscreteConfig};
use crate::layers::{Mlp, RnnCell};
use crate::tape::{
    inject, steps_first, to_array2, to_vec, trajectory_grad, trajectory_leaf, Tape, Taped,
};
use crate::{check_shape, ModelError};

/// The function applied to `[u, z]`, u = 0 of size 1.
#[derive(Debug)]
pub enum Cell {
    /// MLP (L+1) → hidden → L, tanh (parameters under `mlp/0`, `mlp/2`).
    Mlp(Mlp),
    /// tanh(W u + b_ih + U z + b_hh) (parameters under `cell`).
    Rnn(RnnCell),
}

/// z_{t+1} = z_t + dt·cell(u, z_t), or z_{t+1} = cell(u, z_t) without pass-through.
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
        let Cell::Mlp(mlp) = &self.cell else {
            return Ok(None);
        };
        let cpu_f32 = |t: &Tensor| t.device() == Device::Cpu && t.kind() == Kind::Float;
        if !cpu_f32(z0) || !cpu_f32(&mlp.l1.weight) {
            return Ok(None);
        }
        // The cell reads [u, z] with u = 0: only W1's columns 1.. act.
        let w1 = to_array2(&mlp.l1.weight)?;
        let params = MlpParams::from_arrays(
            w1.slice(s![.., 1..]).to_owned(),
            Array1::from_vec(to_vec(&mlp.l1.bias)?),
            to_array2(&mlp.l2.weight)?,
            Array1::from_vec(to_vec(&mlp.l2.bias)?),
        );
        let b = z0.size()[0] as usize;
        let l = self.latent as usize;
        let mut z = to_array2(z0)?;
        let mut inputs = Vec::with_capacity(steps);
        let mut acts = Vec::with_capacity(steps);
        let mut latents = Array3::<f32>::zeros((b, steps, l));
        for st in 0..steps {
            let (f, act) = params.forward(z.view());
            let next = match self.residual_dt {
                Some(dt) => {
                    let mut n = z.clone();
                    n.scaled_add(dt as f32, &f);
                    n
                }
                None => f,
            };
            latents.index_axis_mut(Axis(1), st).assign(&next);
            inputs.push(std::mem::replace(&mut z, next));
            acts.push(act);
        }
        let leaf = trajectory_leaf(latents.view())?;
        let tape = DiscreteTape {
            leaf: leaf.shallow_clone(),
            z0: z0.shallow_clone(),
            params,
            residual_dt: self.residual_dt,
            inputs,
            acts,
            tensors: [&mlp.l1.weight, &mlp.l1.bias, &mlp.l2.weight, &mlp.l2.bias]
                .map(Tensor::shallow_clone),
        };
        Ok(Some((leaf, Box::new(tape))))
    }
}

/// The MLP cell's unroll, recorded for [`Tape::backward`].
struct DiscreteTape {
    leaf: Tensor,
    z0: Tensor,
    params: MlpParams,
    residual_dt: Option<f64>,
    inputs: Vec<Array2<f32>>,
    acts: Vec<Array2<f32>>,
    tensors: [Tensor; 4],
}

impl std::fmt::Debug for DiscreteTape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscreteTape")
            .field("latents", &self.leaf.size())
            .finish_non_exhaustive()
    }
}

impl Tape for DiscreteTape {
    fn backward(&self) -> Result<(), ModelError> {
        let size = self.leaf.size();
        let (b, t, l) = (size[0] as usize, size[1] as usize, size[2] as usize);
        let Some(g) = trajectory_grad(&self.leaf)? else {
            return Ok(());
        };
        let g = steps_first(&g, 0..b);
        let mut grads = self.params.zeros_like();
        let mut zbar = Array2::<f32>::zeros((b, l));
        for st in (0..t).rev() {
            zbar += &g.index_axis(Axis(0), st);
            let (z, act) = (&self.inputs[st], &self.acts[st]);
            zbar = match self.residual_dt {
                Some(dt) => {
                    let gf = &zbar * dt as f32;
                    let back = self.params.vjp(z.view(), act, gf.view(), &mut grads);
                    zbar + back
                }
                None => self.params.vjp(z.view(), act, zbar.view(), &mut grads),
            };
        }
        let [w1, b1, w2, b2] = &self.tensors;
        let w1g = grads.w1_grad();
        let mut full = Array2::<f32>::zeros((w1g.nrows(), w1g.ncols() + 1));
        full.slice_mut(s![.., 1..]).assign(&w1g);
        let (gb1, gw2, gb2) = grads.rest();
        inject(&[
            (w1, full.view().into_dyn()),
            (b1, gb1.view().into_dyn()),
            (w2, gw2.view().into_dyn()),
            (b2, gb2.view().into_dyn()),
            (&self.z0, zbar.view().into_dyn()),
        ])
    }
}
