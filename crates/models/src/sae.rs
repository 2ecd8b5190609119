//! The sequential autoencoder: encoder → initial condition → dynamics → readout.

use std::sync::Mutex;

use tch::{nn, Kind, Tensor};

use crate::config::ModelConfig;
use crate::dynamics::{build_dynamics, Dynamics};
use crate::encoder::Encoder;
use crate::layers::Linear;
use crate::tape::{Taped, Tapes};
use crate::{check_shape, ModelError};

/// What one forward pass produces.
#[derive(Debug)]
pub struct SaeOutput {
    /// The initial condition, `[batch, L]`.
    pub z0: Tensor,
    /// The latent trajectory, `[batch, time, L]`.
    pub latents: Tensor,
    /// Log firing rates, `[batch, time, out_channels]`.
    pub log_rates: Tensor,
    /// Backward passes of the layers that ran by hand-written kernels
    /// (training mode, f32 on the CPU: the encoder and the dynamics);
    /// `None` once [`SaeOutput::backward`] has run them.
    tapes: Mutex<Option<Tapes>>,
}

impl SaeOutput {
    /// Backpropagates `loss` (a scalar computed from this output) into
    /// every parameter's `.grad`, the layers that ran by hand included. Use
    /// this rather than `loss.backward()`, which would leave those layers
    /// without gradients. Once per output: a second call is an error.
    pub fn backward(&self, loss: &Tensor) -> Result<(), ModelError> {
        let tapes = self
            .tapes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| ModelError::Tape {
                kernel: "sequential autoencoder",
                reason: "backward already ran for this output".into(),
            })?;
        tapes.backward(loss)
    }

    /// How many layers' backward passes are waiting to run: the layers that
    /// trained by hand-written kernels (0 in evaluation mode, where the
    /// kernels run but keep no tape, and in f64, on CUDA or with
    /// [`Kernels::Libtorch`]).
    pub fn taped_layers(&self) -> usize {
        self.tapes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(0, Tapes::len)
    }
}

/// The study's model. Parameters live under `encoder`, `ic`, `dynamics` and
/// `readout` of the `nn::Path` it was built on; save and load them through
/// the owning `nn::VarStore` (`vs.save("x.safetensors")`).
#[derive(Debug)]
pub struct SequentialAutoencoder {
    /// Bidirectional GRU encoder.
    pub encoder: Encoder,
    /// Linear 2·encoder_size → L giving z₀ (dropout before and after).
    pub ic: Linear,
    /// The latent dynamics.
    pub dynamics: Box<dyn Dynamics>,
    /// Linear L → channels giving log-rates.
    pub readout: Linear,
    dropout: f64,
    channels: i64,
    out_channels: i64,
    config: ModelConfig,
    kernels: Kernels,
}

/// Which code computes a forward pass (and, in training, its gradients) on
/// the CPU in f32: the hand-written kernels (the default) or libtorch's
/// operators and autograd throughout. Both compute the same function and
/// gradients up to f32 rounding; f64 and CUDA always use libtorch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kernels {
    /// The hand-written CPU kernels of `latentdyn-kernels`.
    #[default]
    Hand,
    /// libtorch's operators and autograd.
    Libtorch,
}

impl std::str::FromStr for Kernels {
    type Err = ModelError;

    /// `hand` or `libtorch`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "hand" => Ok(Kernels::Hand),
            "libtorch" => Ok(Kernels::Libtorch),
            other => Err(ModelError::config(
                "kernels",
                format!("`{other}`: use hand or libtorch"),
            )),
        }
    }
}

impl std::fmt::Display for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kernels::Hand => "hand",
            Kernels::Libtorch => "libtorch",
        })
    }
}

impl SequentialAutoencoder {
    /// Builds the model for data with `channels` channels, after validating `cfg`.
    pub fn new(vs: &nn::Path, cfg: &ModelConfig, channels: i64) -> Result<Self, ModelError> {
        Self::with_io(vs, cfg, channels, channels)
    }

