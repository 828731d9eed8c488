//! The study's journal on disk: one JSON object per trial, one trial per line.
//!
//! Each line is built whole, checked (every number finite), written with one append, flushed
//! and fsynced before the next trial starts, so a crash loses at most the trial in flight. A
//! torn last line (a crash mid-write, even in the middle of a multi-byte character) is ignored
//! and cut away on resume.
//!
//! One process writes a journal at a time: a [`Journal`] holds a [`JournalLock`] for its
//! lifetime, an advisory lock of the operating system on the sidecar file `<journal>.lock`
//! (not on the journal, which [`Journal::rewrite`] replaces by a rename). The kernel releases
//! it when its process dies, so a lock file left on disk by a killed process never blocks
//! anyone; only a living holder does.
//!
//! The line of trial 0 may carry the study's spec as an extra field `"study"` (a JSON object;
//! see [`Journal::set_header`] and [`read_header`]). Readers that do not know it ignore it.

use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{JournalError, Trial};

/// Result of journal operations.
pub type Result<T> = std::result::Result<T, JournalError>;

/// How long [`Journal::create`], [`Journal::resume`] and [`Journal::rewrite`] wait for
/// another writer's lock before giving up with [`JournalError::Locked`].
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`JournalLock::acquire`] sleeps between two tries.
const LOCK_POLL: Duration = Duration::from_millis(10);

/// The raw line form of a trial, with the architecture as text.
pub type TrialLine = Trial<String>;

/// The sidecar lock file of a journal: `<journal>.lock` (`run.jsonl` → `run.jsonl.lock`).
pub fn lock_path(journal: &Path) -> PathBuf {
    let mut name = OsString::from(journal.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

/// How a failure to create or open the lock file of `journal` is reported: a folder that is
/// not writable (permissions, a read-only file system) is [`JournalError::NotWritable`],
/// naming the folder, never a lock held by someone; anything else is [`JournalError::Io`].
pub fn lock_file_error(journal: &Path, error: std::io::Error) -> JournalError {
    use std::io::ErrorKind;
    let lock = lock_path(journal);
    match error.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            let folder = match lock.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            JournalError::NotWritable {
                journal: journal.to_path_buf(),
                folder,
                error,
            }
        }
        _ => JournalError::Io { path: lock, error },
    }
}

/// An exclusive, advisory lock on one journal, held by the operating system on the file
/// `<journal>.lock` until this value is dropped or its process dies.
///
/// Every writer of a journal takes it ([`Journal`] does so itself); readers need not, since
/// lines are appended whole and rewrites are atomic renames. On Unix the lock file is removed
/// when the lock is released; a lock file left behind (by a killed process, or elsewhere)
/// is harmless.
#[derive(Debug)]
pub struct JournalLock {
    journal: PathBuf,
    lock_path: PathBuf,
    // Holds the kernel lock; closing it releases the lock.
    file: File,
}

impl JournalLock {
    /// Takes the lock of the journal at `journal` (the journal itself need not exist; its
    /// folder must), trying again every few milliseconds until `timeout` has passed, then
    /// failing with [`JournalError::Locked`]. A zero timeout tries once.
    pub fn acquire(journal: impl AsRef<Path>, timeout: Duration) -> Result<JournalLock> {
        let journal = journal.as_ref().to_path_buf();
        let lock_path = lock_path(&journal);
        let start = Instant::now();
        loop {
            let file = open_lock_file(&journal, &lock_path)?;
            match file.try_lock() {
                Ok(()) => {
                    // The holder before us may have removed the file after we opened it: a
                    // lock on a removed file locks nothing, so open the path again.
                    if same_file(&file, &lock_path) {
                        return Ok(JournalLock {
                            journal,
                            lock_path,
                            file,
                        });
                    }
                    continue;
                }
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(error)) => {
                    return Err(JournalError::Io {
                        path: lock_path,
                        error,
                    })
                }
            }
            drop(file);
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(JournalError::Locked {
                    path: journal,
                    waited_s: waited.as_secs_f64(),
                });
            }
            std::thread::sleep(LOCK_POLL.min(timeout - waited));
        }
    }

    /// The journal this lock guards.
    pub fn journal_path(&self) -> &Path {
        &self.journal
    }

    /// The lock file.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }
}

impl Drop for JournalLock {
    fn drop(&mut self) {
        // Removed while still locked, so nobody can lock this file after us; a process
        // that opened it before and locks it next sees it is gone and opens the path again.
        #[cfg(unix)]
        let _ = std::fs::remove_file(&self.lock_path);
        let _ = self.file.unlock();
    }
}

