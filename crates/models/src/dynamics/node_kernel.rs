//! The neural ODE's training path by hand, on the CPU in f32: the same
//! adaptive solve (the ode crate's solver, on an ndarray batch state), the
//! MLP vector field as two matrix products and a vectorisable tanh, and
//! backpropagation through the accepted Runge–Kutta steps written out
//! (the discrete adjoint). Step sizes carry no gradient, exactly as in the
//! tensor path, whose error norms are computed on detached values.
//!
//! Supported: adaptive FSAL methods (Tsit5, Dopri5) stepping to each output
//! (the study's setting). Anything else returns `None` and the tensor path
//! runs.

use latentdyn_ode::{solve_adaptive, AdaptiveOptions, OutputMode, Solution, State, Tableau};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayViewMut2, Axis};
use tch::Tensor;

use crate::tape::{
    inject, pool, row_parts, steps_first, to_array2, to_vec, trajectory_grad, trajectory_leaf, two,
    Tape,
};
use crate::ModelError;

/// A batch of states `[B, L]` as an ode-crate state. Norms reduce over all
/// elements in f64, as the tensor state's do, so a batch shares one step size.
#[derive(Debug, Clone)]
pub(crate) struct Batch(pub Array2<f32>);

impl State for Batch {
    fn clone_state(&self) -> Self {
        self.clone()
    }
    fn axpy(&mut self, a: f64, x: &Self) {
        self.0.scaled_add(a as f32, &x.0);
    }
    fn scale(&mut self, a: f64) {
        let a = a as f32;
        self.0.mapv_inplace(|v| v * a);
    }
    fn zeros_like(&self) -> Self {
        Batch(Array2::zeros(self.0.raw_dim()))
    }
    fn all_finite(&self) -> bool {
        self.0.iter().all(|v| v.is_finite())
    }
    fn rms_norm(&self) -> f64 {
        let n = self.0.len();
        if n == 0 {
            return 0.0;
        }
        (self.0.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / n as f64).sqrt()
    }
    fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64 {
        let n = err.0.len();
        if n == 0 {
            return 0.0;
        }
        let mut acc = 0.0f64;
        for ((&e, &a), &b) in err.0.iter().zip(y0.0.iter()).zip(y1.0.iter()) {
            let sk = f64::from(a).abs().max(f64::from(b).abs()) * rtol + atol;
            let r = f64::from(e) / sk;
            acc += r * r;
        }
        (acc / n as f64).sqrt()
    }
    fn copy_from(&mut self, other: &Self) {
        if self.0.raw_dim() == other.0.raw_dim() {
            self.0.assign(&other.0);
        } else {
            *self = other.clone();
        }
    }
    fn check_compatible(&self, other: &Self) -> Result<(), String> {
        if self.0.raw_dim() == other.0.raw_dim() {
            Ok(())
        } else {
            Err(format!(
                "state has shape {:?}, right-hand side returned {:?}",
                self.0.shape(),
                other.0.shape()
            ))
        }
    }
}

/// Up to this many inputs the first layer runs as row updates, not a GEMM.
const SMALL_K: usize = 16;

/// Batches of at least this many rows are split across two threads.
const MIN_SPLIT: usize = 128;

/// The vector field's parameters: f(z) = W2 tanh(W1 z + b1) + b2.
#[derive(Debug, Clone)]
pub(crate) struct MlpParams {
    w1: Array2<f32>,
    /// W1ᵀ, `[L, H]` row-major.
    w1t: Array2<f32>,
    b1: Array1<f32>,
    w2: Array2<f32>,
    b2: Array1<f32>,
}

impl MlpParams {
    pub(crate) fn from_tensors(
        w1: &Tensor,
        b1: &Tensor,
        w2: &Tensor,
        b2: &Tensor,
    ) -> Result<Self, ModelError> {
        Ok(Self::from_arrays(
            to_array2(w1)?,
            Array1::from_vec(to_vec(b1)?),
            to_array2(w2)?,
            Array1::from_vec(to_vec(b2)?),
        ))
    }

    /// From W1 `[H, L]`, b1 `[H]`, W2 `[L, H]`, b2 `[L]`.
    pub(crate) fn from_arrays(
        w1: Array2<f32>,
        b1: Array1<f32>,
        w2: Array2<f32>,
        b2: Array1<f32>,
    ) -> Self {
        let w1 = w1.as_standard_layout().into_owned();
        MlpParams {
            w1t: w1.t().as_standard_layout().into_owned(),
            w1,
            b1,
            w2: w2.as_standard_layout().into_owned(),
            b2,
        }
    }

