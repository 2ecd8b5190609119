//! The encoder: a bidirectional GRU over the whole spike sequence, whose two
//! final states become the initial condition z₀ (study: "The model").

use latentdyn_kernels::BiGruFinal;
use tch::nn::{self, RNN};
use tch::Tensor;

use crate::layers::torch_uniform;
use crate::tape::{kernel_applies, Taped};
use crate::{check_shape, ModelError};

/// The encoder GRU's parameter names, per direction, in PyTorch's order.
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
        kernel_applies(&[x, &self.params[0]])
    }

    /// The training path of [`Encoder::forward`]'s final state, by the
    /// hand-written kernel [`BiGruFinal`]: the final state `[batch,
    /// 2·hidden]` as a fresh autograd leaf whose tape turns its gradient
    /// into the encoder parameters' gradients ([`crate::Tapes`]). Needs f32
    /// on the CPU ([`Encoder::can_tape`]).
    pub fn forward_taped(&self, x: &Tensor) -> Result<Taped, ModelError> {
        check_shape("encoder input", x, &[None, None, Some(self.channels)])?;
        if x.size()[1] < 1 || !self.can_tape(x) {
            return Err(ModelError::Shape {
                what: "encoder input",
                expected: format!("f32 on the CPU, [batch, time >= 1, {}]", self.channels),
                found: x.size(),
            });
        }
        let params: Vec<&Tensor> = self.params.iter().collect();
        Taped::run(x, &params, BiGruFinal::new)
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
