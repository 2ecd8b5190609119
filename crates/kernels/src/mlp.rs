//! The two-layer MLP f(z) = W2 tanh(W1 z + b1) + b2 (the neural ODE's
//! vector field, the discrete cell) and its vector–Jacobian product, on
//! `[B, L]` batches in f32. With a handful of inputs (the study's L = 3)
//! the first layer runs as row updates rather than a matrix product, whose
//! packing would dominate; larger sizes use `matrixmultiply`.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};

use crate::activation::MulAdd;
use crate::pool;
use crate::split::{row_parts, two, Threads};
use crate::KernelError;

/// Up to this many inputs the first layer runs as row updates, not a GEMM.
const SMALL_K: usize = 16;

/// Batches of at least this many rows are split across two threads.
const MIN_SPLIT: usize = 128;

/// The MLP's parameters, f(z) = W2 tanh(W1 z + b1) + b2.
#[derive(Debug, Clone)]
pub struct MlpParams {
    w1: Array2<f32>,
    /// W1ᵀ, `[L, H]` row-major.
    w1t: Array2<f32>,
    b1: Array1<f32>,
    w2: Array2<f32>,
    b2: Array1<f32>,
}

impl MlpParams {
    /// From W1 `[H, L]`, b1 `[H]`, W2 `[L, H]`, b2 `[L]`.
    pub fn from_arrays(w1: Array2<f32>, b1: Array1<f32>, w2: Array2<f32>, b2: Array1<f32>) -> Self {
        let w1 = w1.as_standard_layout().into_owned();
        MlpParams {
            w1t: w1.t().as_standard_layout().into_owned(),
            w1,
            b1,
            w2: w2.as_standard_layout().into_owned(),
            b2,
        }
    }

    /// Zeros of the same shapes (a gradient accumulator).
    pub fn zeros_like(&self) -> Self {
        MlpParams {
            w1: Array2::zeros(self.w1.raw_dim()),
            w1t: Array2::zeros(self.w1t.raw_dim()),
            b1: Array1::zeros(self.b1.raw_dim()),
            w2: Array2::zeros(self.w2.raw_dim()),
            b2: Array1::zeros(self.b2.raw_dim()),
        }
    }

    /// Adds `other` (a gradient accumulator) into `self`.
    fn add(&mut self, other: &MlpParams) {
        self.w1 += &other.w1;
        self.w1t += &other.w1t;
        self.b1 += &other.b1;
        self.w2 += &other.w2;
        self.b2 += &other.b2;
    }

    /// f(z) and the hidden activation tanh(W1 z + b1) (a buffer from the
    /// crate's pool); the batch in two halves on two threads
    /// when `threads` allows it.
    pub fn forward(&self, z: ArrayView2<'_, f32>, threads: Threads) -> (Array2<f32>, Array2<f32>) {
        let b = z.nrows();
        let mut out = Array2::<f32>::zeros((b, self.w2.nrows()));
        // Recycled: the kernel writes every element.
        let mut act = pool::array(b, self.w1.nrows());
        if let [first, _] = &row_parts(b, MIN_SPLIT, threads)[..] {
            let mid = first.end;
            let (z0, z1) = z.split_at(Axis(0), mid);
            let (o0, o1) = out.view_mut().split_at(Axis(0), mid);
            let (a0, a1) = act.view_mut().split_at(Axis(0), mid);
            two(
                threads,
                || mlp_forward(self, z0, o0, a0),
                || mlp_forward(self, z1, o1, a1),
            );
        } else {
            mlp_forward(self, z, out.view_mut(), act.view_mut());
        }
        (out, act)
    }

