//! The journal on disk: one writer at a time (an OS lock the kernel drops with its process),
//! whole lines of finite numbers only, the study header on trial 0, torn last lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nasbo_core::journal::{
    lock_file_error, lock_path, read_header, read_journal, read_lines, Journal, JournalLock,
    TrialLine,
};
use nasbo_core::{JournalError, Status, Trial};
use serde_json::json;

/// A fresh, empty folder for one test (std only: no temp-dir crate).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasbo-journal-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn trial(i: usize) -> TrialLine {
    Trial {
        trial: i,
        arch: format!("arch-{i}-é"),
        status: Status::Ok,
        objective: Some(0.5 + i as f64 / 100.0),
        reported: BTreeMap::from([("test_acc".to_string(), 0.25)]),
        cost_s: 1.5,
        seed: 7,
        eval_seed: 11,
        started_at: 1000.0,
        finished_at: 1001.5,
        reason: None,
        feasible: None,
        hypervolume: None,
        clock: None,
        recommended: None,
        lease: None,
    }
}

fn expect_locked<T: std::fmt::Debug>(result: Result<T, JournalError>) -> f64 {
    match result {
        Err(JournalError::Locked { waited_s, .. }) => waited_s,
        other => panic!("expected Locked, got {other:?}"),
    }
}

#[test]
fn a_second_writer_waits_for_the_timeout_then_gets_locked() {
    let dir = scratch("second-writer");
    let path = dir.join("run.jsonl");
    let mut first = Journal::create(&path, false).unwrap();
    first.append(&trial(0)).unwrap();

    // Another thread opens its own lock file handle: the kernel lock conflicts as between
    // two processes.
    let p = path.clone();
    let (waited, elapsed) = std::thread::spawn(move || {
        let start = Instant::now();
        let waited = expect_locked(Journal::resume_locked(&p, Duration::from_millis(300)));
        (waited, start.elapsed())
    })
    .join()
    .unwrap();
    assert!((0.3..2.0).contains(&waited), "waited {waited} s");
    assert!(elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2));
    let err = Journal::resume_locked(&path, Duration::ZERO).unwrap_err();
    assert!(
        err.to_string().contains("being written by another process"),
        "{err}"
    );

    // Overwriting is refused too, and the journal is not emptied: the lock comes first.
    expect_locked(Journal::create_locked(
        &path,
        true,
        Duration::from_millis(50),
    ));
    expect_locked(JournalLock::acquire(&path, Duration::ZERO));
    assert!(matches!(
        Journal::create_locked(&path, false, Duration::ZERO),
        Err(JournalError::Exists { .. })
    ));
    assert_eq!(read_lines::<String>(&path).unwrap().0, vec![trial(0)]);
    first.append(&trial(1)).unwrap();
    assert_eq!(read_lines::<String>(&path).unwrap().0.len(), 2);
}

#[test]
fn dropping_the_lock_lets_the_waiting_writer_proceed() {
    let dir = scratch("release");
    let path = dir.join("run.jsonl");
    let mut first = Journal::create(&path, false).unwrap();
    first.append(&trial(0)).unwrap();
    let p = path.clone();
    let waiter = std::thread::spawn(move || {
        let start = Instant::now();
        let (mut journal, trials) = Journal::resume_locked(&p, Duration::from_secs(10)).unwrap();
        journal.append(&trial(trials.len())).unwrap();
        start.elapsed()
    });
    std::thread::sleep(Duration::from_millis(300));
    first.append(&trial(1)).unwrap();
    drop(first);
    let waited = waiter.join().unwrap();
    assert!(waited >= Duration::from_millis(250), "waited {waited:?}");
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    // The waiter read both trials of the first writer and appended the third after them.
    let (trials, _) = read_lines::<String>(&path).unwrap();
    assert_eq!(trials, vec![trial(0), trial(1), trial(2)]);

    // A bare lock too: held, then dropped.
    let lock = JournalLock::acquire(&path, Duration::ZERO).unwrap();
    assert_eq!(lock.journal_path(), path);
    assert_eq!(lock.lock_path(), lock_path(&path));
    expect_locked(JournalLock::acquire(&path, Duration::from_millis(20)));
    drop(lock);
    JournalLock::acquire(&path, Duration::ZERO).unwrap();
}

