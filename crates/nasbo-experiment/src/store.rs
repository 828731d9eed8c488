//! Where a study that workers share lives: a JSONL journal on one machine (the embedded
//! default, nothing to install), or a PostgreSQL database for many machines. Both sit behind
//! [`Store`]: a worker reads and changes the whole study in one exclusive step (asking,
//! telling), so two workers never receive the same trial and no finished trial is lost.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nasbo_core::journal::{read_journal, JournalLock, TrialLine};
use nasbo_search::Journal;

use crate::spec::usage;

/// A study as stored: the spec it records (none before its first trial) and its trials, in
/// order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudyState {
    /// The study's spec (the journal's header), as its creator recorded it.
    pub header: Option<serde_json::Value>,
    /// Every trial, pending ones included.
    pub trials: Vec<TrialLine>,
}

/// A study's storage, shared by any number of workers.
pub trait Store: Send {
    /// Where the study lives, for messages (`runs/x.jsonl`, `postgres://…?study=x`).
    fn describe(&self) -> String;

    /// Reads the study, lets `change` modify it, and writes what changed, all under the
    /// study's exclusive lock (a file lock, or a transaction holding an advisory lock): no
    /// other worker reads or writes the study in between. `change` may append trials, update
    /// existing ones and set the header; an error from it leaves the study as it was.
    fn transact(&mut self, change: &mut dyn FnMut(&mut StudyState) -> Result<()>) -> Result<()>;

    /// The study as it is now (read under the lock, so never a half-written state).
    fn read(&mut self) -> Result<StudyState> {
        let mut out = StudyState::default();
        self.transact(&mut |state| {
            out = state.clone();
            Ok(())
        })?;
        Ok(out)
    }

    /// Records that `worker` is still evaluating pending trial `trial`; `false` when the
    /// trial is no longer its own (it was handed to another worker after a silence, or
    /// finished by one).
    fn heartbeat(&mut self, trial: usize, worker: &str, at: f64) -> Result<bool> {
        let mut held = false;
        self.transact(&mut |state| {
            held = false;
            if let Some(t) = state.trials.get_mut(trial) {
                if let Some(lease) = t
                    .lease
                    .as_mut()
                    .filter(|l| l.worker == worker && t.status == nasbo_core::Status::Pending)
                {
                    lease.heartbeat_at = at;
                    held = true;
                }
            }
            Ok(())
        })?;
        Ok(held)
    }

    /// A second connection to the same study (for a heartbeat thread).
    fn reopen(&self) -> Result<Box<dyn Store>>;
}

/// Runs one study step's `change` on a copy of `before`: `None` when it changed nothing (no
/// write needed), the new state otherwise; a step that removes trials is refused. Every store
/// writes what this returns.
pub fn step(
    before: &StudyState,
    change: &mut dyn FnMut(&mut StudyState) -> Result<()>,
) -> Result<Option<StudyState>> {
    let mut after = before.clone();
    change(&mut after)?;
    if after == *before {
        return Ok(None);
    }
    if after.trials.len() < before.trials.len() {
        bail!("a study step may not remove trials");
    }
    Ok(Some(after))
}

/// Where a study lives, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StudyLocation {
    /// A JSONL journal.
    Journal(PathBuf),
    /// A study in a PostgreSQL database: the connection URL (without the `study` parameter)
    /// and the study's name.
    Postgres {
        /// The connection URL for the client.
        url: String,
        /// The study's name in the database.
        study: String,
    },
}

