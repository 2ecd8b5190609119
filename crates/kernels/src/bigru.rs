//! The encoder's kernel: a bidirectional GRU over spike counts `[B, T, C]`
//! whose output is the two directions' final states side by side,
//! `[B, 2H]` (PyTorch's `cat([h_n[0], h_n[1]], -1)`), the two directions
//! on two threads when allowed.

use ndarray::{s, ArrayD, ArrayView2, ArrayView3, ArrayViewMut2, Ix2, Ix3};

use crate::gru::{self, DirectionTape, GruParams, OutputGrad};
use crate::split::two;
use crate::{Grads, Kernel, KernelError, Threads};

const NAME: &str = "bidirectional GRU";

/// A bidirectional GRU's final states. Parameters: the forward direction's
/// `weight_ih, weight_hh, bias_ih, bias_hh`, then the reverse direction's.
/// The input (spike counts) gets no gradient.
#[derive(Debug)]
pub struct BiGruFinal {
    directions: [GruParams; 2],
}

impl BiGruFinal {
    /// The kernel for `params` (eight arrays, see [`BiGruFinal`]).
    pub fn new(params: &[ArrayD<f32>]) -> Result<Self, KernelError> {
        if params.len() != 8 {
            return Err(KernelError::Parameters {
                kernel: NAME,
                reason: format!("{} parameters given, 8 expected", params.len()),
            });
        }
        Ok(BiGruFinal {
            directions: [
                GruParams::from_params(NAME, params, 0)?,
                GruParams::from_params(NAME, params, 4)?,
            ],
        })
    }

    fn hidden(&self) -> usize {
        self.directions[0].hidden()
    }
}

impl Kernel for BiGruFinal {
    type In = Ix3;
    type Out = Ix2;
    type Saved = [DirectionTape; 2];

    fn name(&self) -> &'static str {
        NAME
    }

    fn output_dim(&self, input: &Ix3) -> Result<Ix2, KernelError> {
        let (b, t, c) = (input[0], input[1], input[2]);
        if t < 1 || c != self.directions[0].inputs() {
            return Err(KernelError::Shape {
                kernel: NAME,
                what: "spike counts",
                expected: format!("[batch, time >= 1, {}]", self.directions[0].inputs()),
                found: vec![b, t, c],
            });
        }
        Ok(Ix2(b, 2 * self.hidden()))
    }

    fn forward(
        &self,
        x: ArrayView3<'_, f32>,
        mut out: ArrayViewMut2<'_, f32>,
        threads: Threads,
    ) -> Result<[DirectionTape; 2], KernelError> {
        let (b, t, _) = x.dim();
        let [pf, pb] = &self.directions;
        let xf = gru::time_major(x, false);
        let xb = gru::time_major(x, true);
        let ((hf, tf), (hb, tb)) = two(
            threads,
            || gru::forward(xf, t, b, pf, None),
            || gru::forward(xb, t, b, pb, None),
        );
        let hid = self.hidden();
        out.slice_mut(s![.., ..hid]).assign(&hf);
        out.slice_mut(s![.., hid..]).assign(&hb);
        Ok([tf, tb])
    }

    fn backward(
        &self,
        saved: &[DirectionTape; 2],
        d_out: ArrayView2<'_, f32>,
        threads: Threads,
    ) -> Result<Grads<Ix3>, KernelError> {
        let h = self.hidden();
        let (gf, gb) = (d_out.slice(s![.., ..h]), d_out.slice(s![.., h..]));
        let [pf, pb] = &self.directions;
        let ((df, _), (db, _)) = two(
            threads,
            || gru::backward(&saved[0], pf, OutputGrad::Last(gf)),
            || gru::backward(&saved[1], pb, OutputGrad::Last(gb)),
        );
        Ok(Grads {
            params: df.into_dyn().into_iter().chain(db.into_dyn()).collect(),
            input: None,
        })
    }
}
