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

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the nasbo binary runs");
    out
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
    let out = run(nasbo()
        .args([
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
        ])
        .arg("--benchmark")
        .arg(table())
        .arg("--out")
        .arg(&journal));
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
    let best = lines
        .iter()
        .max_by(|a, b| {
            a["objective"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["objective"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(best["arch"], s["best_arch"]);
    assert_eq!(best["reported"]["test_acc"], s["best_test_acc"]);

    // Same seed, same trajectory; a second run refuses to overwrite the journal.
    let again = run(nasbo()
        .args(["search", "--budget", "150", "--seed", "0", "--quiet"])
        .arg("--benchmark")
        .arg(table())
        .arg("--out")
        .arg(&journal));
    assert!(!again.status.success());
    assert!(stderr(&again).contains("--resume"), "{}", stderr(&again));
    let other = dir.path().join("again.jsonl");
    let again = run(nasbo()
        .args(["search", "--budget", "150", "--seed", "0", "--quiet"])
        .arg("--benchmark")
        .arg(table())
        .arg("--out")
        .arg(&other));
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
        (vec!["--budget".into(), "0".into()], "at least one query"),
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