    /// Given ∂loss/∂f(z) = `g`, accumulates the parameters' gradients into
    /// `grads` and returns ∂loss/∂z (halves on two threads when allowed;
    /// the second half's parameter gradients are added after the first's).
    pub fn vjp(
        &self,
        z: ArrayView2<'_, f32>,
        act: &Array2<f32>,
        g: ArrayView2<'_, f32>,
        grads: &mut MlpParams,
        threads: Threads,
    ) -> Array2<f32> {
        let (b, l) = z.dim();
        let mut gz = Array2::<f32>::zeros((b, l));
        if let [first, _] = &row_parts(b, MIN_SPLIT, threads)[..] {
            let mid = first.end;
            let (z0, z1) = z.split_at(Axis(0), mid);
            let (a0, a1) = act.view().split_at(Axis(0), mid);
            let (g0, g1) = g.split_at(Axis(0), mid);
            let (gz0, gz1) = gz.view_mut().split_at(Axis(0), mid);
            let mut second = self.zeros_like();
            two(
                threads,
                || mlp_vjp(self, z0, a0, g0, grads, gz0),
                || mlp_vjp(self, z1, a1, g1, &mut second, gz1),
            );
            grads.add(&second);
        } else {
            mlp_vjp(self, z, act.view(), g, grads, gz.view_mut());
        }
        gz
    }

    /// A gradient accumulator as the gradients of (W1, b1, W2, b2) (the
    /// row-by-row path keeps part of W1's transposed).
    pub fn into_grads(self) -> (Array2<f32>, Array1<f32>, Array2<f32>, Array1<f32>) {
        (&self.w1 + &self.w1t.t(), self.b1, self.w2, self.b2)
    }
}

crate::simd::avx2_dispatch! {
    fn mlp_forward(
        p: &MlpParams,
        z: ArrayView2<'_, f32>,
        out: ArrayViewMut2<'_, f32>,
        act: ArrayViewMut2<'_, f32>,
    ) => mlp_forward_portable
}

crate::simd::avx2_dispatch! {
    fn mlp_vjp(
        p: &MlpParams,
        z: ArrayView2<'_, f32>,
        act: ArrayView2<'_, f32>,
        g: ArrayView2<'_, f32>,
        grads: &mut MlpParams,
        gz: ArrayViewMut2<'_, f32>,
    ) => mlp_vjp_portable
}

#[inline(always)]
fn mlp_forward_portable<M: MulAdd>(
    this: &MlpParams,
    z: ArrayView2<'_, f32>,
    mut out: ArrayViewMut2<'_, f32>,
    mut act: ArrayViewMut2<'_, f32>,
) {
    let l = z.ncols();
    if l <= SMALL_K {
        // A handful of inputs: broadcast-multiply-add rows (a general
        // matrix product would spend its time packing).
        let bias = this.b1.as_slice().expect("contiguous");
        for (zr, mut ar) in z.outer_iter().zip(act.outer_iter_mut()) {
            let ar = ar.as_slice_mut().expect("contiguous");
            ar.copy_from_slice(bias);
            for (k, &zk) in zr.iter().enumerate() {
                let wk = this.w1t.row(k);
                for (a, &w) in ar.iter_mut().zip(wk.as_slice().expect("contiguous")) {
                    *a = M::mul_add(zk, w, *a);
                }
            }
        }
    } else {
        act.assign(&this.b1);
        general_mat_mul(1.0, &z, &this.w1.t(), 1.0, &mut act);
    }
    crate::simd::tanh_slice(act.as_slice_mut().expect("contiguous"));
    if l <= SMALL_K {
        for (ar, mut or) in act.outer_iter().zip(out.outer_iter_mut()) {
            let ar = ar.as_slice().expect("contiguous");
            for ((o, w), &bj) in or.iter_mut().zip(this.w2.outer_iter()).zip(&this.b2) {
                *o = bj + dot::<M>(ar, w.as_slice().expect("contiguous"));
            }
        }
    } else {
        out.assign(&this.b2);
        general_mat_mul(1.0, &act, &this.w2.t(), 1.0, &mut out);
    }
}

