//! The crate's error type.

/// Everything that can go wrong while setting up or running an integration.
///
/// Every variant carries the numbers needed to understand the failure; no
/// solver in this crate panics on bad input or loops forever.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum OdeError {
    /// The state (initial value, a stage or an accepted step) contains NaN or infinity.
    #[error("non-finite state (NaN or infinity) at t = {t}")]
    NonFinite {
        /// Time at which the non-finite value was detected.
        t: f64,
    },
    /// The adaptive controller asked for a step smaller than the resolvable minimum.
    #[error("step size underflow at t = {t}: h = {h:e} is below the minimum step (the problem may blow up or be stiff)")]
    StepSizeUnderflow {
        /// Time reached.
        t: f64,
        /// The step size that was too small.
        h: f64,
    },
    /// The step budget (`max_steps`, accepted plus rejected) ran out.
    #[error("maximum number of steps ({max_steps}) exceeded at t = {t}")]
    MaxStepsExceeded {
        /// Time reached.
        t: f64,
        /// The budget that was exhausted.
        max_steps: usize,
    },
    /// The output times are empty, non-finite or not strictly increasing.
    #[error("invalid output times: {reason}")]
    InvalidTimes {
        /// What is wrong with them.
        reason: String,
    },
    /// An adaptive solve was asked of a method without an error estimator.
    #[error("method `{method}` has no embedded error estimate; it cannot be used with adaptive step control")]
    NotAdaptive {
        /// Name of the method.
        method: String,
    },
    /// An option (tolerance, step count, delay ...) is out of range.
    #[error("invalid option: {reason}")]
    InvalidOptions {
        /// What is wrong, with the offending value.
        reason: String,
    },
    /// The right-hand side returned a value whose shape differs from the state's.
    #[error("shape mismatch at t = {t}: {reason}")]
    ShapeMismatch {
        /// Time of the offending evaluation.
        t: f64,
        /// The two shapes.
        reason: String,
    },
}

impl OdeError {
    /// Whether the solve failed because the solution blew up (a non-finite
    /// state, a step size that underflowed, the step budget spent), as a
    /// diverging vector field makes it fail; the other variants are
    /// mistakes in the call (times, options, shapes).
    pub fn is_divergence(&self) -> bool {
        matches!(
            self,
            OdeError::NonFinite { .. }
                | OdeError::StepSizeUnderflow { .. }
                | OdeError::MaxStepsExceeded { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::OdeError;

    #[test]
    fn only_a_blown_up_solution_is_a_divergence() {
        assert!(OdeError::NonFinite { t: 0.5 }.is_divergence());
        assert!(OdeError::StepSizeUnderflow { t: 0.5, h: 1e-300 }.is_divergence());
        assert!(OdeError::MaxStepsExceeded {
            t: 0.5,
            max_steps: 10
        }
        .is_divergence());
        let reason = String::from("x");
        assert!(!OdeError::InvalidOptions { reason }.is_divergence());
        let reason = String::from("x");
        assert!(!OdeError::InvalidTimes { reason }.is_divergence());
    }
}
