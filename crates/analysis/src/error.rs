//! The crate's one error type.

/// Everything that can go wrong in an analysis.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum AnalysisError {
    /// Two arrays that must agree in shape do not.
    #[error("{what}: expected shape {expected:?}, found {found:?}")]
    Shape {
        /// Which argument was checked.
        what: &'static str,
        /// The shape it must have.
        expected: Vec<usize>,
        /// The shape it has.
        found: Vec<usize>,
    },
    /// An array has no points to compute a statistic on.
    #[error("{what}: no data points")]
    Empty {
        /// Which argument is empty.
        what: &'static str,
    },
    /// An argument is out of range.
    #[error("{what}: {reason}")]
    Invalid {
        /// Which argument.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A tensor operation or a model evaluation failed.
    #[error("{what}: {reason}")]
    Tensor {
        /// What was being computed.
        what: &'static str,
        /// The underlying error.
        reason: String,
    },
}
