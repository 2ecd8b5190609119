//! The encoder: a bidirectional GRU over the whole spike sequence, whose two
//! final states become the initial condition z₀ (study: "The model").

use ndarray::{Array1, Array2, Array3};
use tch::nn::{self, RNN};
use tch::{Device, Kind, Tensor};

use crate::fused_gru::{self, DirectionTape, GruParams, OutputGrad};
use crate::layers::torch_uniform;
use crate::tape::{inject, to_array2, to_vec, two, Tape};
use crate::{check_shape, ModelError};

/// The encoder GRU's parameter names, per direction, in [`GruParams`] order.
const NAMES: [&str; 4] = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"];

/// Bidirectional GRU, `hidden` units per direction, batch first; PyTorch's
/// `nn.GRU(channels, hidden, batch_first=True, bidirectional=True)`.
#[derive(Debug)]
pub struct Encoder {
    gru: nn::GRU,
    /// The same parameters as `gru`'s: forward direction (w_ih, w_hh,
    /// b_ih, b_hh), then the reverse direction.
    params: Vec<Tensor>,
    channels: i64,
    hidden: i64,
}

impl Encoder {
    /// Registers the GRU's parameters under `vs` with PyTorch's names
    /// (`weight_ih_l0`, ..., `bias_hh_l0_reverse`) and initialisation.
    pub fn new(vs: &nn::Path, channels: i64, hidden: i64) -> Result<Self, ModelError> {
        let init = torch_uniform(hidden);
        let cfg = nn::RNNConfig {
            bidirectional: true,
            batch_first: true,
            w_ih_init: init,
            w_hh_init: init,
            b_ih_init: Some(init),
            b_hh_init: Some(init),
            ..Default::default()
        };
        // `nn::gru` allocates with plain (panicking) ops: check the sizes first.
        if channels < 1 || hidden < 1 {
            return Err(ModelError::config(
                "encoder_size",
                format!("{channels} channels, {hidden} units"),
            ));
        }
        let gru = nn::gru(vs, channels, hidden, cfg);
        let mut params = Vec::with_capacity(8);
        for suffix in ["", "_reverse"] {
            for name in NAMES {
                let full = format!("{name}{suffix}");
                params.push(vs.get(&full).ok_or_else(|| {
                    ModelError::config("encoder", format!("GRU parameter {full} not registered"))
                })?);
            }
        }
        Ok(Encoder {
            gru,
            params,
            channels,
            hidden,
        })
    }

    /// Whether [`Encoder::forward_taped`] can run on `x`: f32 on the CPU.
    pub fn can_tape(&self, x: &Tensor) -> bool {
        x.device() == Device::Cpu && x.kind() == Kind::Float && self.params[0].kind() == Kind::Float
    }

    /// The training path of [`Encoder::forward`]'s final state, by the
    /// hand-written kernels of [`crate::fused_gru`]: returns the final state
    /// `[batch, 2·hidden]` as a fresh autograd leaf, and the tape whose
    /// [`EncoderTape::backward`] turns that leaf's gradient into the
    /// encoder parameters' gradients. Needs f32 on the CPU ([`Encoder::can_tape`]).
    pub fn forward_taped(&self, x: &Tensor) -> Result<(Tensor, EncoderTape), ModelError> {
        check_shape("encoder input", x, &[None, None, Some(self.channels)])?;
        let size = x.size();
        let (b, t, c) = (size[0] as usize, size[1] as usize, size[2] as usize);
        if t < 1 || !self.can_tape(x) {
            return Err(ModelError::Shape {
                what: "encoder input",
                expected: format!("f32 on the CPU, [batch, time >= 1, {}]", self.channels),
                found: size,
            });
        }
        let data = Vec::<f32>::try_from(&x.f_detach()?.f_contiguous()?.f_flatten(0, -1)?)?;
        let x3 = Array3::from_shape_vec((b, t, c), data).map_err(|e| ModelError::Shape {
            what: "encoder input",
            expected: e.to_string(),
            found: size.clone(),
        })?;
        let params = [self.direction_params(0)?, self.direction_params(4)?];
        let xf = fused_gru::time_major(x3.view(), false);
        let xb = fused_gru::time_major(x3.view(), true);
        let ((hf, tf), (hb, tb)) = two(
            || fused_gru::forward(xf, t, b, &params[0], None),
            || fused_gru::forward(xb, t, b, &params[1], None),
        );
        let hid = self.hidden as usize;
        let mut last = Array2::<f32>::zeros((b, 2 * hid));
        last.slice_mut(ndarray::s![.., ..hid]).assign(&hf);
        last.slice_mut(ndarray::s![.., hid..]).assign(&hb);
        let leaf = Tensor::f_from_slice(last.as_slice().expect("contiguous"))?
            .f_reshape([b as i64, 2 * self.hidden])?
            .set_requires_grad(true);
        let tape = EncoderTape {
            last: leaf.shallow_clone(),
            tapes: [tf, tb],
            params,
            tensors: self.params.iter().map(Tensor::shallow_clone).collect(),
            hidden: hid,
        };
        Ok((leaf, tape))
    }

