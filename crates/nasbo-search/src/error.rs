use std::path::PathBuf;

use thiserror::Error;

/// Errors of the `nasbo-search` crate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SearchError {
    /// Reading or writing the journal failed.
    #[error(transparent)]
    Journal(#[from] nasbo_core::JournalError),
    /// The journal was written by a different run than the one resuming it.
    #[error("cannot resume {}: {message}", path.display())]
    ResumeMismatch {
        /// The journal file.
        path: PathBuf,
        /// What differs.
        message: String,
    },
    /// A budget or option that makes no sense.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A setting that makes no sense.
    #[error(transparent)]
    Invalid(#[from] nasbo_core::ConfigError),
    /// An architecture from the space's code was rejected by the space.
    #[error(transparent)]
    Arch(#[from] nasbo_core::ArchError),
    /// A strategy broke its contract (for example proposed an architecture twice).
    #[error("strategy `{strategy}` misbehaved: {message}")]
    Strategy {
        /// The strategy's name.
        strategy: String,
        /// What it did.
        message: String,
    },
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, SearchError>;
