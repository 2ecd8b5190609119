//! The crate's one error type.

/// Everything that can go wrong when building or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A tensor handed to the model does not have the shape the model needs.
    #[error("{what}: expected shape {expected}, found {found:?}")]
    Shape {
        /// Which input or intermediate value was checked.
        what: &'static str,
        /// The expected shape, in words (`"[batch, time, 10]"`).
        expected: String,
        /// The shape that was found.
        found: Vec<i64>,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid model config: `{field}`: {reason}")]
    Config {
        /// The offending field, as it is spelt in the config file.
        field: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// A device string could not be parsed, or names a device that is not there.
    #[error("device `{spec}`: {reason}")]
    Device {
        /// The device as the user wrote it.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The ODE solver of a neural-ODE dynamics failed (step size underflow, non-finite state...).
    #[error("neural-ODE solve failed: {0}")]
    Ode(#[from] latentdyn_ode::OdeError),
    /// A hand-written kernel refused its input or parameters, or its solve failed.
    #[error(transparent)]
    Kernel(#[from] latentdyn_kernels::KernelError),
    /// The backward-pass contract of the hand-written kernels was broken:
    /// a layer's output had no gradient when its tape ran, a tape ran
    /// twice, or a kernel's gradients did not fit its parameters.
    #[error("backward pass of the {kernel} kernel: {reason}")]
    Tape {
        /// The kernel (or the model) whose backward pass failed.
        kernel: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// An error raised by libtorch.
    #[error(transparent)]
    Tch(#[from] tch::TchError),
}

impl ModelError {
    /// Whether the model failed because its state blew up (the neural ODE's
    /// solver gave up on a diverging vector field): a training run then
    /// stops as diverged instead of as an error.
    pub fn is_divergence(&self) -> bool {
        match self {
            ModelError::Ode(e) => e.is_divergence(),
            ModelError::Kernel(e) => e.is_divergence(),
            _ => false,
        }
    }

    /// A [`ModelError::Config`] for `field`.
    pub fn config(field: &'static str, reason: impl Into<String>) -> Self {
        ModelError::Config {
            field,
            reason: reason.into(),
        }
    }
}