/// Given ∂loss/∂f(z) = `g`, accumulates the parameters' gradients into
/// `grads` and returns ∂loss/∂z.
#[inline(always)]
fn mlp_vjp_portable<M: MulAdd>(
    this: &MlpParams,
    z: ArrayView2<'_, f32>,
    act: ArrayView2<'_, f32>,
    g: ArrayView2<'_, f32>,
    grads: &mut MlpParams,
    mut gz: ArrayViewMut2<'_, f32>,
) {
    let (b, l) = z.dim();
    let mut g_pre = Array2::<f32>::zeros(act.raw_dim());
    if l <= SMALL_K {
        // Row by row: every product here has L (a handful) on one side.
        for row in 0..b {
            let ar = act.row(row);
            let ar = ar.as_slice().expect("contiguous");
            let gr = g.row(row);
            let mut gp = g_pre.row_mut(row);
            let gp = gp.as_slice_mut().expect("contiguous");
            for (j, &gj) in gr.iter().enumerate() {
                grads.b2[j] += gj;
                let mut w2g = grads.w2.row_mut(j);
                axpy::<M>(w2g.as_slice_mut().expect("contiguous"), gj, ar);
                axpy::<M>(gp, gj, this.w2.row(j).as_slice().expect("contiguous"));
            }
            for (p, &a) in gp.iter_mut().zip(ar) {
                *p *= 1.0 - a * a;
            }
            axpy::<M>(grads.b1.as_slice_mut().expect("contiguous"), 1.0, gp);
            let zr = z.row(row);
            let mut gzr = gz.row_mut(row);
            for (k, (&zk, o)) in zr.iter().zip(gzr.iter_mut()).enumerate() {
                let mut w1g = grads.w1t.row_mut(k);
                axpy::<M>(w1g.as_slice_mut().expect("contiguous"), zk, gp);
                *o = dot::<M>(gp, this.w1t.row(k).as_slice().expect("contiguous"));
            }
        }
    } else {
        general_mat_mul(1.0, &g.t(), &act, 1.0, &mut grads.w2);
        grads.b2 += &g.sum_axis(Axis(0));
        general_mat_mul(1.0, &g, &this.w2, 0.0, &mut g_pre);
        ndarray::Zip::from(&mut g_pre)
            .and(&act)
            .for_each(|gp, &a| *gp *= 1.0 - a * a);
        general_mat_mul(1.0, &g_pre.t(), &z, 1.0, &mut grads.w1);
        grads.b1 += &g_pre.sum_axis(Axis(0));
        general_mat_mul(1.0, &g_pre, &this.w1, 0.0, &mut gz);
    }
}

/// Σ a·b with eight partial sums, so that the loop vectorises.
#[inline(always)]
fn dot<M: MulAdd>(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ac, ar) = a.split_at(a.len() - a.len() % 8);
    let (bc, br) = b.split_at(ac.len().min(b.len()));
    for (x, y) in ac.chunks_exact(8).zip(bc.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] = M::mul_add(x[i], y[i], acc[i]);
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ar.iter().zip(br) {
        s = M::mul_add(*x, *y, s);
    }
    s
}

/// y += a·x.
#[inline(always)]
fn axpy<M: MulAdd>(y: &mut [f32], a: f32, x: &[f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = M::mul_add(a, xi, *yi);
    }
}

impl MlpParams {
    /// The parameters from arrays `[W1 [H, L], b1 [H], W2 [L, H], b2 [L]]`
    /// (PyTorch's `Linear` layout), checked.
    pub fn from_params(
        kernel: &'static str,
        params: &[ndarray::ArrayD<f32>],
    ) -> Result<Self, KernelError> {
        let w1: Array2<f32> = crate::param(kernel, params, 0, "W1")?;
        let b1: Array1<f32> = crate::param(kernel, params, 1, "b1")?;
        let w2: Array2<f32> = crate::param(kernel, params, 2, "W2")?;
        let b2: Array1<f32> = crate::param(kernel, params, 3, "b2")?;
        let (h, l) = w1.dim();
        if b1.len() != h || w2.dim() != (l, h) || b2.len() != l {
            return Err(KernelError::Parameters {
                kernel,
                reason: format!(
                    "W1 {:?}, b1 {:?}, W2 {:?}, b2 {:?} do not make an MLP L -> H -> L",
                    w1.shape(),
                    b1.shape(),
                    w2.shape(),
                    b2.shape()
                ),
            });
        }
        Ok(Self::from_arrays(w1, b1, w2, b2))
    }

