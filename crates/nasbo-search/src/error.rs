use std::path::PathBuf;

use thiserror::Error;

/// Errors of the `nasbo-search` crate.
#[derive(Debug, Error)]
pub enum SearchError {
    /// Reading or writing the journal failed.
    #[error("{}: {error}", path.display())]
    Io {
        /// The journal file.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
    /// A journal line (other than a torn last line) is not a valid trial record.
    #[error("{}:{line}: {message}", path.display())]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The journal was written by a different run than the one resuming it.
    #[error("cannot resume {}: {message}", path.display())]
    ResumeMismatch {
        /// The journal file.
        path: PathBuf,
        /// What differs.
        message: String,
    },
    /// The journal exists and neither resume nor overwrite was asked for.
    #[error("{} already exists: pass --resume to continue it, or choose another --out", path.display())]
    JournalExists {
        /// The journal file.
        path: PathBuf,
    },
    /// A budget or option that makes no sense.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An architecture from the space's code was rejected by the space.
    #[error(transparent)]
    Arch(#[from] nasbo_arch::ArchError),
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
