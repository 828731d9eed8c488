use std::path::PathBuf;

use thiserror::Error;

/// Errors of the `nasbo-bench` crate.
#[derive(Debug, Error)]
pub enum BenchError {
    /// The file could not be opened or read (a truncated gzip stream shows up here).
    #[error("{}: {error}{}", path.display(), line.map(|l| format!(" (while reading line {l})")).unwrap_or_default())]
    Io {
        /// The file.
        path: PathBuf,
        /// The last line read successfully plus one, when known.
        line: Option<usize>,
        /// What went wrong.
        error: std::io::Error,
    },
    /// A line of the table is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was expected.
        message: String,
    },
    /// The table lacks columns that the requested dataset needs.
    #[error("{}: the table has no column(s) {} needed for dataset `{dataset}`; its columns are: {available}", path.display(), missing.join(", "))]
    MissingColumns {
        /// The file.
        path: PathBuf,
        /// The dataset asked for.
        dataset: String,
        /// The columns that are absent.
        missing: Vec<String>,
        /// The columns that are present, comma-separated.
        available: String,
    },
    /// The table lacks columns that a declared space or the table's settings name.
    #[error("{}: the table has no column(s) {} (needed for the {needed_by}); its columns are: {available}", path.display(), missing.join(", "))]
    MissingTableColumns {
        /// The file.
        path: PathBuf,
        /// What needs the columns.
        needed_by: String,
        /// The columns that are absent.
        missing: Vec<String>,
        /// The columns that are present, comma-separated.
        available: String,
    },
    /// A dataset name nasbo does not know.
    #[error("unknown dataset `{0}`: expected one of cifar10, cifar100, imagenet16")]
    UnknownDataset(String),
    /// The table does not cover the whole space.
    #[error("{}: {message}", path.display())]
    Incomplete {
        /// The file.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, BenchError>;
