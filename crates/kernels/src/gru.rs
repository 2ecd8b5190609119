//! One GRU direction's forward and backward pass written out by hand for
//! the CPU, in f32, with the recurrences as dense matrix products
//! (`ndarray`'s `matrixmultiply`) and each step's gate arithmetic fused into
//! one loop.
//!
//! This is the training path of the encoder and of the GRU dynamics.
//! libtorch runs a GRU as a few dozen small operators per time step and
//! records each one for autograd, so its backward pass costs several times
//! the arithmetic. Here the forward pass keeps exactly what the backward
//! pass needs (gates and states), and the weight gradients are matrix
//! products over a few steps' gate gradients at a time (`CHUNK`), while
//! those are still in cache.
//!
//! The equations are PyTorch's (`torch.nn.GRU`), gate rows in the order
//! r, z, n:
//!
//! ```text
//! r  = σ(W_ir x + b_ir + W_hr h + b_hr)
//! z  = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//!
//! Invariant: results agree with libtorch's GRU and its autograd gradients
//! to f32 rounding (tested in `latentdyn-models`' `tests/kernels.rs`); they
//! are not bitwise equal, since the sums run in a different order.
//!
//! [`crate::BiGruFinal`] (the encoder) and [`crate::GruUnroll`] (the GRU
//! dynamics) are the layer kernels built on this file.

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array1, Array2, ArrayD, ArrayView2, ArrayView3, Axis};

use crate::activation::{sigmoid, tanh, MulAdd};
use crate::{pool, KernelError};

/// One direction's parameters in PyTorch's layout.
#[derive(Debug, Clone)]
pub struct GruParams {
    /// `[3H, C]`, rows r, z, n.
    pub w_ih: Array2<f32>,
    /// `[3H, H]`.
    pub w_hh: Array2<f32>,
    /// `[3H]`.
    pub b_ih: Array1<f32>,
    /// `[3H]`.
    pub b_hh: Array1<f32>,
}

/// Gradients of one direction's parameters, shaped as [`GruParams`].
pub type GruGrads = GruParams;

impl GruParams {
    /// Hidden units.
    pub fn hidden(&self) -> usize {
        self.w_hh.ncols()
    }

    /// The parameters from `params[first..first + 4]`, `w_ih [3H, C], w_hh
    /// [3H, H], b_ih [3H], b_hh [3H]` (PyTorch's order), checked.
    pub fn from_params(
        kernel: &'static str,
        params: &[ArrayD<f32>],
        first: usize,
    ) -> Result<Self, KernelError> {
        let p = GruParams {
            w_ih: crate::param(kernel, params, first, "weight_ih")?,
            w_hh: crate::param(kernel, params, first + 1, "weight_hh")?,
            b_ih: crate::param(kernel, params, first + 2, "bias_ih")?,
            b_hh: crate::param(kernel, params, first + 3, "bias_hh")?,
        };
        let h = p.w_hh.ncols();
        let three = 3 * h;
        if p.w_hh.nrows() != three
            || p.w_ih.nrows() != three
            || p.b_ih.len() != three
            || p.b_hh.len() != three
        {
            return Err(KernelError::Parameters {
                kernel,
                reason: format!(
                    "weight_ih {:?}, weight_hh {:?}, bias_ih {:?}, bias_hh {:?} are not a GRU's",
                    p.w_ih.shape(),
                    p.w_hh.shape(),
                    p.b_ih.shape(),
                    p.b_hh.shape()
                ),
            });
        }
        Ok(p)
    }

    /// Input size C.
    pub fn inputs(&self) -> usize {
        self.w_ih.ncols()
    }

    /// `w_ih, w_hh, b_ih, b_hh` (PyTorch's parameter order), as a gradient
    /// list.
    pub fn into_dyn(self) -> [ArrayD<f32>; 4] {
        [
            self.w_ih.into_dyn(),
            self.w_hh.into_dyn(),
            self.b_ih.into_dyn(),
            self.b_hh.into_dyn(),
        ]
    }
}

/// What one direction's forward pass keeps for its backward pass. All
/// arrays are time-major in processing order (row `s·B + b` is step `s` of
/// trial `b`).
#[derive(Debug, Clone)]
pub struct DirectionTape {
    steps: usize,
    batch: usize,
    /// Inputs, `[T·B, C]`.
    x: Array2<f32>,
    /// Whether every input is zero (the GRU dynamics' input): then the
    /// input projections are the biases and the input weights' gradient is
    /// zero, and neither product is computed.
    zero_input: bool,
    /// States `h_0 … h_T`, `[(T+1)·B, H]`.
    h: Array2<f32>,
    /// Reset gates, `[T·B, H]`.
    r: Array2<f32>,
    /// Update gates.
    z: Array2<f32>,
    /// Candidate states.
    n: Array2<f32>,
    /// `W_hn h + b_hn`.
    ghn: Array2<f32>,
}