    /// Builds a model whose encoder reads `channels` channels and whose
    /// readout predicts `out_channels` (a recording's held-in units in,
    /// all units out, for co-smoothing).
    pub fn with_io(
        vs: &nn::Path,
        cfg: &ModelConfig,
        channels: i64,
        out_channels: i64,
    ) -> Result<Self, ModelError> {
        cfg.validate()?;
        for (what, c) in [("channels", channels), ("out_channels", out_channels)] {
            if c < 1 {
                return Err(ModelError::config(what, format!("{c} < 1")));
            }
        }
        let latent = cfg.latent_size as i64;
        let enc = cfg.encoder_size as i64;
        Ok(SequentialAutoencoder {
            encoder: Encoder::new(&(vs / "encoder"), channels, enc)?,
            ic: Linear::new(&(vs / "ic"), 2 * enc, latent)?,
            dynamics: build_dynamics(&(vs / "dynamics"), latent, &cfg.dynamics)?,
            readout: Linear::new(&(vs / "readout"), latent, out_channels)?,
            dropout: cfg.dropout,
            channels,
            out_channels,
            config: cfg.clone(),
            kernels: Kernels::Hand,
        })
    }

    /// The configuration the model was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Number of channels the encoder reads.
    pub fn channels(&self) -> i64 {
        self.channels
    }

    /// Number of channels the readout predicts (equal to
    /// [`Self::channels`] unless built by [`Self::with_io`]).
    pub fn out_channels(&self) -> i64 {
        self.out_channels
    }

    /// Which code runs training-mode forward passes on the CPU ([`Kernels`]).
    pub fn set_kernels(&mut self, kernels: Kernels) {
        self.kernels = kernels;
    }

    /// The initial condition z₀ (`[batch, L]`) from spikes `[batch, time,
    /// channels]`, through libtorch's autograd in every mode.
    pub fn initial_condition(&self, spikes: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let spikes = self.prepare(spikes)?;
        let (_, h) = self.encoder.forward(&spikes)?;
        self.ic_from_state(&h, train)
    }

    fn ic_from_state(&self, h: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let h = h.f_dropout(self.dropout, train)?;
        Ok(self.ic.forward(&h).f_dropout(self.dropout, train)?)
    }

    /// Log-rates `[batch, time, channels]` of latents `[batch, time, L]`.
    pub fn log_rates(&self, latents: &Tensor) -> Result<Tensor, ModelError> {
        check_shape(
            "latents",
            latents,
            &[None, None, Some(self.config.latent_size as i64)],
        )?;
        Ok(self.readout.forward(latents))
    }

    /// The full forward pass on spike counts `[batch, time, channels]`
    /// (any floating or integer kind; cast to the parameters' kind and moved
    /// to their device). `train` switches dropout on. On the CPU in f32 the
    /// encoder and the dynamics run by the hand-written kernels (unless
    /// [`Kernels::Libtorch`]), keeping their tapes for
    /// [`SaeOutput::backward`] in training only.
    pub fn forward_t(&self, spikes: &Tensor, train: bool) -> Result<SaeOutput, ModelError> {
        let steps = spikes.size().get(1).copied().unwrap_or(0);
        let x = self.prepare(spikes)?;
        // The kernels also run evaluation (no dropout, no tape kept).
        let hand = self.kernels == Kernels::Hand && self.encoder.can_tape(&x);
        let mut tapes = Tapes::new();
        let mut keep = |taped: Taped| {
            if train {
                tapes.push(taped)
            } else {
                taped.into_output()
            }
        };
        let h = if hand {
            keep(self.encoder.forward_taped(&x)?)
        } else {
            self.encoder.forward(&x)?.1
        };
        let z0 = self.ic_from_state(&h, train)?;
        let taped = if hand {
            self.dynamics.unroll_taped(&z0, steps as usize)?
        } else {
            None
        };
        let latents = match taped {
            Some(taped) => keep(taped),
            None => self.dynamics.unroll(&z0, steps as usize)?,
        };
        let log_rates = self.readout.forward(&latents);
        Ok(SaeOutput {
            z0,
            latents,
            log_rates,
            tapes: Mutex::new(Some(tapes)),
        })
    }

    fn prepare(&self, spikes: &Tensor) -> Result<Tensor, ModelError> {
        check_shape("spikes", spikes, &[None, None, Some(self.channels)])?;
        let w = &self.readout.weight;
        let kind = w.kind();
        let spikes = if spikes.kind() == kind {
            spikes.shallow_clone()
        } else {
            match spikes.kind() {
                Kind::Bool | Kind::ComplexFloat | Kind::ComplexDouble | Kind::ComplexHalf => {
                    return Err(ModelError::Shape {
                        what: "spikes (kind)",
                        expected: format!("real counts, {kind:?}"),
                        found: spikes.size(),
                    })
                }
                _ => spikes.f_to_kind(kind)?,
            }
        };
        Ok(spikes.f_to_device(w.device())?)
    }
}

/// Total number of scalar parameters in a variable store.
pub fn parameter_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(Tensor::numel)
        .map(|n| n as i64)
        .sum()
}
