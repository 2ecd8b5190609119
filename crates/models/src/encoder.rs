//! The encoder: a bidirectional GRU over the whole spike sequence, whose two
//! final states become the initial condition z₀ (study: "The model").

use tch::nn::{self, RNN};
use tch::Tensor;

use crate::layers::torch_uniform;
use crate::{check_shape, ModelError};

/// Bidirectional GRU, `hidden` units per direction, batch first; PyTorch's
/// `nn.GRU(channels, hidden, batch_first=True, bidirectional=True)`.
#[derive(Debug)]
pub struct Encoder {
    gru: nn::GRU,
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
        Ok(Encoder {
            gru: nn::gru(vs, channels, hidden, cfg),
            channels,
            hidden,
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