crate::simd::avx2_dispatch! {
/// Runs one direction over `x` (`[T·B, C]`, time-major in the order the
    /// direction reads it) from `h0` (`[B, H]`; `None`: zeros). Returns the
    /// final state `[B, H]` and the tape for [`backward`] (which also holds
    /// every state, [`DirectionTape::states`]).
    pub fn forward(
        x: Array2<f32>,
        steps: usize,
        batch: usize,
        p: &GruParams,
        h0: Option<ArrayView2<'_, f32>>,
    ) -> (Array2<f32>, DirectionTape) => forward_portable
}

#[inline(always)]
fn forward_portable<M: MulAdd>(
    x: Array2<f32>,
    steps: usize,
    batch: usize,
    p: &GruParams,
    h0: Option<ArrayView2<'_, f32>>,
) -> (Array2<f32>, DirectionTape) {
    let hid = p.hidden();
    let (t, b) = (steps, batch);
    debug_assert_eq!(x.nrows(), t * b);
    let zero_input = x.iter().all(|&v| v == 0.0);
    // The biases that add straight to the input projection: b_ih for all
    // gates, b_hh for r and z.
    let mut bias = p.b_ih.clone();
    for j in 0..2 * hid {
        bias[j] += p.b_hh[j];
    }
    // Buffers are per step ([B, 3H]) so that nothing but the tape scales
    // with T (large one-off buffers cost a page fault per 4 KiB each call).
    let mut gi = Array2::<f32>::zeros((b, 3 * hid));
    let b_hn = p.b_hh.slice(s![2 * hid..]).to_owned();
    let b_hn = b_hn.as_slice().expect("contiguous");

    // Tape buffers come recycled: every element is written below.
    let mut h = pool::array((t + 1) * b, hid);
    match h0 {
        Some(h0) => h.slice_mut(s![..b, ..]).assign(&h0),
        None => h.slice_mut(s![..b, ..]).fill(0.0),
    }
    let mut r = pool::array(t * b, hid);
    let mut z = pool::array(t * b, hid);
    let mut n = pool::array(t * b, hid);
    let mut ghn = pool::array(t * b, hid);
    let mut gh = Array2::<f32>::zeros((b, 3 * hid));
    for st in 0..t {
        let (done, mut next) = h.view_mut().split_at(Axis(0), (st + 1) * b);
        let prev = done.slice(s![st * b.., ..]);
        general_mat_mul(1.0, &prev, &p.w_hh.t(), 0.0, &mut gh);
        gi.assign(&bias);
        if !zero_input {
            general_mat_mul(
                1.0,
                &x.slice(s![st * b..(st + 1) * b, ..]),
                &p.w_ih.t(),
                1.0,
                &mut gi,
            );
        }
        let rows = st * b..(st + 1) * b;
        let mut next = next.slice_mut(s![..b, ..]);
        for (k, row) in rows.enumerate() {
            let gi_row = gi.row(k);
            let gh_row = gh.row(k);
            let (gi_row, gh_row) = (
                gi_row.as_slice().expect("contiguous"),
                gh_row.as_slice().expect("contiguous"),
            );
            let prev_row = prev.row(k);
            let prev_row = prev_row.as_slice().expect("contiguous");
            let mut next_row = next.row_mut(k);
            let next_row = next_row.as_slice_mut().expect("contiguous");
            let mut r_row = r.row_mut(row);
            let r_row = r_row.as_slice_mut().expect("contiguous");
            let mut z_row = z.row_mut(row);
            let z_row = z_row.as_slice_mut().expect("contiguous");
            let mut n_row = n.row_mut(row);
            let n_row = n_row.as_slice_mut().expect("contiguous");
            let mut ghn_row = ghn.row_mut(row);
            let ghn_row = ghn_row.as_slice_mut().expect("contiguous");
            let (gi_rz, gi_n) = gi_row.split_at(2 * hid);
            let (gh_rz, gh_n) = gh_row.split_at(2 * hid);
            // r and z: one pass over 2H pre-activations.
            let (r_pre, z_pre) = gi_rz.split_at(hid);
            let (hr, hz) = gh_rz.split_at(hid);
            for (((o, &a), &b2), (oz, (&c, &d))) in r_row
                .iter_mut()
                .zip(r_pre)
                .zip(hr)
                .zip(z_row.iter_mut().zip(z_pre.iter().zip(hz)))
            {
                *o = sigmoid::<M>(a + b2);
                *oz = sigmoid::<M>(c + d);
            }
            for (((g, &hn), &bn), (nj, (&xn, &rj))) in ghn_row
                .iter_mut()
                .zip(gh_n)
                .zip(b_hn)
                .zip(n_row.iter_mut().zip(gi_n.iter().zip(r_row.iter())))
            {
                *g = hn + bn;
                *nj = tanh::<M>(M::mul_add(rj, *g, xn));
            }
            for (((out, &p), &zj), &nj) in next_row
                .iter_mut()
                .zip(prev_row)
                .zip(z_row.iter())
                .zip(n_row.iter())
            {
                *out = M::mul_add(zj, p, (1.0 - zj) * nj);
            }
        }
    }
    let last = h.slice(s![t * b.., ..]).to_owned();
    let tape = DirectionTape {
        steps: t,
        batch: b,
        x,
        zero_input,
        h,
        r,
        z,
        n,
        ghn,
    };
    (last, tape)
}

