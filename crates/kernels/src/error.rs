//! The crate's one error type.

/// What can go wrong in a kernel: bad shapes or parameters (the caller's
/// mistake), or a solve that failed inside the neural-ODE kernel.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// An input, output or gradient array does not have the shape the kernel needs.
    #[error("{kernel} kernel: {what}: expected shape {expected}, found {found:?}")]
    Shape {
        /// The kernel.
        kernel: &'static str,
        /// Which array was checked.
        what: &'static str,
        /// The expected shape, in words.
        expected: String,
        /// The shape found.
        found: Vec<usize>,
    },
    /// The parameters handed to a kernel are missing or misshapen.
    #[error("{kernel} kernel: parameters: {reason}")]
    Parameters {
        /// The kernel.
        kernel: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The ODE solve inside a kernel failed ([`latentdyn_ode::OdeError::is_divergence`]
    /// tells a blown-up vector field from a mistake in the call).
    #[error("{kernel} kernel: {source}")]
    Ode {
        /// The kernel.
        kernel: &'static str,
        /// The solver's error.
        #[source]
        source: latentdyn_ode::OdeError,
    },
}

impl KernelError {
    /// Whether the kernel failed because its state blew up (see
    /// [`latentdyn_ode::OdeError::is_divergence`]).
    pub fn is_divergence(&self) -> bool {
        matches!(self, KernelError::Ode { source, .. } if source.is_divergence())
    }
}
