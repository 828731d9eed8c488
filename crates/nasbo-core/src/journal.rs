//! The study's journal on disk: one JSON object per trial, one trial per line.
//!
//! Each line is written, flushed and fsynced before the next trial starts, so a crash loses at
//! most the trial in flight. A torn last line (a crash mid-write) is ignored and cut away on
//! resume.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{JournalError, Trial};

/// Result of journal operations.
pub type Result<T> = std::result::Result<T, JournalError>;

/// An append-only JSONL journal of trials.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    durable: bool,
}

/// The raw line form of a trial, with the architecture as text.
pub type TrialLine = Trial<String>;

impl Journal {
    /// Creates a new journal; fails if the file exists unless `overwrite`.
    pub fn create(path: impl AsRef<Path>, overwrite: bool) -> Result<Journal> {
        let path = path.as_ref().to_path_buf();
        if path.exists() && !overwrite {
            return Err(JournalError::Exists { path });
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| JournalError::Io {
                path: parent.to_path_buf(),
                error,
            })?;
        }
        let file = File::create(&path).map_err(|error| JournalError::Io {
            path: path.clone(),
            error,
        })?;
        Ok(Journal {
            path,
            file,
            durable: true,
        })
    }

    /// Opens an existing journal to continue it: returns the journal, positioned after the
    /// last complete line (a torn last line is removed), and the trials read.
    pub fn resume(path: impl AsRef<Path>) -> Result<(Journal, Vec<TrialLine>)> {
        let path = path.as_ref().to_path_buf();
        let (trials, good_len) = read_lines(&path)?;
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|error| JournalError::Io {
                path: path.clone(),
                error,
            })?;
        file.set_len(good_len).map_err(|error| JournalError::Io {
            path: path.clone(),
            error,
        })?;
        let mut journal = Journal {
            path,
            file,
            durable: true,
        };
        journal.seek_end()?;
        Ok((journal, trials))
    }

    fn seek_end(&mut self) -> Result<()> {
        use std::io::Seek;
        self.file
            .seek(std::io::SeekFrom::End(0))
            .map(|_| ())
            .map_err(|error| JournalError::Io {
                path: self.path.clone(),
                error,
            })
    }

    /// Whether each line is fsynced before the next trial starts (the default). Benchmarks
    /// that run thousands of table lookups turn it off: a crash then loses the lines the
    /// operating system had not yet written, which `--resume` tolerates.
    pub fn set_durable(&mut self, durable: bool) {
        self.durable = durable;
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one trial and makes it durable.
    pub fn append<A: Serialize>(&mut self, trial: &Trial<A>) -> Result<()> {
        let mut line = serde_json::to_string(trial).expect("trials serialise");
        line.push('\n');
        let io = |error| JournalError::Io {
            path: self.path.clone(),
            error,
        };
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.flush().map_err(io)?;
        if self.durable {
            self.file.sync_data().map_err(io)?;
        }
        Ok(())
    }

    /// Rewrites the whole journal atomically (write to a temporary file, fsync, rename): used
    /// when a pending trial is completed by `tell`.
    pub fn rewrite<A: Serialize>(path: impl AsRef<Path>, trials: &[Trial<A>]) -> Result<()> {
        let path = path.as_ref();
        let tmp = path.with_extension("jsonl.tmp");
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |error| JournalError::Io { path: p, error }
        };
        let mut file = File::create(&tmp).map_err(io(&tmp))?;
        for t in trials {
            let mut line = serde_json::to_string(t).expect("trials serialise");
            line.push('\n');
            file.write_all(line.as_bytes()).map_err(io(&tmp))?;
        }
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    }
}

/// Reads every complete trial of a journal. Returns the trials and the byte length of the
/// valid prefix. The last line is dropped when it is torn (no final newline, or not a valid
/// record); a bad line elsewhere is an error naming it.
pub fn read_lines<A: DeserializeOwned>(path: &Path) -> Result<(Vec<Trial<A>>, u64)> {
    let text = std::fs::read_to_string(path).map_err(|error| JournalError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut trials = Vec::new();
    let mut good_len = 0u64;
    for (i, line) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        if line.trim().is_empty() {
            good_len += line.len() as u64;
            continue;
        }
        let parsed = serde_json::from_str::<Trial<A>>(line.trim_end());
        match parsed {
            Ok(trial) if line.ends_with('\n') => {
                if trial.trial != trials.len() {
                    return Err(JournalError::Line {
                        path: path.to_path_buf(),
                        line: i + 1,
                        message: format!(
                            "expected trial {}, found trial {}",
                            trials.len(),
                            trial.trial
                        ),
                    });
                }
                trials.push(trial);
                good_len += line.len() as u64;
            }
            // A crash mid-write leaves a torn last line: ignore it.
            _ if last => break,
            Ok(_) => unreachable!("only the last line can lack its newline"),
            Err(e) => {
                return Err(JournalError::Line {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: format!("not a trial record: {e}"),
                })
            }
        }
    }
    Ok((trials, good_len))
}