/// The gradient of a scalar loss with respect to a direction's outputs.
#[derive(Debug, Clone, Copy)]
pub enum OutputGrad<'a> {
    /// With respect to the final state only, `[B, H]`.
    Last(ArrayView2<'a, f32>),
    /// With respect to every state h_1 … h_T, `[T, B, H]` (any strides:
    /// a batch-major gradient's view with its first two axes swapped will do).
    Every(ArrayView3<'a, f32>),
}

crate::simd::avx2_dispatch! {
/// Gradients of a scalar loss with respect to one direction's parameters
    /// and to its initial state `h0` (`[B, H]`), given the loss's gradient
    /// with respect to its outputs.
    pub fn backward(
        tape: &DirectionTape,
        p: &GruParams,
        d_out: OutputGrad<'_>,
    ) -> (GruGrads, Array2<f32>) => backward_portable
}

/// Steps whose gate gradients are kept together, so that the weight
/// gradients are products over `CHUNK · B` rows while those gradients are
/// still in cache (the choice is measured in docs/ARCHITECTURE.md, "Kernel
/// tuning").
const CHUNK: usize = 3;

#[inline(always)]
fn backward_portable<M: MulAdd>(
    tape: &DirectionTape,
    p: &GruParams,
    d_out: OutputGrad<'_>,
) -> (GruGrads, Array2<f32>) {
    let hid = p.hidden();
    let (t, b) = (tape.steps, tape.batch);
    let c = tape.x.ncols();
    let mut grads = GruGrads {
        w_ih: Array2::zeros((3 * hid, c)),
        w_hh: Array2::zeros((3 * hid, hid)),
        b_ih: Array1::zeros(3 * hid),
        b_hh: Array1::zeros(3 * hid),
    };
    // Gradients of the hidden pre-activations (r, z, n) of a chunk of
    // steps, and of the input pre-activation of n (those of r and z are the
    // hidden ones). Recycled buffers: rows are written before they are read.
    let chunk = CHUNK.min(t.max(1));
    let mut dgh = pool::array(chunk * b, 3 * hid);
    let mut dgi_n = pool::array(chunk * b, hid);
    let (mut dh, every) = match d_out {
        OutputGrad::Last(d) => (d.to_owned(), None),
        OutputGrad::Every(d) => (Array2::<f32>::zeros((b, hid)), Some(d)),
    };
    let mut dh_prev = Array2::<f32>::zeros((b, hid));
    for st in (0..t).rev() {
        if let Some(d) = every {
            dh += &d.index_axis(Axis(0), st);
        }
        let first = st - st % chunk;
        let local = (st - first) * b;
        for k in 0..b {
            let row = st * b + k;
            let dh_row = dh.row(k);
            let dh_row = &dh_row.as_slice().expect("contiguous")[..hid];
            let hp = tape.h.row(row);
            let hp = &hp.as_slice().expect("contiguous")[..hid];
            let r = tape.r.row(row);
            let r = &r.as_slice().expect("contiguous")[..hid];
            let z = tape.z.row(row);
            let z = &z.as_slice().expect("contiguous")[..hid];
            let n = tape.n.row(row);
            let n = &n.as_slice().expect("contiguous")[..hid];
            let gn = tape.ghn.row(row);
            let gn = &gn.as_slice().expect("contiguous")[..hid];
            let mut gh_row = dgh.row_mut(local + k);
            let gh_row = gh_row.as_slice_mut().expect("contiguous");
            let mut gi_n = dgi_n.row_mut(local + k);
            let gi_n = &mut gi_n.as_slice_mut().expect("contiguous")[..hid];
            let mut dp = dh_prev.row_mut(k);
            let dp = &mut dp.as_slice_mut().expect("contiguous")[..hid];
            let (gh_r, rest) = gh_row.split_at_mut(hid);
            let (gh_z, gh_n) = rest.split_at_mut(hid);
            let (gh_r, gh_z, gh_n) = (&mut gh_r[..hid], &mut gh_z[..hid], &mut gh_n[..hid]);
            for j in 0..hid {
                let d = dh_row[j];
                let (rj, zj, nj) = (r[j], z[j], n[j]);
                let dan = d * (1.0 - zj) * M::mul_add(-nj, nj, 1.0);
                let dar = dan * gn[j] * rj * (1.0 - rj);
                let daz = d * (hp[j] - nj) * zj * (1.0 - zj);
                gh_r[j] = dar;
                gh_z[j] = daz;
                gh_n[j] = dan * rj;
                gi_n[j] = dan;
                dp[j] = d * zj;
            }
        }
        general_mat_mul(
            1.0,
            &dgh.slice(s![local..local + b, ..]),
            &p.w_hh,
            1.0,
            &mut dh_prev,
        );
        if st == first {
            // The chunk's steps first..first + len: one product each for
            // the weight gradients, column sums for the biases.
            let len = (t - first).min(chunk) * b;
            let rows = first * b..first * b + len;
            let dgh = dgh.slice(s![..len, ..]);
            let dgi_n = dgi_n.slice(s![..len, ..]);
            let h = tape.h.slice(s![rows.clone(), ..]);
            let x = tape.x.slice(s![rows, ..]);
            general_mat_mul(1.0, &dgh.t(), &h, 1.0, &mut grads.w_hh);
            if !tape.zero_input {
                // The input gradients of r and z are the hidden ones.
                general_mat_mul(
                    1.0,
                    &dgh.slice(s![.., ..2 * hid]).t(),
                    &x,
                    1.0,
                    &mut grads.w_ih.slice_mut(s![..2 * hid, ..]),
                );
                general_mat_mul(
                    1.0,
                    &dgi_n.t(),
                    &x,
                    1.0,
                    &mut grads.w_ih.slice_mut(s![2 * hid.., ..]),
                );
            }
            add_column_sums(grads.b_hh.as_slice_mut().expect("contiguous"), dgh);
            add_column_sums(
                &mut grads.b_ih.as_slice_mut().expect("contiguous")[2 * hid..],
                dgi_n,
            );
        }
        std::mem::swap(&mut dh, &mut dh_prev);
    }
    // The input biases of r and z get what the hidden ones got.
    let (b_hh, mut b_ih) = (
        grads.b_hh.slice(s![..2 * hid]),
        grads.b_ih.slice_mut(s![..2 * hid]),
    );
    b_ih.assign(&b_hh);
    pool::give(dgh);
    pool::give(dgi_n);
    (grads, dh)
}

/// Adds each column's sum of `m` (rows of `acc.len()` contiguous values) to `acc`.
#[inline(always)]
fn add_column_sums(acc: &mut [f32], m: ArrayView2<'_, f32>) {
    for row in m.rows() {
        let row = row.to_slice().expect("contiguous rows");
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += v;
        }
    }
}

impl Drop for DirectionTape {
    fn drop(&mut self) {
        // Only the buffers that came from the pool go back (`x` did not).
        for a in [
            &mut self.h,
            &mut self.r,
            &mut self.z,
            &mut self.n,
            &mut self.ghn,
        ] {
            pool::give(std::mem::take(a));
        }
    }
}

impl DirectionTape {
    /// The states h_1 … h_T, `[T·B, H]` time-major.
    pub fn states(&self) -> ArrayView2<'_, f32> {
        self.h.slice(s![self.batch.., ..])
    }
}

/// `[B, T, C]` (batch-major, row-major) as the time-major `[T·B, C]` that
/// the forward direction reads, or the reverse direction when `reverse`.
pub fn time_major(x: ndarray::ArrayView3<'_, f32>, reverse: bool) -> Array2<f32> {
    let (b, t, c) = x.dim();
    let mut out = Array2::<f32>::zeros((t * b, c));
    for st in 0..t {
        let src = if reverse { t - 1 - st } else { st };
        out.slice_mut(s![st * b..(st + 1) * b, ..])
            .assign(&x.index_axis(Axis(1), src));
    }
    out
}