fn open_lock_file(journal: &Path, lock_path: &Path) -> Result<File> {
    let opened = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock_path);
    match opened {
        Ok(file) => Ok(file),
        // A lock file we may not write (left by another user) can still be locked.
        Err(error) => File::open(lock_path).map_err(|_| lock_file_error(journal, error)),
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, _path: &Path) -> bool {
    // The lock file is never removed there, so the file opened is the one at the path.
    true
}

/// An append-only JSONL journal of trials, locked against other writers for its lifetime.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    durable: bool,
    /// Byte length of the complete lines written: a failed write is cut back to it.
    len: u64,
    header: Option<serde_json::Value>,
    lock: JournalLock,
}

impl Journal {
    /// Creates a new journal; fails if the file exists unless `overwrite`. Waits up to
    /// [`DEFAULT_LOCK_TIMEOUT`] for another writer (see [`Journal::create_locked`]).
    pub fn create(path: impl AsRef<Path>, overwrite: bool) -> Result<Journal> {
        Journal::create_locked(path, overwrite, DEFAULT_LOCK_TIMEOUT)
    }

    /// Creates a new journal (and its folder), holding its lock: fails with
    /// [`JournalError::Exists`] if the file exists unless `overwrite`, and with
    /// [`JournalError::Locked`] if another writer keeps the lock for `timeout`. With
    /// `overwrite`, an existing journal is emptied only once the lock is held.
    pub fn create_locked(
        path: impl AsRef<Path>,
        overwrite: bool,
        timeout: Duration,
    ) -> Result<Journal> {
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
        let lock = JournalLock::acquire(&path, timeout)?;
        let mut options = OpenOptions::new();
        options.append(true);
        if overwrite {
            options.create(true);
        } else {
            // Checked again under the lock: another writer may have created it meanwhile.
            options.create_new(true);
        }
        let file = options.open(&path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::AlreadyExists {
                JournalError::Exists { path: path.clone() }
            } else {
                JournalError::Io {
                    path: path.clone(),
                    error,
                }
            }
        })?;
        file.set_len(0).map_err(|error| JournalError::Io {
            path: path.clone(),
            error,
        })?;
        Ok(Journal {
            path,
            file,
            durable: true,
            len: 0,
            header: None,
            lock,
        })
    }

    /// Opens an existing journal to continue it, waiting up to [`DEFAULT_LOCK_TIMEOUT`] for
    /// another writer (see [`Journal::resume_locked`]).
    pub fn resume(path: impl AsRef<Path>) -> Result<(Journal, Vec<TrialLine>)> {
        Journal::resume_locked(path, DEFAULT_LOCK_TIMEOUT)
    }

    /// Opens an existing journal to continue it, holding its lock (waiting up to `timeout`
    /// for another writer): returns the journal, positioned after the last complete line (a
    /// torn last line is removed), and the trials read. The study header, if any, is kept
    /// for later rewrites.
    pub fn resume_locked(
        path: impl AsRef<Path>,
        timeout: Duration,
    ) -> Result<(Journal, Vec<TrialLine>)> {
        let path = path.as_ref().to_path_buf();
        // A missing journal is reported as such, before any lock file is made beside it.
        std::fs::metadata(&path).map_err(|error| JournalError::Io {
            path: path.clone(),
            error,
        })?;
        let lock = JournalLock::acquire(&path, timeout)?;
        let contents = read_journal(&path)?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|error| JournalError::Io {
                path: path.clone(),
                error,
            })?;
        file.set_len(contents.good_len)
            .map_err(|error| JournalError::Io {
                path: path.clone(),
                error,
            })?;
        let journal = Journal {
            path,
            file,
            durable: true,
            len: contents.good_len,
            header: contents.header,
            lock,
        };
        Ok((journal, contents.trials))
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

    /// The lock this journal holds (proof for [`Journal::rewrite_locked`]).
    pub fn lock(&self) -> &JournalLock {
        &self.lock
    }

    /// The study spec written on the line of trial 0 (see [`Journal::set_header`]).
    pub fn header(&self) -> Option<&serde_json::Value> {
        self.header.as_ref()
    }

    /// Sets the study spec, a JSON object, that the line of trial 0 carries as its field
    /// `"study"`: written when trial 0 is appended, and by [`Journal::replace`]. Lines
    /// already on disk are not touched by [`Journal::append`].
    pub fn set_header(&mut self, header: serde_json::Value) -> Result<()> {
        if !header.is_object() {
            return Err(JournalError::BadValue {
                path: self.path.clone(),
                what: format!("a study header that is not a JSON object: {header}"),
            });
        }
        self.header = Some(header);
        Ok(())
    }

    /// Appends one trial and makes it durable. The line is checked first (every number
    /// finite, the cost not negative: [`JournalError::BadValue`] otherwise, and nothing is
    /// written), then written whole with one append; a failed write is cut away.
    pub fn append<A: Serialize>(&mut self, trial: &Trial<A>) -> Result<()> {
        let line = line_of(&self.path, trial, self.header.as_ref())?;
        let io = |error| JournalError::Io {
            path: self.path.clone(),
            error,
        };
        let written = self
            .file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush());
        if let Err(error) = written {
            // Best effort: leave no partial line behind for the next append to follow.
            let _ = self.file.set_len(self.len);
            return Err(io(error));
        }
        if self.durable {
            self.file.sync_data().map_err(io)?;
        }
        self.len += line.len() as u64;
        Ok(())
    }

    /// Replaces every line of this journal with `trials` (atomically, see
    /// [`Journal::rewrite_locked`]), keeping this journal's header; the journal then
    /// appends after them.
    pub fn replace<A: Serialize>(&mut self, trials: &[Trial<A>]) -> Result<()> {
        let len = write_atomic(&self.path, trials, self.header.as_ref())?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|error| JournalError::Io {
                path: self.path.clone(),
                error,
            })?;
        self.len = len;
        Ok(())
    }

    /// Rewrites the whole journal atomically (checks every trial, writes a temporary file,
    /// fsyncs it, renames it over the journal): used when a pending trial is completed by
    /// `tell`. The study header on the journal's first line is kept. Takes the journal's
    /// lock for the rewrite, waiting up to [`DEFAULT_LOCK_TIMEOUT`]; a caller that already
    /// holds the lock uses [`Journal::rewrite_locked`] or [`Journal::replace`].
    pub fn rewrite<A: Serialize>(path: impl AsRef<Path>, trials: &[Trial<A>]) -> Result<()> {
        let lock = JournalLock::acquire(path, DEFAULT_LOCK_TIMEOUT)?;
        Journal::rewrite_locked(&lock, trials)
    }

    /// [`Journal::rewrite`] of the journal whose lock the caller holds.
    pub fn rewrite_locked<A: Serialize>(lock: &JournalLock, trials: &[Trial<A>]) -> Result<()> {
        let path = lock.journal_path();
        let header = if path.exists() {
            read_header(path)?
        } else {
            None
        };
        write_atomic(path, trials, header.as_ref()).map(|_| ())
    }

    /// Rewrites (or creates) the journal whose lock the caller holds with `trials`, its first
    /// line carrying `header` as the study spec: the one write path of `ask` and `tell`.
    /// Atomic like [`Journal::rewrite`], and nothing is written unless every number passes
    /// the checks (finite, costs not negative) and the header is a JSON object.
    pub fn rewrite_with_header<A: Serialize>(
        lock: &JournalLock,
        header: &serde_json::Value,
        trials: &[Trial<A>],
    ) -> Result<()> {
        let path = lock.journal_path();
        if !header.is_object() {
            return Err(JournalError::BadValue {
                path: path.to_path_buf(),
                what: format!("a study header that is not a JSON object: {header}"),
            });
        }
        write_atomic(path, trials, Some(header)).map(|_| ())
    }
}