    /// The input size L.
    pub fn inputs(&self) -> usize {
        self.w1.ncols()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array;

    fn params(h: usize, l: usize) -> MlpParams {
        let w = |r: usize, c: usize, s: f32| {
            Array::from_shape_fn((r, c), |(i, j)| {
                ((i * 7 + j * 3) % 11) as f32 * s - 0.5 * s * 5.0
            })
        };
        MlpParams::from_arrays(
            w(h, l, 0.1),
            Array1::from_shape_fn(h, |i| 0.05 * i as f32 - 0.2),
            w(l, h, 0.07),
            Array1::from_shape_fn(l, |i| 0.1 - 0.03 * i as f32),
        )
    }

    fn field(p: &MlpParams, z: &Array2<f32>) -> Array2<f32> {
        p.forward(z.view(), Threads::One).0
    }

    /// The product against central differences of ⟨g, f(z)⟩, in f64 of the
    /// f32 kernel, for the row path (L ≤ 16) and the matrix path, on one
    /// thread and split in two.
    #[test]
    fn the_vjp_is_the_derivative_of_the_forward_pass() {
        for (h, l, b) in [(12, 3, 5), (40, 20, 7), (24, 3, 300)] {
            let p = params(h, l);
            let z = Array::from_shape_fn((b, l), |(i, j)| ((i * 5 + j) % 9) as f32 * 0.2 - 0.8);
            let g = Array::from_shape_fn((b, l), |(i, j)| ((i + 2 * j) % 5) as f32 * 0.3 - 0.6);
            for threads in [Threads::One, Threads::Two] {
                let (_, act) = p.forward(z.view(), threads);
                let mut grads = p.zeros_like();
                let gz = p.vjp(z.view(), &act, g.view(), &mut grads, threads);
                let loss = |z: &Array2<f32>| {
                    field(&p, z)
                        .iter()
                        .zip(g.iter())
                        .map(|(&a, &b)| f64::from(a) * f64::from(b))
                        .sum::<f64>()
                };
                for (i, j) in [(0, 0), (b - 1, l - 1), (b / 2, l / 2)] {
                    let eps = 1e-2;
                    let (mut up, mut down) = (z.clone(), z.clone());
                    up[(i, j)] += eps;
                    down[(i, j)] -= eps;
                    let fd = (loss(&up) - loss(&down)) / (2.0 * f64::from(eps));
                    let got = f64::from(gz[(i, j)]);
                    assert!(
                        (got - fd).abs() < 2e-3 * fd.abs().max(1.0),
                        "h {h} l {l} dz[{i},{j}]: {got} vs {fd}"
                    );
                }
                // ∂/∂b2 is the column sum of g; ∂/∂W2 is gᵀ act.
                let (gw1, gb1, gw2, gb2) = grads.into_grads();
                assert_eq!(gw1.dim(), (h, l));
                assert_eq!(gb1.len(), h);
                for (k, &v) in gb2.iter().enumerate() {
                    let want: f32 = g.column(k).sum();
                    assert!((v - want).abs() < 1e-4 * want.abs().max(1.0), "b2[{k}]");
                }
                let want = g.t().dot(&act);
                let err = (&gw2 - &want).iter().fold(0.0f32, |m, v| m.max(v.abs()));
                assert!(err < 1e-4, "W2: {err}");
            }
        }
    }

    #[test]
    fn misshapen_parameters_are_an_error() {
        let p = [
            ndarray::ArrayD::zeros(ndarray::IxDyn(&[4, 3])),
            ndarray::ArrayD::zeros(ndarray::IxDyn(&[4])),
            ndarray::ArrayD::zeros(ndarray::IxDyn(&[3, 5])),
            ndarray::ArrayD::zeros(ndarray::IxDyn(&[3])),
        ];
        let err = MlpParams::from_params("test", &p).unwrap_err();
        assert!(err.to_string().contains("L -> H -> L"), "{err}");
        assert!(MlpParams::from_params("test", &p[..2]).is_err());
    }
}
