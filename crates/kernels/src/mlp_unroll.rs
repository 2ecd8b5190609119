//! The discrete cell's kernel (`node-discrete`, the ablation's MLP cells):
//! z_{t+1} = z_t + dt·MLP([0, z_t]) (residual), or z_{t+1} = MLP([0, z_t])
//! (no pass-through), from z₀ `[B, L]`, the states after each of `steps`
//! steps out, `[B, T, L]`; gradients reach z₀. The cell reads `[u, z]` with
//! a zero input u of size 1, so only W1's columns 1.. act (column 0's
//! gradient is zero).

use ndarray::{s, Array1, Array2, ArrayD, ArrayView2, ArrayView3, ArrayViewMut3, Axis, Ix2, Ix3};

use crate::mlp::MlpParams;
use crate::{Grads, Kernel, KernelError, Threads};

const NAME: &str = "discrete MLP cell";

/// The MLP cell unrolled. Parameters: `W1 [H, 1 + L], b1 [H], W2 [L, H],
/// b2 [L]` (PyTorch's `Linear` layout; W1's column 0 meets the zero input).
#[derive(Debug)]
pub struct MlpUnroll {
    cell: MlpParams,
    residual_dt: Option<f64>,
    steps: usize,
}

impl MlpUnroll {
    /// The kernel for `params` (see [`MlpUnroll`]): `steps` steps of the
    /// residual update with step `dt` (`Some`) or of the plain map (`None`).
    pub fn new(
        params: &[ArrayD<f32>],
        residual_dt: Option<f64>,
        steps: usize,
    ) -> Result<Self, KernelError> {
        if steps == 0 {
            return Err(KernelError::Parameters {
                kernel: NAME,
                reason: "an unroll needs at least one step".into(),
            });
        }
        let w1: Array2<f32> = crate::param(NAME, params, 0, "W1")?;
        if w1.ncols() < 2 {
            return Err(KernelError::Parameters {
                kernel: NAME,
                reason: format!("W1 {:?} has no column for the state", w1.shape()),
            });
        }
        let mut reduced = params.to_vec();
        reduced[0] = w1.slice(s![.., 1..]).to_owned().into_dyn();
        Ok(MlpUnroll {
            cell: MlpParams::from_params(NAME, &reduced)?,
            residual_dt,
            steps,
        })
    }
}

/// The states each step started from and the hidden activations it made.
#[derive(Debug)]
pub struct Steps {
    inputs: Vec<Array2<f32>>,
    acts: Vec<Array2<f32>>,
}

impl Kernel for MlpUnroll {
    type In = Ix2;
    type Out = Ix3;
    type Saved = Steps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn output_dim(&self, input: &Ix2) -> Result<Ix3, KernelError> {
        crate::trajectory_dim(NAME, input, self.cell.inputs(), self.steps)
    }

    fn forward(
        &self,
        x: ArrayView2<'_, f32>,
        mut out: ArrayViewMut3<'_, f32>,
        threads: Threads,
    ) -> Result<Steps, KernelError> {
        let mut z = x.to_owned();
        let mut inputs = Vec::with_capacity(self.steps);
        let mut acts = Vec::with_capacity(self.steps);
        for st in 0..self.steps {
            let (f, act) = self.cell.forward(z.view(), threads);
            let next = match self.residual_dt {
                Some(dt) => {
                    let mut n = z.clone();
                    n.scaled_add(dt as f32, &f);
                    n
                }
                None => f,
            };
            out.index_axis_mut(Axis(1), st).assign(&next);
            inputs.push(std::mem::replace(&mut z, next));
            acts.push(act);
        }
        Ok(Steps { inputs, acts })
    }

    fn backward(
        &self,
        saved: &Steps,
        d_out: ArrayView3<'_, f32>,
        threads: Threads,
    ) -> Result<Grads<Ix2>, KernelError> {
        let (b, t, l) = d_out.dim();
        let mut grads = self.cell.zeros_like();
        let mut zbar = Array2::<f32>::zeros((b, l));
        for st in (0..t).rev() {
            zbar += &d_out.index_axis(Axis(1), st);
            let (z, act) = (&saved.inputs[st], &saved.acts[st]);
            zbar = match self.residual_dt {
                Some(dt) => {
                    let gf = &zbar * dt as f32;
                    let back = self.cell.vjp(z.view(), act, gf.view(), &mut grads, threads);
                    zbar + back
                }
                None => self
                    .cell
                    .vjp(z.view(), act, zbar.view(), &mut grads, threads),
            };
        }
        let (w1, b1, w2, b2): (Array2<f32>, Array1<f32>, Array2<f32>, Array1<f32>) =
            grads.into_grads();
        let mut full = Array2::<f32>::zeros((w1.nrows(), w1.ncols() + 1));
        full.slice_mut(s![.., 1..]).assign(&w1);
        Ok(Grads {
            params: vec![full.into_dyn(), b1.into_dyn(), w2.into_dyn(), b2.into_dyn()],
            input: Some(zbar),
        })
    }
}
