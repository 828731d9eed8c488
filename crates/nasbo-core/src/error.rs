use std::path::PathBuf;

use thiserror::Error;

/// Errors of the `nasbo-core` crate.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ArchError {
    /// A textual architecture could not be parsed.
    #[error("cannot parse architecture {}: {reason}", quoted(input))]
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

/// An option or setting that makes no sense (a budget of zero trials, a NaN rate): the message
/// names the value and what was expected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// Reading or writing a study's journal failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The operating system refused a read or write.
    #[error("{}: {error}", path.display())]
    Io {
        /// The journal file (or its folder, or its lock).
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
    /// A journal line (other than a torn last line) is not a valid record.
    #[error("{}:{line}: {message}", path.display())]
    Line {
        /// The journal file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The journal exists and the caller asked for a new one.
    #[error("{} already exists", path.display())]
    Exists {
        /// The journal file.
        path: PathBuf,
    },
    /// Another process holds the journal's lock and did not release it in time.
    #[error(
        "{} is being written by another process (waited {waited_s} s for its lock)",
        path.display()
    )]
    Locked {
        /// The journal file.
        path: PathBuf,
        /// How long this process waited.
        waited_s: f64,
    },
    /// The journal's lock file cannot be created or opened because its folder is not
    /// writable (a read-only folder or file system): nothing holds the lock, the journal
    /// just cannot be written there.
    #[error(
        "cannot lock {}: the folder {} is not writable ({error})",
        journal.display(),
        folder.display()
    )]
    NotWritable {
        /// The journal file.
        journal: PathBuf,
        /// The folder that refused the lock file.
        folder: PathBuf,
        /// The operating system's message.
        error: std::io::Error,
    },
    /// A value that cannot be written (a NaN or infinite number): refused before it reaches
    /// the file, so no reader ever meets it.
    #[error("{}: refusing to record {what}", path.display())]
    BadValue {
        /// The journal file.
        path: PathBuf,
        /// The field and its value.
        what: String,
    },
}

/// `text` quoted in backticks as an error message shows it: whole up to 200 characters; a
/// longer one (a file's contents passed as an argument, say) by its first 120 and last 40
/// characters and its length, so that an error never floods a terminal. The error value
/// itself keeps the whole text.
pub fn quoted(text: &str) -> String {
    const WHOLE: usize = 200;
    let n = text.chars().count();
    if n <= WHOLE {
        return format!("`{text}`");
    }
    let head: String = text.chars().take(120).collect();
    let tail: String = text.chars().skip(n - 40).collect();
    format!("`{head} … {tail}` ({n} characters)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_inputs_are_quoted_by_their_ends_and_length() {
        assert_eq!(quoted("|nor_conv_3x3~0|"), "`|nor_conv_3x3~0|`");
        let long = format!("{}{}", "a".repeat(96_000), "xyz");
        let shown = ArchError::Parse {
            input: long.clone(),
            reason: "expected 6 operations".into(),
        }
        .to_string();
        assert!(shown.len() < 300, "{} bytes", shown.len());
        assert!(
            shown.contains("axyz` (96003 characters): expected 6 operations"),
            "{shown}"
        );
        // Multi-byte characters are cut at character boundaries.
        assert!(quoted(&"é".repeat(500)).ends_with("(500 characters)"));
    }
}
