//! End-to-end tests of the `nasbo` binary on the real NAS-Bench-201 table
//! (`$NASBO_DATA/nb201/nb201_cifar10.csv.gz`).

use std::path::PathBuf;
use std::process::{Command, Output};

fn nasbo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nasbo"))
}

fn table() -> PathBuf {
    let dir = std::env::var_os("NASBO_DATA")
        .expect("set NASBO_DATA to the data folder that holds nb201/nb201_cifar10.csv.gz (the README's test command does)");
    PathBuf::from(dir).join("nb201/nb201_cifar10.csv.gz")
}

/// Runs `cmd` on the NB201 table with its journal at `out`.
fn on_table(cmd: &mut Command, out: impl AsRef<std::ffi::OsStr>) -> Output {
    run(cmd.arg("--benchmark").arg(table()).arg("--out").arg(out))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the nasbo binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn summary(out: &Output) -> serde_json::Value {
    let text = stdout(out);
    let line = text.lines().last().expect("a summary line");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is JSON ({e}): {text}"))
}

#[test]
fn random_search_on_the_table_writes_a_journal_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.jsonl");
    let out = on_table(
        nasbo().args([
            "search",
            "--space",
            "nb201",
            "--dataset",
            "cifar10",
            "--strategy",
            "random",
            "--budget",
            "150",
            "--seed",
            "0",
            "--quiet",
        ]),
        &journal,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("searched on cifar10_valid_acc_200"), "{text}");
    assert!(text.contains("test regret"), "{text}");
    let s = summary(&out);
    assert_eq!(s["trials"], 150);
    let regret = s["test_regret"].as_f64().unwrap();
    assert!((0.0..5.0).contains(&regret), "regret {regret}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 150);
    // The summary's best is the journal's best by the searched value, and reports its test.
    let best = best_by_objective(&lines);
    assert_eq!(best["arch"], s["best_arch"]);
    assert_eq!(best["reported"]["test_acc"], s["best_test_acc"]);

    // Same seed, same trajectory; a second run refuses to overwrite the journal.
    let again = on_table(
        nasbo().args([
            "search",
            "--strategy",
            "random",
            "--budget",
            "150",
            "--seed",
            "0",
            "--quiet",
        ]),
        &journal,
    );
    assert!(!again.status.success());
    assert!(stderr(&again).contains("--resume"), "{}", stderr(&again));
    let other = dir.path().join("again.jsonl");
    let again = on_table(
        nasbo().args([
            "search",
            "--strategy",
            "random",
            "--budget",
            "150",
            "--seed",
            "0",
            "--quiet",
        ]),
        &other,
    );
    assert!(again.status.success());
    assert_eq!(summary(&again)["best_arch"], s["best_arch"]);
}

#[test]
fn a_killed_run_resumes_to_the_same_trajectory() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.jsonl");
    let part = dir.path().join("part.jsonl");
    let base = |out: &PathBuf, budget: &str| {
        let mut c = nasbo();
        c.args(["search", "--seed", "3", "--quiet", "--budget", budget])
            .arg("--benchmark")
            .arg(table())
            .arg("--out")
            .arg(out);
        c
    };
    assert!(run(&mut base(&full, "40")).status.success());
    assert!(run(&mut base(&part, "17")).status.success());
    // Simulate a crash in the middle of writing trial 17.
    let mut text = std::fs::read_to_string(&part).unwrap();
    text.push_str("{\"trial\":17,\"arch\":\"|nor_conv");
    std::fs::write(&part, text).unwrap();
    let resumed = run(base(&part, "40").arg("--resume"));
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains("17 finished trial(s) kept"),
        "{}",
        stderr(&resumed)
    );
    let archs = |p: &PathBuf| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["arch"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(archs(&part), archs(&full));
}

