//! The crate's error types.

use thiserror::Error;

/// Errors from fitting, updating and querying a Gaussian process.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GpError {
    /// The parameters failed their check.
    #[error(transparent)]
    Params(#[from] GpParamsError),
    /// An error reported by linfa.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
    /// The dataset holds no sample.
    #[error("the dataset holds no sample")]
    NoSamples,
    /// Records and targets disagree in length, or inputs in width.
    #[error("shape mismatch: expected {expected}, got {got}")]
    ShapeMismatch {
        /// What was expected.
        expected: String,
        /// What was given.
        got: String,
    },
    /// An input or target is NaN or infinite.
    #[error("non-finite {what} at row {row}")]
    NonFinite {
        /// "input" or "target".
        what: &'static str,
        /// The offending row.
        row: usize,
    },
    /// The covariance matrix stayed indefinite even with the largest jitter.
    #[error("Cholesky factorisation failed at pivot {pivot} even with jitter {jitter:e}")]
    NotPositiveDefinite {
        /// The failing pivot.
        pivot: usize,
        /// The largest jitter tried.
        jitter: f64,
    },
    /// Every hyperparameter optimisation start failed.
    #[error("hyperparameter optimisation failed: {0}")]
    Optimisation(String),
}

/// Errors in the model's parameters; each variant names one bad setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum GpParamsError {
    /// `restarts` must be at least one (it counts every optimiser start).
    #[error("restarts must be at least 1")]
    ZeroRestarts,
    /// `max_iters` must be at least one when optimising.
    #[error("max_iters must be at least 1")]
    ZeroIterations,
    /// The initial hyperparameters name a kernel of another kind.
    #[error("the initial hyperparameters belong to another kernel kind")]
    KernelMismatch,
    /// An initial hyperparameter is not finite and positive.
    #[error("initial hyperparameters must be finite and positive")]
    InvalidHyperparameters,
    /// Fixed hyperparameters (no optimisation) need initial hyperparameters.
    #[error("fixed hyperparameters need initial_hyperparameters")]
    MissingHyperparameters,
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, GpError>;
