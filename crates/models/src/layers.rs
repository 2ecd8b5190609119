//! Small layers with PyTorch's default initialisation.
//!
//! tch's own defaults differ from PyTorch's: `nn::linear` draws weights from
//! Kaiming-uniform with the ReLU gain (bound √6/√fan_in, √6 times PyTorch's)
//! and `nn::gru` draws weights the same way with zero biases. The study used
//! PyTorch's defaults, so every parameter here is initialised explicitly:
//! `nn.Linear` weight and bias U(−1/√fan_in, 1/√fan_in); `nn.GRU`,
//! `nn.GRUCell` and `nn.RNNCell` every weight and bias U(−1/√hidden, 1/√hidden).

use tch::nn::{self, Init};
use tch::Tensor;

use crate::ModelError;

/// U(−bound, bound) with bound = 1/√fan.
pub fn torch_uniform(fan: i64) -> Init {
    let bound = 1.0 / (fan.max(1) as f64).sqrt();
    Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

/// A fully connected layer `y = x Wᵀ + b` initialised as PyTorch's `nn.Linear`.
#[derive(Debug)]
pub struct Linear {
    /// Weight, `[out, in]`.
    pub weight: Tensor,
    /// Bias, `[out]`.
    pub bias: Tensor,
}

impl Linear {
    /// Registers `weight` and `bias` under `vs`.
    pub fn new(vs: &nn::Path, in_dim: i64, out_dim: i64) -> Result<Self, ModelError> {
        let init = torch_uniform(in_dim);
        Ok(Linear {
            weight: vs.f_var("weight", &[out_dim, in_dim], init)?,
            bias: vs.f_var("bias", &[out_dim], init)?,
        })
    }

    /// Applies the layer to the last dimension of `x`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

/// The RNN-style parameters of a single-layer cell, named as PyTorch's
/// (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`), gates stacked along dim 0.
#[derive(Debug)]
pub struct CellWeights {
    /// `[gates·hidden, input]`.
    pub w_ih: Tensor,
    /// `[gates·hidden, hidden]`.
    pub w_hh: Tensor,
    /// `[gates·hidden]`.
    pub b_ih: Tensor,
    /// `[gates·hidden]`.
    pub b_hh: Tensor,
}

impl CellWeights {
    /// Registers the four tensors under `vs`, all U(±1/√hidden) as PyTorch does.
    pub fn new(vs: &nn::Path, gates: i64, input: i64, hidden: i64) -> Result<Self, ModelError> {
        let init = torch_uniform(hidden);
        Ok(CellWeights {
            w_ih: vs.f_var("weight_ih", &[gates * hidden, input], init)?,
            w_hh: vs.f_var("weight_hh", &[gates * hidden, hidden], init)?,
            b_ih: vs.f_var("bias_ih", &[gates * hidden], init)?,
            b_hh: vs.f_var("bias_hh", &[gates * hidden], init)?,
        })
    }
}

/// PyTorch's `nn.GRUCell` on libtorch's fused kernel: gates stacked `[r, z, n]`,
/// r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
/// n = tanh(W_in x + b_in + r∘(W_hn h + b_hn)), h' = (1 − z)∘n + z∘h.
#[derive(Debug)]
pub struct GruCell {
    /// The stacked parameters (3 gates).
    pub weights: CellWeights,
}

impl GruCell {
    /// A cell with `input` inputs and `hidden` units.
    pub fn new(vs: &nn::Path, input: i64, hidden: i64) -> Result<Self, ModelError> {
        Ok(GruCell {
            weights: CellWeights::new(vs, 3, input, hidden)?,
        })
    }

    /// One step: `x` is `[batch, input]`, `h` is `[batch, hidden]`.
    pub fn forward(&self, x: &Tensor, h: &Tensor) -> Result<Tensor, ModelError> {
        let w = &self.weights;
        Ok(x.f_gru_cell(h, &w.w_ih, &w.w_hh, Some(&w.b_ih), Some(&w.b_hh))?)
    }
}

/// PyTorch's `nn.RNNCell` with tanh: h' = tanh(W_ih x + b_ih + W_hh h + b_hh).
#[derive(Debug)]
pub struct RnnCell {
    /// The parameters (1 gate).
    pub weights: CellWeights,
}

impl RnnCell {
    /// A cell with `input` inputs and `hidden` units.
    pub fn new(vs: &nn::Path, input: i64, hidden: i64) -> Result<Self, ModelError> {
        Ok(RnnCell {
            weights: CellWeights::new(vs, 1, input, hidden)?,
        })
    }

    /// One step: `x` is `[batch, input]`, `h` is `[batch, hidden]`.
    pub fn forward(&self, x: &Tensor, h: &Tensor) -> Result<Tensor, ModelError> {
        let w = &self.weights;
        Ok(x.f_rnn_tanh_cell(h, &w.w_ih, &w.w_hh, Some(&w.b_ih), Some(&w.b_hh))?)
    }
}

/// A two-layer perceptron `in → hidden → out` with tanh after the hidden layer
/// (the study's vector field and discrete cell). Parameters under `0` and `2`,
/// as in PyTorch's `nn.Sequential(Linear, Tanh, Linear)`.
#[derive(Debug)]
pub struct Mlp {
    /// First layer, `in → hidden`.
    pub l1: Linear,
    /// Second layer, `hidden → out`.
    pub l2: Linear,
}

impl Mlp {
    /// Registers both layers under `vs / "0"` and `vs / "2"`.
    pub fn new(vs: &nn::Path, in_dim: i64, hidden: i64, out_dim: i64) -> Result<Self, ModelError> {
        Ok(Mlp {
            l1: Linear::new(&(vs / "0"), in_dim, hidden)?,
            l2: Linear::new(&(vs / "2"), hidden, out_dim)?,
        })
    }

    /// `l2(tanh(l1(x)))` on the last dimension.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.l2.forward(&self.l1.forward(x).tanh())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    fn set(t: &Tensor, v: &[f64], shape: &[i64]) {
        tch::no_grad(|| {
            let src = Tensor::from_slice(v).to_kind(Kind::Float).reshape(shape);
            let mut dst = t.shallow_clone();
            dst.copy_(&src);
        });
    }

    /// The fused kernel computes PyTorch's GRU equations with gates stacked [r, z, n]:
    /// checked against a hand computation in f64 for hidden 2, input 1, batch 2.
    #[test]
    fn gru_cell_matches_pytorch_equations() {
        let vs = nn::VarStore::new(Device::Cpu);
        let cell = GruCell::new(&vs.root(), 1, 2).unwrap();
        // rows: r0 r1 z0 z1 n0 n1
        let w_ih = [0.5, -0.3, 0.8, 0.1, -0.6, 0.4];
        let w_hh = [
            0.2, -0.1, 0.3, 0.5, -0.4, 0.7, 0.6, 0.2, 0.1, -0.3, 0.9, -0.8,
        ];
        let b_ih = [0.1, 0.2, -0.1, 0.05, 0.3, -0.2];
        let b_hh = [-0.05, 0.15, 0.2, -0.1, 0.25, 0.35];
        set(&cell.weights.w_ih, &w_ih, &[6, 1]);
        set(&cell.weights.w_hh, &w_hh, &[6, 2]);
        set(&cell.weights.b_ih, &b_ih, &[6]);
        set(&cell.weights.b_hh, &b_hh, &[6]);
        let xs = [[0.7], [0.0]];
        let hs = [[0.3, -0.5], [-0.9, 0.2]];
        let x = Tensor::from_slice(&[0.7f32, 0.0]).reshape([2, 1]);
        let h = Tensor::from_slice(&[0.3f32, -0.5, -0.9, 0.2]).reshape([2, 2]);
        let out = cell.forward(&x, &h).unwrap();
        let got: Vec<f64> = Vec::try_from(out.to_kind(Kind::Double).flatten(0, -1)).unwrap();
        for b in 0..2 {
            let (x, h) = (xs[b][0], hs[b]);
            let gi = |row: usize| w_ih[row] * x + b_ih[row];
            let gh = |row: usize| w_hh[2 * row] * h[0] + w_hh[2 * row + 1] * h[1] + b_hh[row];
            for j in 0..2 {
                let r = sigmoid(gi(j) + gh(j));
                let z = sigmoid(gi(2 + j) + gh(2 + j));
                let n = (gi(4 + j) + r * gh(4 + j)).tanh();
                let want = (1.0 - z) * n + z * h[j];
                assert!(
                    (got[2 * b + j] - want).abs() < 1e-6,
                    "b{b} j{j}: {} vs {want}",
                    got[2 * b + j]
                );
            }
        }
    }

    #[test]
    fn rnn_cell_matches_its_equation() {
        let vs = nn::VarStore::new(Device::Cpu);
        let cell = RnnCell::new(&vs.root(), 1, 2).unwrap();
        set(&cell.weights.w_ih, &[0.5, -0.3], &[2, 1]);
        set(&cell.weights.w_hh, &[0.2, -0.1, 0.3, 0.5], &[2, 2]);
        set(&cell.weights.b_ih, &[0.1, 0.2], &[2]);
        set(&cell.weights.b_hh, &[-0.05, 0.15], &[2]);
        let x = Tensor::from_slice(&[0.7f32]).reshape([1, 1]);
        let h = Tensor::from_slice(&[0.3f32, -0.5]).reshape([1, 2]);
        let got: Vec<f64> = Vec::try_from(
            cell.forward(&x, &h)
                .unwrap()
                .to_kind(Kind::Double)
                .flatten(0, -1),
        )
        .unwrap();
        let want0 = (0.5 * 0.7 + 0.1 + 0.2 * 0.3 - 0.1 * -0.5 - 0.05f64).tanh();
        let want1 = (-0.3 * 0.7 + 0.2 + 0.3 * 0.3 + 0.5 * -0.5 + 0.15f64).tanh();
        assert!((got[0] - want0).abs() < 1e-6 && (got[1] - want1).abs() < 1e-6);
    }

    #[test]
    fn inits_are_pytorch_bounds() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let lin = Linear::new(&(vs.root() / "lin"), 16, 300).unwrap();
        let cell = GruCell::new(&(vs.root() / "cell"), 1, 25).unwrap();
        let max = |t: &Tensor| t.abs().max().double_value(&[]);
        let bound = 0.25;
        assert!(max(&lin.weight) <= bound && max(&lin.weight) > 0.95 * bound);
        assert!(max(&lin.bias) <= bound && max(&lin.bias) > 0.9 * bound);
        let bound = 0.2;
        for t in [
            &cell.weights.w_ih,
            &cell.weights.w_hh,
            &cell.weights.b_ih,
            &cell.weights.b_hh,
        ] {
            assert!(max(t) <= bound && max(t) > 0.8 * bound, "{}", max(t));
        }
    }
}