    pub(crate) fn zeros_like(&self) -> Self {
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

    /// f(z) and the hidden activation tanh(W1 z + b1); the batch in two
    /// halves on two threads when allowed.
    pub(crate) fn forward(&self, z: ArrayView2<'_, f32>) -> (Array2<f32>, Array2<f32>) {
        let b = z.nrows();
        let mut out = Array2::<f32>::zeros((b, self.w2.nrows()));
        // Recycled: the kernel writes every element.
        let mut act = pool::array(b, self.w1.nrows());
        if let [first, _] = &row_parts(b, MIN_SPLIT)[..] {
            let mid = first.end;
            let (z0, z1) = z.split_at(Axis(0), mid);
            let (o0, o1) = out.view_mut().split_at(Axis(0), mid);
            let (a0, a1) = act.view_mut().split_at(Axis(0), mid);
            two(
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
    pub(crate) fn vjp(
        &self,
        z: ArrayView2<'_, f32>,
        act: &Array2<f32>,
        g: ArrayView2<'_, f32>,
        grads: &mut MlpParams,
    ) -> Array2<f32> {
        let (b, l) = z.dim();
        let mut gz = Array2::<f32>::zeros((b, l));
        if let [first, _] = &row_parts(b, MIN_SPLIT)[..] {
            let mid = first.end;
            let (z0, z1) = z.split_at(Axis(0), mid);
            let (a0, a1) = act.view().split_at(Axis(0), mid);
            let (g0, g1) = g.split_at(Axis(0), mid);
            let (gz0, gz1) = gz.view_mut().split_at(Axis(0), mid);
            let mut second = self.zeros_like();
            two(
                || mlp_vjp(self, z0, a0, g0, grads, gz0),
                || mlp_vjp(self, z1, a1, g1, &mut second, gz1),
            );
            grads.add(&second);
        } else {
            mlp_vjp(self, z, act.view(), g, grads, gz.view_mut());
        }
        gz
    }

    /// ∂/∂W1 of everything accumulated: the row-by-row path keeps it
    /// transposed.
    pub(crate) fn w1_grad(&self) -> Array2<f32> {
        &self.w1 + &self.w1t.t()
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
fn mlp_forward_portable(
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
                    *a += zk * w;
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
                *o = bj + dot(ar, w.as_slice().expect("contiguous"));
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
fn mlp_vjp_portable(
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
                axpy(w2g.as_slice_mut().expect("contiguous"), gj, ar);
                axpy(gp, gj, this.w2.row(j).as_slice().expect("contiguous"));
            }
            for (p, &a) in gp.iter_mut().zip(ar) {
                *p *= 1.0 - a * a;
            }
            axpy(grads.b1.as_slice_mut().expect("contiguous"), 1.0, gp);
            let zr = z.row(row);
            let mut gzr = gz.row_mut(row);
            for (k, (&zk, o)) in zr.iter().zip(gzr.iter_mut()).enumerate() {
                let mut w1g = grads.w1t.row_mut(k);
                axpy(w1g.as_slice_mut().expect("contiguous"), zk, gp);
                *o = dot(gp, this.w1t.row(k).as_slice().expect("contiguous"));
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
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ac, ar) = a.split_at(a.len() - a.len() % 8);
    let (bc, br) = b.split_at(ac.len().min(b.len()));
    for (x, y) in ac.chunks_exact(8).zip(bc.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}

/// y += a·x.
#[inline(always)]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// One right-hand-side evaluation as the solver made it.
#[derive(Debug)]
struct Eval {
    input: Array2<f32>,
    act: Array2<f32>,
}

impl Drop for Eval {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.act));
    }
}

/// Solves from `z0` (`[B, L]`) to the outputs `t_eval` with the vector
/// field `params`, logging every evaluation; `count` is called once per
/// evaluation. Returns the latents `[B, T, L]` and the tape, or `None` when
/// the method is not an adaptive FSAL method stepping to the outputs.
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve_taped(
    params: MlpParams,
    tensors: [Tensor; 4],
    z0: &Tensor,
    t_eval: &[f64],
    tableau: &Tableau,
    opts: &AdaptiveOptions,
    count: &dyn Fn(),
) -> Result<Option<(Tensor, NodeTape)>, ModelError> {
    if !tableau.is_fsal() || !tableau.is_adaptive() || opts.output != OutputMode::StepToOutputs {
        return Ok(None);
    }
    let y0 = Batch(to_array2(z0)?);
    let log = std::cell::RefCell::new(Vec::<Eval>::new());
    let f = |_t: f64, y: &Batch| {
        count();
        let (out, act) = params.forward(y.0.view());
        log.borrow_mut().push(Eval {
            input: y.0.clone(),
            act,
        });
        Batch(out)
    };
    let sol: Solution<Batch> = solve_adaptive(&f, &y0, t_eval, tableau, opts)?;
    let log = log.into_inner();
    let (b, l) = y0.0.dim();
    let steps = t_eval.len();
    let mut latents = Array3::<f32>::zeros((b, steps, l));
    for (k, y) in sol.y.iter().enumerate() {
        latents.index_axis_mut(Axis(1), k).assign(&y.0);
    }
    let leaf = trajectory_leaf(latents.view())?;
    // Which output each accepted step lands on.
    let mut lands = vec![None; sol.accepted.len()];
    let mut next = 1;
    for (i, st) in sol.accepted.iter().enumerate() {
        if next < t_eval.len() && st.t_end == t_eval[next] {
            lands[i] = Some(next);
            next += 1;
        }
    }
    if next != t_eval.len() {
        return Err(ModelError::config(
            "solver",
            "the solve did not land on every output time",
        ));
    }
    let tape = NodeTape {
        leaf: leaf.shallow_clone(),
        z0: z0.shallow_clone(),
        params,
        tensors,
        a: tableau.a().to_vec(),
        steps: sol.accepted.iter().map(|s| (s.h, s.rhs_before)).collect(),
        lands,
        log,
    };
    Ok(Some((leaf, tape)))
}

/// What the neural ODE's forward pass kept for its backward pass.
pub(crate) struct NodeTape {
    leaf: Tensor,
    z0: Tensor,
    params: MlpParams,
    tensors: [Tensor; 4],
    a: Vec<Vec<f64>>,
    /// (h, evaluations before the step's stages) per accepted step.
    steps: Vec<(f64, usize)>,
    lands: Vec<Option<usize>>,
    log: Vec<Eval>,
}

impl std::fmt::Debug for NodeTape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeTape")
            .field("latents", &self.leaf.size())
            .field("accepted_steps", &self.steps.len())
            .field("evaluations", &self.log.len())
            .finish_non_exhaustive()
    }
}

impl Tape for NodeTape {
    fn backward(&self) -> Result<(), ModelError> {
        let size = self.leaf.size();
        let (b, l) = (size[0] as usize, size[2] as usize);
        let Some(g) = trajectory_grad(&self.leaf)? else {
            return Ok(());
        };
        let g = steps_first(&g, 0..b);
        let out_grad = |k: usize| g.index_axis(Axis(0), k);
        let s = self.a.len(); // stages; the last is f at the new state (FSAL)
        let mut grads = self.params.zeros_like();
        let mut ybar = Array2::<f32>::zeros((b, l));
        for (n, &(h, before)) in self.steps.iter().enumerate().rev() {
            if let Some(k) = self.lands[n] {
                ybar += &out_grad(k);
            }
            // y_{n+1} = y_n + h Σ_j a[s-1][j] k_j; k_i = f(Y_i), Y_0 = y_n,
            // Y_i = y_n + h Σ_{j<i} a[i][j] k_j.
            let stage0 = if n == 0 {
                0
            } else {
                self.steps[n - 1].1 + s - 2
            };
            let eval = |i: usize| -> &Eval {
                if i == 0 {
                    &self.log[stage0]
                } else {
                    &self.log[before + i - 1]
                }
            };
            let mut kbar: Vec<Array2<f32>> = (0..s - 1)
                .map(|j| &ybar * (h * self.a[s - 1][j]) as f32)
                .collect();
            let mut yprev = ybar.clone();
            for i in (0..s - 1).rev() {
                if kbar[i].iter().all(|&v| v == 0.0) {
                    continue;
                }
                let e = eval(i);
                let ybar_i = self
                    .params
                    .vjp(e.input.view(), &e.act, kbar[i].view(), &mut grads);
                for j in 0..i {
                    let aij = self.a[i][j];
                    if aij != 0.0 {
                        kbar[j].scaled_add((h * aij) as f32, &ybar_i);
                    }
                }
                yprev += &ybar_i;
            }
            ybar = yprev;
        }
        ybar += &out_grad(0);
        let [w1, b1, w2, b2] = &self.tensors;
        let w1g = grads.w1_grad();
        inject(&[
            (w1, w1g.view().into_dyn()),
            (b1, grads.b1.view().into_dyn()),
            (w2, grads.w2.view().into_dyn()),
            (b2, grads.b2.view().into_dyn()),
            (&self.z0, ybar.view().into_dyn()),
        ])
    }
}

impl MlpParams {
    /// b1, W2 and b2 (for a parameter set used as a gradient accumulator).
    pub(crate) fn rest(&self) -> (&Array1<f32>, &Array2<f32>, &Array1<f32>) {
        (&self.b1, &self.w2, &self.b2)
    }
}
