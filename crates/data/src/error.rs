//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while describing, generating, saving or loading a dataset.
///
/// Variants about files carry the file's path and, where it applies, the
/// field (array or metadata key) at fault, so that a message read on its own
/// says what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file the dataset needs does not exist.
    #[error("{path}: file is missing ({what})")]
    Missing {
        /// The file that should exist.
        path: PathBuf,
        /// What the file would have held.
        what: String,
    },
    /// The operating system refused a read or write.
    #[error("{path}: {source}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file or one of its fields cannot be decoded.
    #[error("{path}: field `{field}` is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The array or metadata key.
        field: String,
        /// What went wrong, in words.
        reason: String,
    },
    /// An array has the wrong shape.
    #[error("{path}: field `{field}` has shape {found:?}, expected {expected:?}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// The array.
        field: String,
        /// The shape the metadata implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// An array holds NaN or an infinity.
    #[error("{path}: field `{field}` holds a non-finite value at index {index:?}")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The array.
        field: String,
        /// Index of the first offending element.
        index: Vec<usize>,
    },
    /// The metadata and the arrays (or the metadata and the generator) disagree.
    #[error("{path}: field `{field}` does not match: expected {expected}, found {found}")]
    MetadataMismatch {
        /// The file.
        path: PathBuf,
        /// The metadata key or array.
        field: String,
        /// The value implied by the rest of the dataset.
        expected: String,
        /// The value found.
        found: String,
    },
    /// A preset name that is not one of the study's datasets.
    #[error("unknown dataset preset `{name}`; valid presets: {}", valid.join(", "))]
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// The names that exist.
        valid: Vec<String>,
    },
    /// A split name that is not train, valid or test.
    #[error("unknown split `{name}`; use train, valid or test")]
    UnknownSplit {
        /// The name asked for.
        name: String,
    },
    /// A system name that is not one of the five systems.
    #[error("unknown system `{name}`; valid systems: {}", valid.join(", "))]
    UnknownSystem {
        /// The name asked for.
        name: String,
        /// The names that exist.
        valid: Vec<String>,
    },
    /// A dataset specification that cannot be generated.
    #[error("invalid dataset spec: `{field}` {reason}")]
    InvalidSpec {
        /// The field of [`crate::DatasetSpec`] at fault.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// The integrator failed or produced a non-finite state.
    #[error("integrating {system}: {source}")]
    Ode {
        /// The system being integrated.
        system: String,
        /// The solver's error.
        #[source]
        source: latentdyn_ode::OdeError,
    },
    /// The generated trajectory is unusable (e.g. a constant channel cannot be standardised).
    #[error("generating {name}: {reason}")]
    Degenerate {
        /// The dataset's name.
        name: String,
        /// What went wrong.
        reason: String,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        field: impl Into<String>,
        reason: impl ToString,
    ) -> Self {
        DataError::Corrupt {
            path: path.into(),
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}