/// Writes `trials` to a temporary file beside `path`, fsyncs it and renames it over `path`;
/// returns the byte length written. Nothing is written unless every trial passes the checks.
fn write_atomic<A: Serialize>(
    path: &Path,
    trials: &[Trial<A>],
    header: Option<&serde_json::Value>,
) -> Result<u64> {
    let mut text = String::new();
    for t in trials {
        text.push_str(&line_of(path, t, header)?);
    }
    let mut tmp = OsString::from(path.as_os_str());
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |error| JournalError::Io { path: p, error }
    };
    let mut file = File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(text.as_bytes()).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io(path))?;
    // Make the rename itself durable.
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    Ok(text.len() as u64)
}

/// The whole line of one trial, newline included, with the study header on trial 0; refuses
/// a number that is not finite, or a negative cost.
fn line_of<A: Serialize>(
    path: &Path,
    trial: &Trial<A>,
    header: Option<&serde_json::Value>,
) -> Result<String> {
    check_values(path, trial)?;
    let mut line = serde_json::to_string(trial).expect("trials serialise");
    if let (0, Some(header)) = (trial.trial, header) {
        // A trial is a JSON object: add the header as its last field.
        debug_assert!(line.ends_with('}'));
        line.pop();
        line.push_str(",\"study\":");
        line.push_str(&header.to_string());
        line.push('}');
    }
    line.push('\n');
    Ok(line)
}