#[test]
fn a_stale_lock_file_does_not_block() {
    let dir = scratch("stale");
    let path = dir.join("run.jsonl");
    assert_eq!(lock_path(&path), dir.join("run.jsonl.lock"));
    std::fs::write(lock_path(&path), "12345\n").unwrap();
    let start = Instant::now();
    let mut journal = Journal::create_locked(&path, false, Duration::ZERO).unwrap();
    journal.append(&trial(0)).unwrap();
    drop(journal);
    std::fs::write(lock_path(&path), "").unwrap();
    let (_journal, trials) = Journal::resume_locked(&path, Duration::ZERO).unwrap();
    assert_eq!(trials, vec![trial(0)]);
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// Not a test on its own: when `NASBO_TEST_HOLD_LOCK` names a journal, takes its lock, writes
/// `<journal>.held` to say so and sleeps until killed (the child of the next test).
#[test]
fn helper_hold_lock_until_killed() {
    let Some(path) = std::env::var_os("NASBO_TEST_HOLD_LOCK") else {
        return;
    };
    let path = PathBuf::from(path);
    let _journal = Journal::create_locked(&path, true, Duration::ZERO).unwrap();
    std::fs::write(path.with_extension("held"), "").unwrap();
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn a_writer_killed_with_sigkill_does_not_block_the_next() {
    let dir = scratch("killed");
    let path = dir.join("run.jsonl");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_hold_lock_until_killed",
            "--test-threads=1",
        ])
        .env("NASBO_TEST_HOLD_LOCK", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !path.with_extension("held").exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child exited ({status}) before taking the lock");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the child never took the lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The child holds it.
    expect_locked(Journal::resume_locked(&path, Duration::from_millis(100)));
    child.kill().unwrap(); // SIGKILL on Unix: no destructor runs.
    child.wait().unwrap();
    let start = Instant::now();
    let (mut journal, trials) = Journal::resume_locked(&path, Duration::from_secs(5)).unwrap();
    assert!(trials.is_empty());
    assert!(start.elapsed() < Duration::from_secs(1));
    journal.append(&trial(0)).unwrap();
}

fn bad_values() -> Vec<(TrialLine, &'static str)> {
    let mut cases = Vec::new();
    let mut t = trial(1);
    t.cost_s = f64::NAN;
    cases.push((t, "cost_s = NaN"));
    let mut t = trial(1);
    t.cost_s = -2.0;
    cases.push((t, "cost_s = -2"));
    let mut t = trial(1);
    t.objective = Some(f64::INFINITY);
    cases.push((t, "objective = inf"));
    let mut t = trial(1);
    t.reported.insert("latency_ms".into(), f64::NEG_INFINITY);
    cases.push((t, "reported.latency_ms = -inf"));
    let mut t = trial(1);
    t.started_at = f64::NAN;
    cases.push((t, "started_at = NaN"));
    let mut t = trial(1);
    t.finished_at = f64::INFINITY;
    cases.push((t, "finished_at = inf"));
    let mut t = trial(1);
    t.hypervolume = Some(f64::NAN);
    cases.push((t, "hypervolume = NaN"));
    cases
}

#[test]
fn non_finite_or_negative_values_are_refused_and_nothing_is_written() {
    let dir = scratch("bad-values");
    let path = dir.join("run.jsonl");
    let mut journal = Journal::create(&path, false).unwrap();
    journal.append(&trial(0)).unwrap();
    let before = std::fs::read(&path).unwrap();
    for (bad, what) in bad_values() {
        match journal.append(&bad) {
            Err(JournalError::BadValue { path: p, what: w }) => {
                assert_eq!(p, path);
                assert!(w.starts_with(what), "{w} should start with {what}");
            }
            other => panic!("{what}: expected BadValue, got {other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), before, "{what}");
        match Journal::replace(&mut journal, &[trial(0), bad.clone()]) {
            Err(JournalError::BadValue { .. }) => {}
            other => panic!("{what}: expected BadValue, got {other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), before, "{what}");
    }
    // A pending trial has no objective: that is fine.
    let mut pending = trial(1);
    pending.status = Status::Pending;
    pending.objective = None;
    pending.cost_s = 0.0;
    journal.append(&pending).unwrap();
    drop(journal);
    let (bad, _) = bad_values().remove(0);
    assert!(matches!(
        Journal::rewrite(&path, &[trial(0), bad]),
        Err(JournalError::BadValue { .. })
    ));
    let (trials, _) = read_lines::<String>(&path).unwrap();
    assert_eq!(trials, vec![trial(0), pending]);
}

#[test]
fn the_study_header_rides_on_trial_0_through_create_append_and_rewrite() {
    let dir = scratch("header");
    let path = dir.join("run.jsonl");
    let spec = json!({"space": "nb201", "objectives": ["val_acc"], "seed": 7});
    let mut journal = Journal::create(&path, false).unwrap();
    assert!(matches!(
        journal.set_header(json!([1, 2])),
        Err(JournalError::BadValue { .. })
    ));
    journal.set_header(spec.clone()).unwrap();
    journal.append(&trial(0)).unwrap();
    journal.append(&trial(1)).unwrap();
    drop(journal);

    // Only the first line carries it; old readers (plain trials) ignore it.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("\"study\":{"), "{}", lines[0]);
    assert!(!lines[1].contains("\"study\""), "{}", lines[1]);
    let old_reader: Trial<String> = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(old_reader, trial(0));
    assert_eq!(read_header(&path).unwrap(), Some(spec.clone()));
    let contents = read_journal::<String>(&path).unwrap();
    assert_eq!(contents.trials, vec![trial(0), trial(1)]);
    assert_eq!(contents.header, Some(spec.clone()));
    assert_eq!(contents.good_len, text.len() as u64);
    assert_eq!(read_lines::<String>(&path).unwrap().0.len(), 2);

    // Resume keeps it; a rewrite through the handle keeps it; and so does a rewrite by path.
    let (mut journal, mut trials) = Journal::resume(&path).unwrap();
    assert_eq!(journal.header(), Some(&spec));
    trials[1].objective = Some(0.9);
    journal.replace(&trials).unwrap();
    journal.append(&trial(2)).unwrap();
    assert_eq!(read_header(&path).unwrap(), Some(spec.clone()));
    trials.push(trial(2));
    trials[0].cost_s = 3.0;
    Journal::rewrite_locked(journal.lock(), &trials).unwrap();
    drop(journal);
    assert_eq!(read_journal::<String>(&path).unwrap().trials, trials);
    assert_eq!(read_header(&path).unwrap(), Some(spec.clone()));
    Journal::rewrite(&path, &trials[..1]).unwrap();
    assert_eq!(read_header(&path).unwrap(), Some(spec));

    // A journal without one has none.
    let plain = dir.join("plain.jsonl");
    Journal::create(&plain, false)
        .unwrap()
        .append(&trial(0))
        .unwrap();
    assert_eq!(read_header(&plain).unwrap(), None);
}

#[test]
fn a_line_torn_inside_a_multibyte_character_is_ignored_and_cut_on_resume() {
    let dir = scratch("torn-utf8");
    let path = dir.join("run.jsonl");
    let mut journal = Journal::create(&path, false).unwrap();
    journal.append(&trial(0)).unwrap();
    journal.append(&trial(1)).unwrap();
    drop(journal);
    let full = std::fs::read(&path).unwrap();
    let first_len = full.iter().position(|&b| b == b'\n').unwrap() + 1;
    // "é" is two bytes (0xC3 0xA9): cut between them, in the second line's arch.
    let e = full[first_len..]
        .iter()
        .position(|&b| b == 0xC3)
        .map(|p| first_len + p)
        .unwrap();
    std::fs::write(&path, &full[..e + 1]).unwrap();
    assert!(std::str::from_utf8(&std::fs::read(&path).unwrap()).is_err());

    let contents = read_journal::<String>(&path).unwrap();
    assert_eq!(contents.trials, vec![trial(0)]);
    assert_eq!(contents.good_len, first_len as u64);
    let (mut journal, trials) = Journal::resume(&path).unwrap();
    assert_eq!(trials, vec![trial(0)]);
    assert_eq!(std::fs::read(&path).unwrap().len(), first_len);
    journal.append(&trial(1)).unwrap();
    drop(journal);
    assert_eq!(std::fs::read(&path).unwrap(), full);
}

#[test]
fn a_read_only_folder_is_named_as_not_writable_not_as_locked() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("read-only");
    let folder = dir.join("ro");
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join("run.jsonl");
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permissions: then only the classification of the error is checked.
    let writable = std::fs::write(folder.join("probe"), "").is_ok();
    let err = if writable {
        lock_file_error(
            &path,
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        )
    } else {
        JournalLock::acquire(&path, Duration::from_secs(5)).unwrap_err()
    };
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    let message = err.to_string();
    assert!(
        matches!(err, JournalError::NotWritable { ref folder, .. } if folder == path.parent().unwrap()),
        "{err:?}"
    );
    assert!(
        message.contains(&format!("{} is not writable", folder.display())),
        "{message}"
    );
    assert!(!message.contains("another process"), "{message}");
    // Other failures stay plain I/O errors naming the lock file.
    let other = lock_file_error(&path, std::io::Error::from(std::io::ErrorKind::NotFound));
    assert!(
        matches!(other, JournalError::Io { path: ref p, .. } if p == &lock_path(&path)),
        "{other:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_lock_on_a_file_that_is_being_removed_is_retaken() {
    // Many threads take and drop the lock in turn; each append must see the count of lines
    // written before it, which only holds if no two ever hold the lock at once (the lock file
    // is removed on release, and a waiter that locked the removed file must open it again).
    let dir = scratch("churn");
    let path: PathBuf = dir.join("run.jsonl");
    Journal::create(&path, false).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let (mut journal, trials) =
                        Journal::resume_locked(&path, Duration::from_secs(30)).unwrap();
                    journal.append(&trial(trials.len())).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (trials, _) = read_lines::<String>(&path).unwrap();
    assert_eq!(trials.len(), 100);
    check_is_folder(&dir);
}

fn check_is_folder(dir: &Path) {
    assert!(dir.is_dir());
}