impl StudyLocation {
    /// `postgres://…?study=NAME` (or `postgresql://`) is a PostgreSQL study; anything else a
    /// journal's path.
    pub fn parse(text: &str) -> Result<StudyLocation> {
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Ok(StudyLocation::Journal(PathBuf::from(text)));
        }
        let (base, query) = text.split_once('?').unwrap_or((text, ""));
        let mut study = None;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("study", name)) => study = Some(name.to_string()),
                _ => rest.push(pair),
            }
        }
        let Some(study) = study.filter(|s| !s.is_empty()) else {
            return Err(usage(format!(
                "the study location {} names no study: add `?study=NAME` (for example \
                 postgres://nasbo@localhost:5432/nasbo?study=cifar-bo)",
                redact(text)
            )));
        };
        if !study
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(usage(format!(
                "the study name `{study}` may hold only letters, digits, `-`, `_` and `.`"
            )));
        }
        let url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        Ok(StudyLocation::Postgres { url, study })
    }

    /// Opens the study's storage (a journal's folder is created; a database's schema is
    /// created or migrated).
    pub fn open(&self, lock_timeout: Duration) -> Result<Box<dyn Store>> {
        match self {
            StudyLocation::Journal(path) => Ok(Box::new(JsonlStore::new(path, lock_timeout)?)),
            #[cfg(feature = "postgres")]
            StudyLocation::Postgres { url, study } => {
                Ok(Box::new(crate::pg_store::PgStore::connect(url, study)?))
            }
            #[cfg(not(feature = "postgres"))]
            StudyLocation::Postgres { .. } => Err(usage(
                "this nasbo was built without PostgreSQL support (the `postgres` feature)",
            )),
        }
    }

    /// The journal's path, for a journal.
    pub fn journal(&self) -> Option<&Path> {
        match self {
            StudyLocation::Journal(p) => Some(p),
            StudyLocation::Postgres { .. } => None,
        }
    }
}

impl std::fmt::Display for StudyLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StudyLocation::Journal(p) => write!(f, "{}", p.display()),
            StudyLocation::Postgres { url, study } => {
                let sep = if url.contains('?') { '&' } else { '?' };
                write!(f, "{}{sep}study={study}", redact(url))
            }
        }
    }
}

/// A URL with its password, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.split_once('@') {
        Some(pair) => pair,
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// A study in a JSONL journal, safe for several processes on one machine: every step takes
/// the journal's OS lock, reads it whole (a torn last line left by a killed writer is
/// dropped), and replaces it atomically (a new file renamed over the old), so a reader never
/// sees half a study and a `kill -9` at any moment leaves the last complete state.
#[derive(Debug, Clone)]
pub struct JsonlStore {
    path: PathBuf,
    lock_timeout: Duration,
}

impl JsonlStore {
    /// The study at `path` (its folder is created).
    pub fn new(path: &Path, lock_timeout: Duration) -> Result<JsonlStore> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create the folder {}", parent.display()))?;
        }
        Ok(JsonlStore {
            path: path.to_path_buf(),
            lock_timeout,
        })
    }
}

impl Store for JsonlStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn transact(&mut self, change: &mut dyn FnMut(&mut StudyState) -> Result<()>) -> Result<()> {
        let lock = JournalLock::acquire(&self.path, self.lock_timeout)?;
        let before = if self.path.exists() {
            let contents = read_journal::<String>(&self.path)?;
            StudyState {
                header: contents.header,
                trials: contents.trials,
            }
        } else {
            StudyState::default()
        };
        let Some(after) = step(&before, change)? else {
            return Ok(());
        };
        match &after.header {
            Some(header) => Journal::rewrite_with_header(&lock, header, &after.trials)?,
            None => Journal::rewrite_locked(&lock, &after.trials)?,
        }
        Ok(())
    }

    fn reopen(&self) -> Result<Box<dyn Store>> {
        Ok(Box::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            StudyLocation::parse("runs/a.jsonl").unwrap(),
            StudyLocation::Journal("runs/a.jsonl".into())
        );
        assert_eq!(
            StudyLocation::parse("postgres://u:pw@h:5432/db?study=s1&sslmode=disable").unwrap(),
            StudyLocation::Postgres {
                url: "postgres://u:pw@h:5432/db?sslmode=disable".into(),
                study: "s1".into()
            }
        );
        let shown = StudyLocation::parse("postgres://u:pw@h/db?study=s1")
            .unwrap()
            .to_string();
        assert_eq!(shown, "postgres://u:***@h/db?study=s1");
        let err = StudyLocation::parse("postgres://u@h/db").unwrap_err();
        assert!(err.to_string().contains("?study=NAME"), "{err}");
        assert!(StudyLocation::parse("postgres://u@h/db?study=a;drop").is_err());
    }
}
