//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading data, building a device or training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A data file is corrupt or not in the expected format.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A data set was found in none of the places searched.
    #[error("data set {dataset} not found; tried: {}", tried.join(", "))]
    DataNotFound {
        /// The data set's name.
        dataset: String,
        /// Every place searched, with how it was chosen.
        tried: Vec<String>,
    },
    /// The requested device cannot be used.
    #[error("device {device}: {message}")]
    Device {
        /// The device asked for.
        device: String,
        /// Why it cannot be used.
        message: String,
    },
    /// A bad parameter.
    #[error("invalid parameter: {0}")]
    Params(String),
    /// A configuration value that cannot be meant (a zero epoch count, a NaN learning rate,
    /// an empty data split, …), refused before anything is built or trained.
    #[error("invalid {name}: {value} (expected {expected})")]
    Invalid {
        /// The setting, as the library names it (`epochs`, `lr`, `train_limit`, …).
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// What a usable value is.
        expected: &'static str,
    },
    /// A search space or one of its architectures cannot be trained (for a declared space: a
    /// decision that is no layer, with the file and line that declare it).
    #[error(transparent)]
    Space(#[from] nasbo_core::ArchError),
    /// A checkpoint or weights file could not be written or read.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Training diverged (the loss became NaN or infinite).
    #[error("training diverged: loss {loss} at epoch {epoch}, step {step}")]
    Diverged {
        /// The non-finite loss.
        loss: f64,
        /// The epoch (0-based).
        epoch: usize,
        /// The step within the epoch.
        step: usize,
    },
    /// Training ran past its time limit.
    #[error("time limit of {limit_s} s exceeded after {elapsed_s:.1} s (epoch {epoch})")]
    TimeLimit {
        /// The limit in seconds.
        limit_s: f64,
        /// Seconds spent.
        elapsed_s: f64,
        /// The epoch (0-based) during which it ran out.
        epoch: usize,
    },
}

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(
        name: &'static str,
        value: impl std::fmt::Display,
        expected: &'static str,
    ) -> Self {
        TrainError::Invalid {
            name,
            value: value.to_string(),
            expected,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        TrainError::Format {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, TrainError>;
