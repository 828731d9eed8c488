//! End-to-end tests of `nasbo search --evaluator command`: tiny shell scripts as trainers (good
//! results, exits with an error, malformed results, NaN, a run past the timeout) on every kind
//! of space, and the Python example trainer (examples/command-trainer) for two trials.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn nasbo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nasbo"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The journal's trial lines.
fn journal(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Writes a shell script `name` into `dir` and returns the command that runs it with the
/// placeholders as its arguments: `$1` arch, `$2` trial, `$3` seed, `$4` trial folder.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    format!(
        "sh {} {{arch}} {{trial}} {{seed}} {{trial_dir}}",
        path.display()
    )
}

/// A trainer that keeps what it was given and scores trial `n` with `50 + n`.
const RECORDING: &str = r#"
printf '%s' "$1" > "$4/arch.txt"
test "$1" = "$NASBO_ARCH" && test "$2" = "$NASBO_TRIAL" && test "$3" = "$NASBO_SEED" && test "$4" = "$NASBO_TRIAL_DIR" || { echo "env differs" >&2; exit 9; }
echo "working on $1" >&2
echo "epoch 1 of 1"
echo "{\"objective\": $(( $2 + 50 )), \"reported\": {\"test_acc\": 1.5}, \"cost_s\": 2}"
echo
"#;

fn search(spec: &[&str], command: &str, out: &Path, extra: &[&str]) -> Output {
    nasbo()
        .arg("search")
        .args(spec)
        .args(["--evaluator", "command", "--command", command, "--quiet"])
        .args(["--strategy", "random", "--seed", "3", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("the nasbo binary runs")
}

#[test]
fn a_shell_trainer_scores_every_space_with_logs_in_the_trial_folders() {
    let dir = tempfile::tempdir().unwrap();
    let command = script(dir.path(), "train.sh", RECORDING);
    let tiny = root().join("datasets/declared/tiny.toml");
    let spaces: [(&str, Vec<&str>); 3] = [
        ("nb201", vec!["--space", "nb201"]),
        ("nasnet", vec!["--space", "nasnet"]),
        ("declared", vec!["--space-file", tiny.to_str().unwrap()]),
    ];
    for (name, flags) in spaces {
        let path = dir.path().join(format!("{name}.jsonl"));
        let out = search(&flags, &command, &path, &["--budget", "3"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let lines = journal(&path);
        assert_eq!(lines.len(), 3, "{name}");
        assert_eq!(lines[0]["study"]["evaluator"], "command", "{name}");
        assert_eq!(lines[0]["study"]["command"], command.as_str(), "{name}");
        let trials = dir.path().join(format!("{name}.trials"));
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line["status"], "ok", "{name}: {line}");
            assert_eq!(line["objective"], 50.0 + i as f64, "{name}");
            assert_eq!(line["reported"]["test_acc"], 1.5, "{name}");
            assert_eq!(line["cost_s"], 2.0, "{name}");
            let folder = trials.join(i.to_string());
            // The architecture reached the trainer whole, as the journal writes it.
            let given = std::fs::read_to_string(folder.join("arch.txt")).unwrap();
            assert_eq!(line["arch"], given.as_str(), "{name}");
            let out_log = std::fs::read_to_string(folder.join("stdout.log")).unwrap();
            assert!(out_log.starts_with("epoch 1 of 1\n{"), "{name}: {out_log}");
            let err_log = std::fs::read_to_string(folder.join("stderr.log")).unwrap();
            assert_eq!(err_log, format!("working on {given}\n"), "{name}");
        }
    }

    // A resumed search numbers its trials on: folders 3 and 4, the earlier ones kept.
    let path = dir.path().join("declared.jsonl");
    let flags = ["--space-file", tiny.to_str().unwrap()];
    let out = search(&flags, &command, &path, &["--budget", "5", "--resume"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = journal(&path);
    assert_eq!(lines.len(), 5);
    for (i, line) in lines.iter().enumerate().skip(3) {
        assert_eq!(line["objective"], 50.0 + i as f64);
        let given =
            std::fs::read_to_string(dir.path().join(format!("declared.trials/{i}/arch.txt")))
                .unwrap();
        assert_eq!(line["arch"], given.as_str());
    }
    // Another command is another study.
    let other = script(dir.path(), "other.sh", RECORDING);
    let out = search(&flags, &other, &path, &["--budget", "6", "--resume"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("command:"), "{}", stderr(&out));
}

/// Trial 0 fails with exit 3, 1 prints no JSON, 2 a NaN objective, 3 runs past the timeout
/// (with a grandchild that would leave a file behind), 4 lacks its objective, 5 succeeds.
const FAULTY: &str = r#"
for i in $(seq 1 25); do echo "noise $i" >&2; done
case "$2" in
  0) echo "boom: out of memory at trial 0" >&2; exit 3 ;;
  1) echo "all done" ;;
  2) echo '{"objective": NaN}' ;;
  3) echo "sleeping" >&2; (sleep 2; touch "$4/late") & sleep 30 ;;
  4) echo '{"reported": {"test_acc": 3}}' ;;
  *) echo '{"objective": 77}' ;;
esac
"#;

