//! End-to-end tests of shared studies: `nasbo search --workers N` (threads), `nasbo worker`
//! processes on one journal and on one PostgreSQL study, killed with SIGKILL at random and
//! restarted, and `nasbo export`. Every trial must end finished, once, with the value its
//! architecture deserves; none may stay pending.
//!
//! The PostgreSQL tests need a server: `NASBO_TEST_POSTGRES=$(bash tests/pg/start.sh)` (the
//! README's test command does it). Without the variable they fail, saying how to start one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn nasbo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nasbo"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn data() -> PathBuf {
    let dir = std::env::var_os("NASBO_DATA")
        .expect("set NASBO_DATA to the data folder (the one holding nb201/), as an absolute path");
    PathBuf::from(dir)
}

fn table() -> PathBuf {
    data().join("nb201/nb201_cifar10.csv.gz")
}

fn postgres() -> String {
    std::env::var("NASBO_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "this test needs a PostgreSQL server: set NASBO_TEST_POSTGRES to its URL, e.g. \
             NASBO_TEST_POSTGRES=$(bash tests/pg/start.sh) (apt-get install -y postgresql first)"
            )
        })
}

/// The journal's trial lines.
fn journal(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A trainer whose score is a function of the architecture alone (its checksum), after a
/// random sleep of 0 to 0.3 s: a result can be checked against the architecture it is for.
const TRAINER: &str = r#"sleep 0.$(( $(od -An -N1 -tu1 /dev/urandom) % 4 )); printf '{"objective": %s}\n' "$(printf %s "$1" | cksum | cut -d' ' -f1)""#;

fn checksum(arch: &str) -> f64 {
    let out = Command::new("sh")
        .arg("-c")
        .arg("printf %s \"$1\" | cksum | cut -d' ' -f1")
        .arg("sh")
        .arg(arch)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn trainer(dir: &Path) -> String {
    let path = dir.join("train.sh");
    std::fs::write(&path, TRAINER).unwrap();
    format!("sh {} {{arch}}", path.display())
}

/// Every trial finished once, with its architecture's value; distinct architectures; trials
/// numbered 0..n; none pending.
fn check_complete(lines: &[serde_json::Value], n: usize) {
    assert_eq!(lines.len(), n, "trials");
    let mut archs = BTreeSet::new();
    for (i, t) in lines.iter().enumerate() {
        assert_eq!(t["trial"], i, "{t}");
        assert_eq!(t["status"], "ok", "{t}");
        let arch = t["arch"].as_str().unwrap();
        assert!(archs.insert(arch.to_string()), "{arch} twice");
        assert_eq!(t["objective"].as_f64().unwrap(), checksum(arch), "{t}");
    }
}

fn worker(study: &str, command: &str, budget: usize, cwd: &Path) -> Child {
    nasbo()
        .current_dir(cwd)
        .args(["worker", "--study", study, "--space", "nb201"])
        .args(["--evaluator", "command", "--command", command])
        .args(["--strategy", "random", "--seed", "5", "--budget"])
        .arg(budget.to_string())
        .args(["--heartbeat-s", "1", "--max-retries", "50", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the nasbo binary runs")
}

/// Starts `n` workers, SIGKILLs a random one every 0.4 s for `chaos` and restarts it, then
/// lets them all finish. Returns how many were killed.
/// Trial folders of a database study go to the current folder: `cwd`.
fn run_with_kills(
    study: &str,
    command: &str,
    budget: usize,
    n: usize,
    chaos: Duration,
    cwd: &Path,
) -> usize {
    let mut workers: Vec<Child> = (0..n)
        .map(|_| worker(study, command, budget, cwd))
        .collect();
    let start = Instant::now();
    let mut kills = 0;
    let mut pick = 7usize;
    while start.elapsed() < chaos {
        std::thread::sleep(Duration::from_millis(400));
        pick = (pick * 31 + 11) % n;
        let w = &mut workers[pick];
        if w.try_wait().unwrap().is_none() {
            w.kill().unwrap();
            w.wait().unwrap();
            kills += 1;
        }
        workers[pick] = worker(study, command, budget, cwd);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for mut w in workers {
        loop {
            if let Some(status) = w.try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read;
                w.stderr.take().unwrap().read_to_string(&mut err).unwrap();
                assert!(status.success(), "a worker failed: {err}");
                break;
            }
            assert!(Instant::now() < deadline, "workers did not finish in 120 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    kills
}

#[test]
fn search_with_workers_threads_shares_the_trials_and_fills_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let command = trainer(dir.path());
    let out = dir.path().join("w.jsonl");
    let search = |budget: &str, extra: &[&str]| {
        nasbo()
            .args([
                "search",
                "--space",
                "nb201",
                "--evaluator",
                "command",
                "--command",
                &command,
            ])
            .args([
                "--strategy",
                "bo",
                "--budget",
                budget,
                "--seed",
                "1",
                "--workers",
                "3",
                "--out",
            ])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let run = search("12", &["--json"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(summary["trials"], 12);
    assert_eq!(summary["evaluated_here"], 12);
    let lines = journal(&out);
    check_complete(&lines, 12);
    assert_eq!(lines[0]["study"]["budget"], 12);
    assert_eq!(lines[0]["study"]["heartbeat-s"], 60.0);
    let workers: BTreeSet<&str> = lines
        .iter()
        .map(|t| t["lease"]["worker"].as_str().unwrap())
        .collect();
    assert!(
        workers.len() > 1,
        "one thread did all the work: {workers:?}"
    );
    // Continuing the finished study with another budget is refused, naming it.
    let again = search("30", &["--resume"]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("budget: 30 (study: 12)"),
        "{}",
        stderr(&again)
    );
    // And a new search on it without --resume or --overwrite too.
    let exists = search("12", &[]);
    assert_eq!(exists.status.code(), Some(1), "{}", stderr(&exists));
    assert!(
        stderr(&exists).contains("--overwrite"),
        "{}",
        stderr(&exists)
    );
}

#[test]
fn worker_processes_killed_at_random_on_a_journal_lose_and_repeat_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let command = trainer(dir.path());
    let study = dir.path().join("study.jsonl");
    let study = study.to_str().unwrap();
    let kills = run_with_kills(study, &command, 40, 3, Duration::from_secs(4), dir.path());
    assert!(kills >= 5, "only {kills} kills");
    let lines = journal(Path::new(study));
    check_complete(&lines, 40);
    // Some trial was taken over from a killed worker.
    assert!(
        lines
            .iter()
            .any(|t| t["lease"]["attempt"].as_u64().unwrap() > 1),
        "no trial was handed out again after {kills} kills"
    );
}

#[test]
fn a_worker_with_other_settings_is_refused_and_export_copies_the_study() {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("s.jsonl");
    let base = |budget: &str, strategy: &str| {
        let mut c = nasbo();
        c.args(["worker", "--study"])
            .arg(&study)
            .args(["--benchmark"])
            .arg(table())
            .args(["--budget", budget, "--strategy", strategy, "--quiet"]);
        c
    };
    let first = base("6", "re").output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let other = base("6", "bo").output().unwrap();
    assert_eq!(other.status.code(), Some(2), "{}", stderr(&other));
    assert!(
        stderr(&other).contains("strategy: \"bo\" (study: \"re\")"),
        "{}",
        stderr(&other)
    );
    let out = dir.path().join("copy.jsonl");
    let export = nasbo()
        .args(["export", "--study"])
        .arg(&study)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", stderr(&export));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(&study).unwrap()
    );
}

#[test]
fn postgres_workers_killed_at_random_lose_and_repeat_nothing() {
    let url = postgres();
    let dir = tempfile::tempdir().unwrap();
    let command = trainer(dir.path());
    let name = format!(
        "e2e-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let sep = if url.contains('?') { '&' } else { '?' };
    let study = format!("{url}{sep}study={name}");
    let kills = run_with_kills(&study, &command, 40, 4, Duration::from_secs(4), dir.path());
    assert!(kills >= 5, "only {kills} kills");
    let out = dir.path().join("pg.jsonl");
    let export = nasbo()
        .args(["export", "--study", &study, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", stderr(&export));
    let lines = journal(&out);
    check_complete(&lines, 40);
    assert_eq!(lines[0]["study"]["budget"], 40);
    // A worker with other settings is refused, naming the difference.
    let other = nasbo()
        .current_dir(dir.path())
        .args(["worker", "--study", &study, "--space", "nb201"])
        .args(["--evaluator", "command", "--command", &command])
        .args(["--strategy", "random", "--seed", "6", "--budget", "40"])
        .args(["--heartbeat-s", "1", "--max-retries", "50", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(2), "{}", stderr(&other));
    assert!(
        stderr(&other).contains("seed: 6 (study: 5)"),
        "{}",
        stderr(&other)
    );
}

#[test]
fn an_unreachable_postgres_study_is_a_clear_error() {
    let out = nasbo()
        .args([
            "export",
            "--study",
            "postgres://nobody@127.0.0.1:1/none?study=x",
            "--out",
        ])
        .arg(std::env::temp_dir().join("nasbo-never.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot connect to PostgreSQL at postgres://nobody@127.0.0.1:1/none"),
        "{err}"
    );
    let out = nasbo()
        .args(["export", "--study", "postgres://u@h/db", "--out", "x.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("?study=NAME"), "{}", stderr(&out));
}
