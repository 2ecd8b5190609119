//! The GRU dynamics' kernel: z_{t+1} = GRUCell(0, z_t) from z₀ `[B, L]`,
//! the states after each of `steps` steps out, `[B, T, L]`; gradients reach
//! z₀. Trials are independent, so [`crate::run`] splits large batches
//! across two threads.

use ndarray::{ArrayD, ArrayView2, ArrayView3, ArrayViewMut3, Axis, Ix2, Ix3};

use crate::gru::{self, DirectionTape, GruParams, OutputGrad};
use crate::{Grads, Kernel, KernelError, Threads};

const NAME: &str = "GRU dynamics";

/// Batches of at least this many trials are split across two threads.
const MIN_SPLIT: usize = 64;

/// The GRU cell unrolled with a zero input. Parameters: `weight_ih [3L, 1],
/// weight_hh [3L, L], bias_ih [3L], bias_hh [3L]` (PyTorch's `GRUCell(1, L)`).
#[derive(Debug)]
pub struct GruUnroll {
    cell: GruParams,
    steps: usize,
}

impl GruUnroll {
    /// The kernel for `params` (see [`GruUnroll`]), unrolling `steps` steps.
    pub fn new(params: &[ArrayD<f32>], steps: usize) -> Result<Self, KernelError> {
        if steps == 0 {
            return Err(KernelError::Parameters {
                kernel: NAME,
                reason: "an unroll needs at least one step".into(),
            });
        }
        Ok(GruUnroll {
            cell: GruParams::from_params(NAME, params, 0)?,
            steps,
        })
    }
}

impl Kernel for GruUnroll {
    type In = Ix2;
    type Out = Ix3;
    type Saved = DirectionTape;

    fn name(&self) -> &'static str {
        NAME
    }

    fn output_dim(&self, input: &Ix2) -> Result<Ix3, KernelError> {
        crate::trajectory_dim(NAME, input, self.cell.hidden(), self.steps)
    }

    fn split_rows(&self) -> Option<usize> {
        Some(MIN_SPLIT)
    }

    fn forward(
        &self,
        x: ArrayView2<'_, f32>,
        mut out: ArrayViewMut3<'_, f32>,
        _threads: Threads,
    ) -> Result<DirectionTape, KernelError> {
        let (b, steps) = (x.nrows(), self.steps);
        let input = ndarray::Array2::<f32>::zeros((steps * b, self.cell.inputs()));
        let (_, tape) = gru::forward(input, steps, b, &self.cell, Some(x));
        // Time-major states [T·b, L] (step s of trial k in row s·b + k) into [b, T, L].
        let states = tape.states();
        for st in 0..steps {
            out.index_axis_mut(Axis(1), st)
                .assign(&states.slice(ndarray::s![st * b..(st + 1) * b, ..]));
        }
        Ok(tape)
    }

    fn backward(
        &self,
        saved: &DirectionTape,
        d_out: ArrayView3<'_, f32>,
        _threads: Threads,
    ) -> Result<Grads<Ix2>, KernelError> {
        let every = d_out.permuted_axes([1, 0, 2]);
        let (d, dz0) = gru::backward(saved, &self.cell, OutputGrad::Every(every));
        Ok(Grads {
            params: d.into_dyn().into(),
            input: Some(dz0),
        })
    }
}