fn check_values<A>(path: &Path, t: &Trial<A>) -> Result<()> {
    let bad = |what: String| {
        Err(JournalError::BadValue {
            path: path.to_path_buf(),
            what: format!("{what} (trial {})", t.trial),
        })
    };
    let mut numbers = vec![
        ("cost_s".to_string(), t.cost_s),
        ("started_at".to_string(), t.started_at),
        ("finished_at".to_string(), t.finished_at),
    ];
    numbers.extend(t.objective.map(|v| ("objective".to_string(), v)));
    numbers.extend(t.hypervolume.map(|v| ("hypervolume".to_string(), v)));
    numbers.extend(
        t.reported
            .iter()
            .map(|(k, v)| (format!("reported.{k}"), *v)),
    );
    for (what, v) in numbers {
        if !v.is_finite() {
            return bad(format!("{what} = {v}"));
        }
    }
    if t.cost_s < 0.0 {
        return bad(format!("cost_s = {} (a cost cannot be negative)", t.cost_s));
    }
    Ok(())
}

/// What a journal holds: its trials, the study header of its first line, and the byte length
/// of its valid prefix (a torn last line excluded).
#[derive(Debug, Clone, PartialEq)]
pub struct JournalContents<A> {
    /// Every complete trial, in order.
    pub trials: Vec<Trial<A>>,
    /// The `"study"` object of the line of trial 0, if it has one.
    pub header: Option<serde_json::Value>,
    /// Byte length of the complete lines.
    pub good_len: u64,
}

/// The optional header field of a trial line.
#[derive(Deserialize)]
struct HeaderField {
    #[serde(default)]
    study: Option<serde_json::Value>,
}

/// Reads every complete trial of a journal. Returns the trials and the byte length of the
/// valid prefix. The last line is dropped when it is torn (no final newline, or not a valid
/// record); a bad line elsewhere is an error naming it. See [`read_journal`] for the header.
pub fn read_lines<A: DeserializeOwned>(path: &Path) -> Result<(Vec<Trial<A>>, u64)> {
    read_journal(path).map(|c| (c.trials, c.good_len))
}

/// The study header of a journal (the `"study"` object on the line of trial 0), if any.
pub fn read_header(path: &Path) -> Result<Option<serde_json::Value>> {
    read_journal::<serde::de::IgnoredAny>(path).map(|c| c.header)
}

/// Reads a journal: its complete trials, its study header and the length of its valid
/// prefix, with the tolerance of [`read_lines`].
pub fn read_journal<A: DeserializeOwned>(path: &Path) -> Result<JournalContents<A>> {
    let bytes = std::fs::read(path).map_err(|error| JournalError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    parse_journal(&bytes, path)
}

/// Parses the bytes of a journal already in memory, with the tolerance of [`read_lines`];
/// `path` names it in errors. [`read_journal`] is this on the file's contents.
pub fn parse_journal<A: DeserializeOwned>(bytes: &[u8], path: &Path) -> Result<JournalContents<A>> {
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let mut trials = Vec::new();
    let mut header = None;
    let mut good_len = 0u64;
    let line_error = |line: usize, message: String| JournalError::Line {
        path: path.to_path_buf(),
        line,
        message,
    };
    for (i, line) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        let complete = line.ends_with(b"\n");
        // A crash mid-write leaves a torn last line, perhaps cut inside a character: ignore it.
        if last && !complete {
            break;
        }
        if line.trim_ascii().is_empty() {
            good_len += line.len() as u64;
            continue;
        }
        // JSON is UTF-8 text: a line that is not (a corrupted byte, even inside a field the
        // reader ignores) is no record, rather than a record read around the damage.
        let parsed = std::str::from_utf8(line)
            .map_err(|e| format!("the line is not UTF-8 text ({e})"))
            .and_then(|text| serde_json::from_str::<Trial<A>>(text).map_err(|e| e.to_string()));
        match parsed {
            Ok(trial) => {
                if trial.trial != trials.len() {
                    return Err(line_error(
                        i + 1,
                        format!(
                            "expected trial {}, found trial {}",
                            trials.len(),
                            trial.trial
                        ),
                    ));
                }
                if trial.trial == 0 {
                    // A header that cannot be read (the field given twice) is an error, never
                    // a study silently without its spec.
                    header = serde_json::from_slice::<HeaderField>(line)
                        .map_err(|e| {
                            line_error(i + 1, format!("the field `study` cannot be read: {e}"))
                        })?
                        .study;
                    if header.as_ref().is_some_and(|h| !h.is_object()) {
                        return Err(line_error(
                            i + 1,
                            "the field `study` is not a JSON object".to_string(),
                        ));
                    }
                }
                trials.push(trial);
                good_len += line.len() as u64;
            }
            // A complete last line that is not a record: also what a crash can leave.
            Err(_) if last => break,
            Err(reason) => return Err(line_error(i + 1, format!("not a trial record: {reason}"))),
        }
    }
    Ok(JournalContents {
        trials,
        header,
        good_len,
    })
}
