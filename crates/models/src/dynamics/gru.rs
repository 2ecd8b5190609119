//! The study's `gru` dynamics: a GRU cell with a zero input of size 1.

use ndarray::{Array1, Array2, Axis};
use tch::{nn, Device, Kind, Tensor};

use super::Dynamics;
use crate::fused_gru::{self, DirectionTape, GruParams, OutputGrad};
use crate::layers::GruCell;
use crate::tape::{
    each_part, fill_batch_major, inject, pool, row_parts, steps_first, to_array2, to_vec,
    trajectory_grad, trajectory_leaf, two, Tape, Taped,
};
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
        // Trials are independent: two halves on two threads when allowed.
        let parts = row_parts(b, 64);
        let tapes = each_part(&parts, |rows| {
            let x = Array2::<f32>::zeros((steps * rows.len(), 1));
            let h0 = h0.slice(ndarray::s![rows.clone(), ..]);
            fused_gru::forward(x, steps, rows.len(), &params, Some(h0)).1
        });
        // Every part's time-major states into one batch-major [B, T, L]
        // buffer, the parts on their threads (each writes its own trials;
        // with one part the second is empty).
        let l = self.latent as usize;
        let mut states = pool::array(b * steps, l);
        let mut out = states
            .view_mut()
            .into_shape_with_order((b, steps, l))
            .map_err(|e| ModelError::config("GRU dynamics", format!("states buffer: {e}")))?;
        let (first, second) = out.view_mut().split_at(Axis(0), parts[0].len());
        two(
            || fill_batch_major(tapes[0].states(), first),
            || {
                if let Some(tape) = tapes.get(1) {
                    fill_batch_major(tape.states(), second);
                }
            },
        );
        let leaf = trajectory_leaf(out.view())?;
        pool::give(states);
        let record = UnrollTape {
            leaf: leaf.shallow_clone(),
            z0: z0.shallow_clone(),
            tapes: tapes.into_iter().zip(parts).collect(),
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
    /// One tape per part of the batch, with its rows.
    tapes: Vec<(DirectionTape, std::ops::Range<usize>)>,
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
        let parts: Vec<_> = self.tapes.iter().map(|(_, rows)| rows.clone()).collect();
        let Some(g) = trajectory_grad(&self.leaf)? else {
            return Ok(());
        };
        let (tapes, params) = (&self.tapes, &self.params);
        let mut results = each_part(&parts, |rows| {
            let k = parts.iter().position(|p| *p == rows).expect("a part");
            let d = OutputGrad::Every(steps_first(&g, rows));
            fused_gru::backward(&tapes[k].0, params, d)
        })
        .into_iter();
        let (mut d, first_dz0) = results.next().expect("at least one part");
        let mut dz0s = vec![first_dz0];
        for (dk, dz0k) in results {
            d.w_ih += &dk.w_ih;
            d.w_hh += &dk.w_hh;
            d.b_ih += &dk.b_ih;
            d.b_hh += &dk.b_hh;
            dz0s.push(dz0k);
        }
        let views: Vec<_> = dz0s.iter().map(|a| a.view()).collect();
        let dz0 = ndarray::concatenate(ndarray::Axis(0), &views)
            .map_err(|e| ModelError::config("GRU dynamics", e.to_string()))?
            .as_standard_layout()
            .into_owned();
        let mut pairs: Vec<_> = self.tensors.iter().zip(d.views()).collect();
        pairs.push((&self.z0, dz0.view().into_dyn()));
        inject(&pairs)
    }
}