#[test]
fn bad_input_gets_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("x.jsonl");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--budget".into(), "0".into()],
            "a number of architectures to evaluate, at least 1",
        ),
        (
            vec!["--dataset".into(), "mnist".into()],
            "unknown dataset `mnist`",
        ),
        (
            vec!["--dataset".into(), "cifar100".into()],
            "cifar100_valid_acc_200",
        ),
    ];
    for (extra, needle) in cases {
        let out = run(nasbo()
            .arg("search")
            .arg("--benchmark")
            .arg(table())
            .arg("--out")
            .arg(&out_path)
            .args(&extra));
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains(needle), "{extra:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let missing = run(nasbo()
        .args(["search", "--benchmark", "/definitely/not/here.csv.gz"])
        .arg("--out")
        .arg(&out_path));
    assert!(stderr(&missing).contains("/definitely/not/here.csv.gz"));
    let truncated = dir.path().join("t.csv.gz");
    let bytes = std::fs::read(table()).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let out = run(nasbo()
        .arg("search")
        .arg("--benchmark")
        .arg(&truncated)
        .arg("--out")
        .arg(&out_path));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("t.csv.gz"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));

    let bad_cell = run(nasbo().args([
        "space",
        "nb201",
        "info",
        "|nor_conv_3x3~0|+|bogus~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    ]));
    assert!(!bad_cell.status.success());
    assert!(
        stderr(&bad_cell).contains("unknown op `bogus`"),
        "{}",
        stderr(&bad_cell)
    );
}

#[test]
fn space_info_prints_index_canonical_form_and_costs() {
    let out = run(nasbo().args([
        "space",
        "nb201",
        "info",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["index"], 9930);
    assert_eq!(v["connected"], true);
    // The table's params_mb_cifar10 / flops_m_cifar10 for this cell.
    assert!((v["params_m"].as_f64().unwrap() - 1.288506).abs() < 1e-9);
    assert!((v["flops_m"].as_f64().unwrap() - 184.73025).abs() < 1e-6);
    let c100 = run(nasbo().args(["space", "nb201", "info", "9930", "--classes", "100"]));
    let v100: serde_json::Value = serde_json::from_str(stdout(&c100).trim()).unwrap();
    assert!(
        (v100["params_m"].as_f64().unwrap() - (1.288506 + (64.0 * 90.0 + 90.0) / 1e6)).abs() < 1e-9
    );
    let dead = run(nasbo().args([
        "space",
        "nb201",
        "info",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    ]));
    let vd: serde_json::Value = serde_json::from_str(stdout(&dead).trim()).unwrap();
    assert_eq!(vd["connected"], false);
}

#[test]
fn ask_and_tell_drive_an_external_trainer() {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("study.jsonl");
    let ask = |extra: &[&str]| {
        let out = run(nasbo()
            .args(["ask", "--strategy", "bo", "--seed", "4"])
            .arg("--study")
            .arg(&study)
            .args(extra));
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<serde_json::Value>(stdout(&out).trim()).unwrap()
    };
    let tell = |trial: u64, objective: f64| {
        let out = run(nasbo()
            .args([
                "tell",
                "--trial",
                &trial.to_string(),
                "--objective",
                &objective.to_string(),
                "--reported",
                "{\"test_acc\": 1.5}",
            ])
            .arg("--study")
            .arg(&study));
        assert!(out.status.success(), "{}", stderr(&out));
    };
    // Two workers ask before anyone tells: distinct cells, both pending.
    let a = ask(&[]);
    let b = ask(&[]);
    assert_eq!(a["trial"], 0);
    assert_eq!(b["trial"], 1);
    assert_ne!(a["arch"], b["arch"]);
    // A worker died: --reask hands trial 0 out again.
    let again = ask(&["--reask"]);
    assert_eq!(again["trial"], 0);
    assert_eq!(again["arch"], a["arch"]);
    tell(0, 80.0);
    tell(1, 85.5);
    let mut seen = std::collections::HashSet::new();
    for i in 2..14u64 {
        let t = ask(&[]);
        assert_eq!(t["trial"], i);
        assert!(seen.insert(t["arch"].as_str().unwrap().to_string()));
        tell(i, 50.0 + i as f64);
    }
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&study)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 14);
    assert!(lines.iter().all(|l| l["status"] == "ok"));
    assert_eq!(lines[1]["objective"], 85.5);
    assert_eq!(lines[1]["reported"]["test_acc"], 1.5);
    // Telling a finished or unknown trial is an error, not a silent overwrite.
    let twice = run(nasbo()
        .args(["tell", "--trial", "1", "--objective", "1"])
        .arg("--study")
        .arg(&study));
    assert!(!twice.status.success());
    assert!(
        stderr(&twice).contains("only pending trials"),
        "{}",
        stderr(&twice)
    );
    let unknown = run(nasbo()
        .args(["tell", "--trial", "99", "--objective", "1"])
        .arg("--study")
        .arg(&study));
    assert!(
        stderr(&unknown).contains("no trial 99"),
        "{}",
        stderr(&unknown)
    );
    let bad_json = run(nasbo()
        .args([
            "tell",
            "--trial",
            "0",
            "--objective",
            "1",
            "--reported",
            "{oops",
        ])
        .arg("--study")
        .arg(&study));
    assert!(
        stderr(&bad_json).contains("--reported must be a JSON object"),
        "{}",
        stderr(&bad_json)
    );
}

#[test]
fn a_config_file_sets_options_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("search.toml");
    std::fs::write(
        &config,
        "strategy = \"re\"\nbudget = 25\nseed = 9\n\n[re]\npopulation = 5\nsample-size = 2\n",
    )
    .unwrap();
    let out_path = dir.path().join("run.jsonl");
    let out = on_table(
        nasbo()
            .args(["search", "--quiet", "--budget", "30"])
            .arg("--config")
            .arg(&config),
        &out_path,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let s = summary(&out);
    assert_eq!(s["strategy"], "re");
    assert_eq!(s["seed"], 9);
    assert_eq!(s["trials"], 30, "the flag wins over the file");
    std::fs::write(&config, "strategy = \"re\"\n[re]\npopulaton = 5\n").unwrap();
    let bad = on_table(
        nasbo()
            .args(["search", "--quiet"])
            .arg("--config")
            .arg(&config),
        dir.path().join("x.jsonl"),
    );
    assert!(!bad.status.success());
    let err = stderr(&bad);
    assert!(
        err.contains("search.toml") && err.contains("populaton"),
        "{err}"
    );
}

#[test]
fn search_can_train_every_candidate_for_real() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("train.jsonl");
    let out = run(nasbo()
        .args([
            "search",
            "--evaluator",
            "train",
            "--dataset",
            "fashion-mnist",
            "--epochs",
            "1",
            "--channels",
            "4",
            "--cells",
            "1",
        ])
        .args([
            "--batch-size",
            "32",
            "--train-limit",
            "300",
            "--strategy",
            "bo",
            "--budget",
            "2",
            "--seed",
            "1",
            "--quiet",
        ])
        .arg("--out")
        .arg(&journal));
    assert!(out.status.success(), "{}", stderr(&out));
    let s = summary(&out);
    assert_eq!(s["trials"], 2);
    assert_eq!(s["dataset"], "fashion-mnist");
    assert!(s.get("test_regret").is_none(), "no table, no regret");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for line in &lines {
        assert_eq!(line["status"], "ok", "{line}");
        let valid = line["objective"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&valid));
        for key in ["test_acc", "params_m", "flops_m", "train_s"] {
            assert!(line["reported"][key].is_number(), "{key} missing in {line}");
        }
    }
    // Without any data location the error names every place it looked.
    let missing = run(nasbo()
        .env_remove("NASBO_DATA")
        .args([
            "search",
            "--evaluator",
            "train",
            "--dataset",
            "digits",
            "--budget",
            "1",
            "--quiet",
        ])
        .arg("--out")
        .arg(dir.path().join("x.jsonl")));
    assert!(!missing.status.success());
    let err = stderr(&missing);
    assert!(
        err.contains("--data-dir") && err.contains("NASBO_DATA"),
        "{err}"
    );
}

