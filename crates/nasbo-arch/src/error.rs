use std::path::PathBuf;

use thiserror::Error;

/// Errors of the `nasbo-arch` crate.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ArchError {
    /// A textual architecture could not be parsed.
    #[error("cannot parse architecture `{input}`: {reason}")]
    Parse {
        /// The text that failed to parse.
        input: String,
        /// What was expected instead.
        reason: String,
    },
    /// An architecture value breaks the rules of its space.
    #[error("invalid architecture: {0}")]
    Invalid(String),
    /// An index outside the space.
    #[error("index {index} is out of range: the space has {size} architectures")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// How many architectures the space has.
        size: usize,
    },
    /// A declared search-space file is malformed; the position is 1-based.
    #[error("{}:{line}:{column}: {message}", path.display())]
    SpaceFile {
        /// The file (or the name given to a string read in place of a file).
        path: PathBuf,
        /// Line of the problem.
        line: usize,
        /// Column of the problem, in characters.
        column: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, ArchError>;