    fn direction_params(&self, first: usize) -> Result<GruParams, ModelError> {
        let p = &self.params[first..first + 4];
        Ok(GruParams {
            w_ih: to_array2(&p[0])?,
            w_hh: to_array2(&p[1])?,
            b_ih: Array1::from_vec(to_vec(&p[2])?),
            b_hh: Array1::from_vec(to_vec(&p[3])?),
        })
    }

    /// Runs both directions over `x` (`[batch, time, channels]`) and returns
    /// `(outputs [batch, time, 2·hidden], final [batch, 2·hidden])`, where the
    /// final state concatenates the forward direction's state after the last
    /// step and the backward direction's state after the first step, in that
    /// order (PyTorch's `cat([h_n[0], h_n[1]], -1)`).
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor), ModelError> {
        check_shape("encoder input", x, &[None, None, Some(self.channels)])?;
        if x.size()[1] < 1 {
            return Err(ModelError::Shape {
                what: "encoder input",
                expected: format!("[batch, time >= 1, {}]", self.channels),
                found: x.size(),
            });
        }
        let (out, state) = self.gru.seq(x);
        let h_n = state.0; // [2 directions, batch, hidden]
        let last = Tensor::f_cat(&[h_n.f_get(0)?, h_n.f_get(1)?], -1)?;
        Ok((out, last))
    }

    /// Units per direction.
    pub fn hidden(&self) -> i64 {
        self.hidden
    }
}

/// What [`Encoder::forward_taped`] recorded, to finish the backward pass.
pub struct EncoderTape {
    last: Tensor,
    tapes: [DirectionTape; 2],
    params: [GruParams; 2],
    tensors: Vec<Tensor>,
    hidden: usize,
}

impl std::fmt::Debug for EncoderTape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncoderTape")
            .field("final_state", &self.last.size())
            .finish_non_exhaustive()
    }
}

impl Tape for EncoderTape {
    /// After `loss.backward()`: adds the encoder parameters' gradients of
    /// that loss to their `.grad` (accumulating, as autograd does). A loss
    /// that did not depend on the final state adds nothing.
    fn backward(&self) -> Result<(), ModelError> {
        let g = self.last.f_grad()?;
        if !g.defined() {
            return Ok(());
        }
        let g = to_array2(&g)?;
        let h = self.hidden;
        let (gf, gb) = (g.slice(ndarray::s![.., ..h]), g.slice(ndarray::s![.., h..]));
        let (tapes, params) = (&self.tapes, &self.params);
        let ((df, _), (db, _)) = two(
            || fused_gru::backward(&tapes[0], &params[0], OutputGrad::Last(gf)),
            || fused_gru::backward(&tapes[1], &params[1], OutputGrad::Last(gb)),
        );
        let mut pairs = Vec::with_capacity(8);
        for (i, d) in [&df, &db].into_iter().enumerate() {
            pairs.extend(self.tensors[4 * i..4 * i + 4].iter().zip(d.views()));
        }
        inject(&pairs)?;
        Ok(())
    }
}