/// The trial with the largest searched value.
fn best_by_objective(lines: &[serde_json::Value]) -> &serde_json::Value {
    lines
        .iter()
        .max_by(|a, b| {
            a["objective"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["objective"].as_f64().unwrap())
        })
        .unwrap()
}

fn journal_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_two_objective_search_writes_its_pareto_front() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("mo.jsonl");
    let out = on_table(
        nasbo()
            .args(["search", "--strategy", "bo", "--budget", "30", "--quiet"])
            .args([
                "--objective",
                "valid_acc:max",
                "--objective",
                "help_pixel3_ms:min",
            ]),
        &journal,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let s = summary(&out);
    let lines = journal_lines(&journal);
    assert_eq!(lines.len(), 30);
    // Every trial carries the latency joined from the latency table and the hypervolume so
    // far, which never shrinks.
    let mut last = 0.0;
    for l in &lines {
        assert!(
            l["reported"]["help_pixel3_ms"].as_f64().unwrap() > 0.0,
            "{l}"
        );
        let hv = l["hypervolume"].as_f64().unwrap();
        assert!(hv >= last);
        last = hv;
    }
    assert_eq!(s["front"]["hypervolume"].as_f64().unwrap(), last);
    // The front file: mutually non-dominated points, each one a trial of the journal.
    let front: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("mo.front.json")).unwrap())
            .unwrap();
    let points: Vec<(f64, f64)> = front["front"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let t = p["trial"].as_u64().unwrap() as usize;
            assert_eq!(p["arch"], lines[t]["arch"]);
            (
                p["objectives"]["cifar10_valid_acc_200"].as_f64().unwrap(),
                p["objectives"]["help_pixel3_ms"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(!points.is_empty());
    for a in &points {
        for b in &points {
            let dominates = a.0 >= b.0 && a.1 <= b.1 && (a.0 > b.0 || a.1 < b.1);
            assert!(!dominates, "{a:?} dominates {b:?} on the front");
        }
    }
    // No journal trial dominates a front point.
    for l in &lines {
        let (v, lat) = (
            l["objective"].as_f64().unwrap(),
            l["reported"]["help_pixel3_ms"].as_f64().unwrap(),
        );
        for p in &points {
            assert!(!(v >= p.0 && lat <= p.1 && (v > p.0 || lat < p.1)));
        }
    }
    let svg = std::fs::read_to_string(dir.path().join("mo.front.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.matches("<circle").count() >= 30 + points.len());
    let csv = std::fs::read_to_string(dir.path().join("mo.front.csv")).unwrap();
    assert_eq!(csv.lines().count(), points.len() + 1);
}

#[test]
fn constrained_searches_never_report_an_infeasible_incumbent() {
    let dir = tempfile::tempdir().unwrap();
    for (strategy, constraint) in [
        ("bo", "help_pixel3_ms<=4"),
        ("re", "help_pixel3_ms<=4"),
        ("random", "flops_m<=60"),
    ] {
        let journal = dir.path().join(format!("{strategy}.jsonl"));
        let out = on_table(
            nasbo()
                .args([
                    "search",
                    "--strategy",
                    strategy,
                    "--budget",
                    "40",
                    "--quiet",
                ])
                .args(["--constraint", constraint]),
            &journal,
        );
        assert!(out.status.success(), "{strategy}: {}", stderr(&out));
        let s = summary(&out);
        let lines = journal_lines(&journal);
        let metric = constraint.split("<=").next().unwrap();
        let best = lines
            .iter()
            .find(|l| l["arch"] == s["best_arch"])
            .expect("the best is a trial");
        assert_eq!(best["feasible"], true, "{strategy}");
        assert!(
            best["reported"][metric].as_f64().unwrap()
                <= if metric == "flops_m" { 60.0 } else { 4.0 }
        );
        // No feasible trial beats the reported best.
        for l in &lines {
            assert_eq!(
                l["feasible"].as_bool().unwrap(),
                l["reported"][metric].as_f64().unwrap()
                    <= if metric == "flops_m" { 60.0 } else { 4.0 }
            );
            if l["feasible"] == true {
                assert!(l["objective"].as_f64() <= best["objective"].as_f64());
            }
        }
        if metric == "flops_m" {
            // Known before training: the space itself is cut, nothing infeasible is tried.
            assert!(lines.iter().all(|l| l["feasible"] == true), "{strategy}");
        }
    }
}

#[test]
fn bad_objectives_and_constraints_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("x.jsonl");
    let cases: [(&[&str], &str); 4] = [
        (&["--constraint", "latency=5"], "use `<=` or `>=`"),
        (
            &["--objective", "valid_acc:best"],
            "expected NAME:max or NAME:min",
        ),
        (
            &[
                "--objective",
                "valid_acc:max",
                "--objective",
                "no_such_ms:min",
            ],
            "no_such_ms",
        ),
        (
            &["--objective", "help_pixel3_ms:min"],
            "the first `objective` must be the value searched on",
        ),
    ];
    for (flags, expected) in cases {
        let out = on_table(
            nasbo()
                .args(["search", "--budget", "5", "--quiet"])
                .args(flags),
            &journal,
        );
        assert!(!out.status.success(), "{flags:?} should fail");
        let err = stderr(&out);
        assert!(err.contains(expected), "{flags:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn objectives_and_constraints_can_come_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mo.toml");
    std::fs::write(
        &config,
        "strategy = \"re\"\nbudget = 25\nobjective = [\"valid_acc:max\", \"flops_m:min\"]\nconstraint = [\"help_pixel3_ms<=8\"]\n",
    )
    .unwrap();
    let journal = dir.path().join("c.jsonl");
    let out = on_table(
        nasbo().args(["search", "--quiet", "--config"]).arg(&config),
        &journal,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = journal_lines(&journal);
    assert_eq!(lines.len(), 25);
    for l in &lines {
        assert!(l["hypervolume"].as_f64().is_some(), "{l}");
        let lat = l["reported"]["help_pixel3_ms"].as_f64().unwrap();
        assert_eq!(l["feasible"].as_bool().unwrap(), lat <= 8.0);
        assert!(l["reported"]["flops_m"].as_f64().unwrap() > 0.0);
    }
    assert!(dir.path().join("c.front.json").exists());
    // A bad entry names the list it came from.
    std::fs::write(&config, "objective = [\"valid_acc\"]\n").unwrap();
    let out = on_table(
        nasbo().args(["search", "--quiet", "--config"]).arg(&config),
        dir.path().join("d.jsonl"),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("line 1") && stderr(&out).contains("direction is missing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_exit_2_and_config_errors_name_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "strategy = \"bo\"\nbudget = 20\n\n[bo]\ninitial = 5\nfoo = 3\n",
    )
    .unwrap();
    let out = on_table(
        nasbo().args(["search", "--config"]).arg(&config),
        dir.path().join("x.jsonl"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("line 6"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown field `foo`"),
        "{}",
        stderr(&out)
    );
    // A negative number reaches the validation instead of being read as a flag.
    let out = run(nasbo().args([
        "tell",
        "--study",
        "none.jsonl",
        "--trial",
        "0",
        "--objective",
        "-5",
    ]));
    assert!(
        !stderr(&out).contains("unexpected argument"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn without_a_terminal_each_trial_is_logged_and_a_closed_pipe_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    // stderr is a pipe here, as in a job or CI: one plain line per trial.
    let out = on_table(
        nasbo().args(["search", "--strategy", "random", "--budget", "4"]),
        dir.path().join("r.jsonl"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let logged: Vec<&str> = std::str::from_utf8(&out.stderr)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("trial "))
        .collect();
    assert_eq!(logged.len(), 4, "{}", stderr(&out));
    assert!(
        logged[3].starts_with("trial 4/4: objective "),
        "{}",
        logged[3]
    );
    // --quiet silences them.
    let out = on_table(
        nasbo().args([
            "search",
            "--strategy",
            "random",
            "--budget",
            "4",
            "--quiet",
            "--overwrite",
        ]),
        dir.path().join("r.jsonl"),
    );
    assert!(!stderr(&out).contains("trial 1/4"), "{}", stderr(&out));
    // A reader that goes away early: exit quietly, no panic.
    let mut child = nasbo()
        .args(["space", "nb201", "info", "6111"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert!(out.status.code() != Some(101), "{}", stderr(&out));
}

/// The table's rows by cell string: (column name → value) for the given columns.
fn table_rows(columns: &[&str]) -> std::collections::HashMap<String, Vec<f64>> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(table()).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |c: &str| header.iter().position(|h| *h == c).unwrap();
    let arch = at("arch_str");
    let idx: Vec<usize> = columns.iter().map(|c| at(c)).collect();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[arch].to_string(),
                idx.iter().map(|&i| f[i].parse().unwrap()).collect(),
            )
        })
        .collect()
}

#[test]
fn a_time_budget_follows_the_papers_12_epoch_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let rows = table_rows(&[
        "e12_cifar10_valid_acc",
        "cifar10_test_acc_200",
        "cifar10_valid_train_s_per_epoch",
    ]);
    let path = dir.path().join("p.jsonl");
    let out = on_table(
        nasbo().args([
            "search",
            "--strategy",
            "random",
            "--budget-seconds",
            "12000",
            "--quiet",
        ]),
        &path,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // About 110 s a query: some 80-130 queries in 12,000 s.
    assert!((80..=130).contains(&lines.len()), "{} queries", lines.len());
    for l in &lines {
        let r = &rows[l["arch"].as_str().unwrap()];
        assert_eq!(
            l["objective"].as_f64().unwrap(),
            r[0],
            "searched on the 12-epoch accuracy"
        );
        assert_eq!(
            l["reported"]["test_acc"].as_f64().unwrap(),
            r[1],
            "reports 200 epochs"
        );
        assert!(
            (l["cost_s"].as_f64().unwrap() - 12.0 * r[2]).abs() < 1e-6,
            "charged 12 epochs"
        );
    }
    assert!(
        stdout(&out).contains("e12_cifar10_valid_acc"),
        "{}",
        stdout(&out)
    );
    // --fidelity 200 charges the full training.
    let out = on_table(
        nasbo()
            .args([
                "search",
                "--strategy",
                "random",
                "--budget-seconds",
                "12000",
            ])
            .args(["--fidelity", "200", "--quiet"]),
        dir.path().join("f.jsonl"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(dir.path().join("f.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let r = &rows[first["arch"].as_str().unwrap()];
    assert!((first["cost_s"].as_f64().unwrap() - 200.0 * r[2]).abs() < 1e-6);
}

/// Values that cannot be meant: each refused before any work, with exit code 2 and a message
/// naming the value.
#[test]
fn values_that_cannot_be_meant_are_refused_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let both = dir.path().join("both.toml");
    std::fs::write(&both, "space = \"nasnet\"\nspace-file = \"x.toml\"\n").unwrap();
    let t = table();
    let t = t.to_str().unwrap();
    let out = dir.path().join("o.jsonl");
    let o = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["space", "nb201", "info", "-1"],
            "index -1 is out of range",
        ),
        (
            vec!["space", "nb201", "info", "99999999999999999999999"],
            "out of range",
        ),
        (
            vec![
                "space",
                "nb201",
                "info",
                "6111",
                "--classes",
                "18446744073709551615",
            ],
            "--classes",
        ),
        (
            vec!["search", "--benchmark", t, "--budget", "-5", "--out", o],
            "'-5' for '--budget",
        ),
        (
            vec![
                "bench",
                "--benchmark",
                t,
                "--first-seed",
                "18446744073709551615",
                "--seeds",
                "2",
                "--out",
                o,
            ],
            "past the largest seed",
        ),
        (
            vec![
                "search",
                "--benchmark",
                t,
                "--objective",
                "valid_acc:max",
                "--objective",
                "help_pixel3_ms:min",
                "--reference-point",
                "nan,3",
                "--out",
                o,
            ],
            "`reference-point` must be finite",
        ),
        (
            vec!["search", "--config", both.to_str().unwrap(), "--out", o],
            "both `space` and `space-file`",
        ),
    ];
    for (args, expected) in cases {
        let res = run(nasbo().args(&args));
        assert_eq!(res.status.code(), Some(2), "{args:?}: {}", stderr(&res));
        assert!(
            stderr(&res).contains(expected),
            "{args:?}: {}",
            stderr(&res)
        );
        assert!(
            !stderr(&res).contains("panicked"),
            "{args:?}: {}",
            stderr(&res)
        );
    }
    assert!(!out.exists(), "nothing was written");
}

#[test]
fn resume_refuses_a_journal_of_another_setting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.jsonl");
    let first = on_table(
        nasbo().args([
            "search",
            "--strategy",
            "random",
            "--budget",
            "5",
            "--seed",
            "1",
            "--quiet",
        ]),
        &path,
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let line0: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        line0["study"]["strategy"], "random",
        "the journal records its spec"
    );
    let other = on_table(
        nasbo()
            .args([
                "search",
                "--strategy",
                "bo",
                "--budget",
                "8",
                "--seed",
                "2",
                "--quiet",
            ])
            .arg("--resume"),
        &path,
    );
    assert_eq!(other.status.code(), Some(2), "{}", stderr(&other));
    let err = stderr(&other);
    assert!(
        err.contains("strategy: \"bo\" (study: \"random\")"),
        "{err}"
    );
    assert!(err.contains("seed: 2 (study: 1)"), "{err}");
    // The same setting with a larger budget continues.
    let more = on_table(
        nasbo()
            .args([
                "search",
                "--strategy",
                "random",
                "--budget",
                "8",
                "--seed",
                "1",
                "--quiet",
            ])
            .arg("--resume"),
        &path,
    );
    assert!(more.status.success(), "{}", stderr(&more));
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 8);
}

#[test]
fn json_and_quiet_leave_one_json_object_and_no_chatter() {
    let dir = tempfile::tempdir().unwrap();
    let out = on_table(
        nasbo().args(["search", "--budget", "5", "--json", "--quiet"]),
        dir.path().join("j.jsonl"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let value: serde_json::Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("stdout is one JSON object ({e}): {text}"));
    assert_eq!(value["trials"], 5);
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

/// A search on digits with a tiny network, `budget` trials of 1 epoch, then `extra` flags.
fn digits_search(journal: &std::path::Path, extra: &[&str]) -> Output {
    let data = std::env::var_os("NASBO_DATA").expect(
        "set NASBO_DATA to the data folder that holds digits/ (the README's test command does)",
    );
    run(nasbo()
        .args(["search", "--evaluator", "train", "--dataset", "digits"])
        .args(["--epochs", "1", "--channels", "4", "--cells", "1"])
        .args([
            "--batch-size",
            "64",
            "--strategy",
            "random",
            "--budget",
            "4",
        ])
        .args(["--seed", "3", "--quiet"])
        .args(extra)
        .arg("--data-dir")
        .arg(data)
        .arg("--out")
        .arg(journal))
}

#[test]
fn final_epochs_retrains_the_best_trials_and_reports_them_apart_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("digits.jsonl");
    let flags = ["--final-epochs", "2", "--final-top", "2"];
    let out = digits_search(&journal, &flags);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = summary(&out);
    let lines = journal_lines(&journal);
    assert_eq!(lines.len(), 4, "the journal holds the search's trials only");
    // The two best trials by validation accuracy, best first, each retrained for 2 epochs.
    let mut ranked: Vec<&serde_json::Value> = lines.iter().collect();
    ranked.sort_by(|a, b| {
        b["objective"]
            .as_f64()
            .unwrap()
            .total_cmp(&a["objective"].as_f64().unwrap())
    });
    let retrained = s["final"]
        .as_array()
        .expect("the summary lists the retrained");
    assert_eq!(retrained.len(), 2);
    for (k, r) in retrained.iter().enumerate() {
        assert_eq!(r["rank"], k + 1);
        assert_eq!(r["arch"], ranked[k]["arch"]);
        assert_eq!(r["search_objective"], ranked[k]["objective"]);
        assert_eq!(r["epochs"], 2);
        for key in ["valid_acc", "test_acc"] {
            let v = r[key].as_f64().unwrap();
            assert!((0.0..=100.0).contains(&v), "{key} {v}");
        }
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                dir.path()
                    .join(format!("digits.jsonl.final/{}/report.json", k + 1)),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(report["arch"], r["arch"]);
        assert_eq!(report["train"]["epochs"], 2);
        assert_eq!(report["test_acc"], r["test_acc"]);
    }
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("digits.jsonl.final.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(&file["retrained"], &s["final"]);
    // The same command again reads the finished retrainings back instead of training again.
    let report = dir.path().join("digits.jsonl.final/1/report.json");
    let before = std::fs::metadata(&report).unwrap().modified().unwrap();
    let again = digits_search(&journal, &[&flags[..], &["--resume"]].concat());
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(summary(&again)["final"], s["final"]);
    assert_eq!(
        std::fs::metadata(&report).unwrap().modified().unwrap(),
        before
    );
    // Worker threads retrain the study's best the same way.
    let threads = dir.path().join("threads.jsonl");
    let with_workers = digits_search(&threads, &[&flags[..], &["--workers", "2"]].concat());
    assert!(with_workers.status.success(), "{}", stderr(&with_workers));
    let lines = journal_lines(&threads);
    let best = best_by_objective(&lines);
    let retrained = summary(&with_workers)["final"].clone();
    assert_eq!(retrained.as_array().unwrap().len(), 2);
    assert_eq!(retrained[0]["search_objective"], best["objective"]);
    assert!(dir.path().join("threads.jsonl.final.json").is_file());
    // Without the training evaluator there is nothing to retrain with: a usage error.
    let table = on_table(
        nasbo().args(["search", "--budget", "3", "--final-epochs", "2", "--quiet"]),
        dir.path().join("table.jsonl"),
    );
    assert_eq!(table.status.code(), Some(2), "{}", stderr(&table));
    assert!(
        stderr(&table).contains("--evaluator train"),
        "{}",
        stderr(&table)
    );
}

#[test]
fn noise_perturbs_the_searched_value_only_and_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let search = |name: &str| {
        let journal = dir.path().join(name);
        let out = on_table(
            nasbo()
                .args(["search", "--strategy", "random", "--budget", "200"])
                .args(["--noise", "0.5", "--quiet"]),
            &journal,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        journal_lines(&journal)
    };
    let a = search("a.jsonl");
    let deltas: Vec<f64> = a
        .iter()
        .map(|t| {
            t["objective"].as_f64().unwrap()
                - t["reported"]["noise_free_objective"].as_f64().unwrap()
        })
        .collect();
    let n = deltas.len() as f64;
    let mean = deltas.iter().sum::<f64>() / n;
    let sd = (deltas.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    // 200 draws of N(0, 0.5²): the mean within 4 standard errors, the deviation near 0.5.
    assert!(mean.abs() < 4.0 * 0.5 / n.sqrt(), "mean {mean}");
    assert!((0.4..0.6).contains(&sd), "sd {sd}");
    // The reported test accuracy is the table's own, and the same seed gives the same noise.
    let b = search("b.jsonl");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x["objective"], y["objective"]);
        assert_eq!(x["reported"]["test_acc"], y["reported"]["test_acc"]);
    }
    // Noise belongs to tables: with a real training it is a usage error.
    let train = run(nasbo()
        .args(["search", "--evaluator", "train"])
        .args(["--dataset", "digits", "--noise", "1"])
        .arg("--out")
        .arg(dir.path().join("t.jsonl")));
    assert_eq!(train.status.code(), Some(2), "{}", stderr(&train));
    assert!(stderr(&train).contains("noise"), "{}", stderr(&train));
}

/// Early stopping of real trainings: `--fidelities 1,3` trains every new architecture for one
/// epoch and successive halving promotes the best third, whose training continues from its
/// checkpoint to 3 epochs; the summary says which were stopped early, and the retraining
/// picks the best full-length one.
#[test]
fn early_stopping_continues_promoted_trainings_and_retrains_a_full_one() {
    let data = std::env::var_os("NASBO_DATA").expect(
        "set NASBO_DATA to the data folder that holds digits/ (the README's test command does)",
    );
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("es.jsonl");
    let search = |extra: &[&str]| {
        run(nasbo()
            .args(["search", "--evaluator", "train", "--dataset", "digits"])
            .args(["--channels", "4", "--cells", "1", "--batch-size", "64"])
            .args(["--fidelities", "1,3", "--strategy", "asha", "--seed", "3"])
            .args(["--quiet", "--final-epochs", "2"])
            .args(extra)
            .arg("--data-dir")
            .arg(&data)
            .arg("--out")
            .arg(&journal))
    };
    let out = search(&["--budget", "10"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = summary(&out);
    let lines = journal_lines(&journal);
    assert_eq!(lines.len(), 10);
    let split = |l: &serde_json::Value| -> (String, u32) {
        let (arch, level) = l["arch"].as_str().unwrap().rsplit_once('@').unwrap();
        (arch.to_string(), level.parse().unwrap())
    };
    let mut first_seen = std::collections::HashMap::new();
    let mut promoted = 0;
    for (i, l) in lines.iter().enumerate() {
        let (arch, level) = split(l);
        assert_eq!(l["reported"]["fidelity"], f64::from(level), "{l}");
        match level {
            1 => {
                assert_eq!(l["reported"]["from_epochs"], 0.0, "{l}");
                assert!(first_seen.insert(arch, i).is_none(), "evaluated twice: {l}");
            }
            3 => {
                // Promoted from its one-epoch checkpoint, never started over.
                assert!(first_seen.get(&arch).is_some_and(|&j| j < i), "{l}");
                assert_eq!(l["reported"]["from_epochs"], 1.0, "{l}");
                promoted += 1;
            }
            other => panic!("level {other} is not one of 1,3: {l}"),
        }
    }
    assert!(
        promoted >= 2,
        "asha with eta 3 promotes the best third: {promoted} of 10"
    );
    let early = &s["early_stopping"];
    assert_eq!(early["architectures"], first_seen.len());
    assert_eq!(early["full"], promoted);
    let stopped = early["stopped_early"].as_array().unwrap();
    assert_eq!(stopped.len(), first_seen.len() - promoted);
    assert!(stopped.iter().all(|a| a["level"] == 1), "{early}");
    // One checkpoint folder per network beside the journal.
    let rungs = std::fs::read_dir(dir.path().join("es.jsonl.rungs")).unwrap();
    assert_eq!(rungs.count(), first_seen.len());
    // The incumbent and the retrained winner are full-length trainings.
    assert!(s["best_arch"].as_str().unwrap().ends_with("@3"), "{s}");
    let winner = &s["final"][0];
    assert!(winner["arch"].as_str().unwrap().ends_with("@3"), "{winner}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("es.jsonl.final/1/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        report["arch"].as_str().unwrap(),
        winner["arch"].as_str().unwrap().rsplit_once('@').unwrap().0
    );
    // The levels are the epochs: another --epochs is a usage error.
    let clash = search(&["--budget", "2", "--epochs", "2", "--overwrite"]);
    assert_eq!(clash.status.code(), Some(2), "{}", stderr(&clash));
    assert!(
        stderr(&clash).contains("top level (3)"),
        "{}",
        stderr(&clash)
    );
}