#[test]
fn failures_are_failed_trials_that_keep_the_stderr_tail() {
    let dir = tempfile::tempdir().unwrap();
    let command = script(dir.path(), "faulty.sh", FAULTY);
    let path = dir.path().join("run.jsonl");
    let started = Instant::now();
    let out = search(
        &["--space", "nb201"],
        &command,
        &path,
        &["--budget", "6", "--trial-timeout-s", "1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(20));
    let lines = journal(&path);
    assert_eq!(lines.len(), 6);
    let reason = |i: usize| {
        assert_eq!(lines[i]["status"], "failed", "{}", lines[i]);
        assert!(lines[i]["objective"].is_null());
        lines[i]["reason"].as_str().unwrap().to_string()
    };
    let r = reason(0);
    assert!(r.contains("exited with status 3"), "{r}");
    assert!(r.contains("boom: out of memory at trial 0"), "{r}");
    // The last 20 lines of stderr, not more.
    assert!(r.contains("noise 25") && r.contains("noise 7\n"), "{r}");
    assert!(!r.contains("noise 6\n"), "{r}");
    assert!(r.contains("run.trials/0"), "{r}");
    let r = reason(1);
    assert!(
        r.contains("status 0") && r.contains("not JSON") && r.contains("all done"),
        "{r}"
    );
    let r = reason(2);
    assert!(r.contains("`objective` is NaN"), "{r}");
    let r = reason(3);
    assert!(
        r.contains("trial-timeout-s (1 s)") && r.contains("sleeping"),
        "{r}"
    );
    let cost = lines[3]["cost_s"].as_f64().unwrap();
    assert!((1.0..10.0).contains(&cost), "{cost}");
    let r = reason(4);
    assert!(r.contains("no `objective`"), "{r}");
    assert_eq!(lines[5]["status"], "ok");
    assert_eq!(lines[5]["objective"], 77.0);
    // The logs stay in the trial folders.
    let trials = dir.path().join("run.trials");
    let log = std::fs::read_to_string(trials.join("0/stderr.log")).unwrap();
    assert!(log.contains("noise 1\n") && log.contains("boom"), "{log}");
    assert_eq!(
        std::fs::read_to_string(trials.join("1/stdout.log")).unwrap(),
        "all done\n"
    );
    // The timeout killed the whole process group: the grandchild never wrote its file.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        !trials.join("3/late").exists(),
        "a grandchild outlived the timeout"
    );

    // Every trial failing is a failed search (exit 1) that says why.
    let path = dir.path().join("fail.jsonl");
    let out = search(
        &["--space", "nb201"],
        "echo 'cannot import torch' >&2; exit 3",
        &path,
        &["--budget", "2"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("every trial failed") && err.contains("cannot import torch"),
        "{err}"
    );
}

#[test]
fn several_objectives_come_from_the_metrics_the_command_gives() {
    let dir = tempfile::tempdir().unwrap();
    let command = script(
        dir.path(),
        "mo.sh",
        r#"echo "{\"metrics\": {\"valid_acc\": $(( 60 + $2 )), \"latency_ms\": $(( 10 - $2 ))}, \"reported\": {\"test_acc\": 1}}""#,
    );
    let path = dir.path().join("mo.jsonl");
    let objectives = [
        "--objective",
        "valid_acc:max",
        "--objective",
        "latency_ms:min",
        "--reference-point",
        "0,100",
        "--budget",
        "4",
    ];
    let out = search(&["--space", "nb201"], &command, &path, &objectives);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = journal(&path);
    assert_eq!(lines.len(), 4);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["status"], "ok", "{line}");
        assert_eq!(line["objective"], 60.0 + i as f64);
        assert_eq!(line["reported"]["latency_ms"], 10.0 - i as f64);
        assert_eq!(line["reported"]["test_acc"], 1.0);
        assert!(line["hypervolume"].as_f64().unwrap() > 0.0, "{line}");
    }
    assert!(dir.path().join("mo.front.json").exists());

    // A result without a metric the study names is a failed trial naming it.
    let path = dir.path().join("missing.jsonl");
    let out = search(
        &["--space", "nb201"],
        "echo '{\"objective\": 3}'",
        &path,
        &objectives,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = journal(&path);
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains("`latency_ms`"),
        "{}",
        lines[0]
    );
}

#[test]
fn the_python_example_trainer_runs_a_search() {
    let numpy = Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        numpy,
        "python3 with NumPy is needed by examples/command-trainer/train.py: pip install numpy \
         (or apt-get install python3-numpy)"
    );
    let data = std::env::var_os("NASBO_DATA").expect(
        "set NASBO_DATA to the data folder that holds digits/ (the README's test command does)",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlp.jsonl");
    let example = root().join("examples/command-trainer");
    let command = format!(
        "python3 {} --arch {{arch}} --seed {{seed}} --out {{trial_dir}}",
        example.join("train.py").display()
    );
    let space = example.join("mlp.toml");
    let out = nasbo()
        .env("NASBO_DATA", data)
        .arg("search")
        .args(["--space-file", space.to_str().unwrap()])
        .args(["--evaluator", "command", "--command", &command])
        .args(["--budget", "2", "--seed", "0", "--quiet", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = journal(&path);
    assert_eq!(lines.len(), 2);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["status"], "ok", "{line}");
        // Ten classes: anything trained is far above the 10% of chance.
        let valid = line["objective"].as_f64().unwrap();
        assert!((50.0..=100.0).contains(&valid), "{line}");
        let test = line["reported"]["test_acc"].as_f64().unwrap();
        assert!((30.0..=100.0).contains(&test), "{line}");
        let result: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("mlp.trials/{i}/result.json")))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(result["arch"], line["arch"]);
        assert_eq!(result["objective"], line["objective"]);
    }
}
