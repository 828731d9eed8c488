//! End-to-end tests of `nasbo bench` on the real NAS-Bench-201 table
//! (`$NASBO_DATA/nb201/nb201_cifar10.csv.gz`): the files it writes, and numbers that agree with
//! what its journals imply.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nasbo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nasbo"))
}

fn table() -> PathBuf {
    let dir = std::env::var_os("NASBO_DATA")
        .expect("set NASBO_DATA to the data folder that holds nb201/nb201_cifar10.csv.gz (the README's test command does)");
    PathBuf::from(dir).join("nb201/nb201_cifar10.csv.gz")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `nasbo bench` with random search, 4 seeds, `budget` queries, into `out`.
fn bench(out: &Path, budget: &str, extra: &[&str]) -> Output {
    nasbo()
        .args(["bench", "--dataset", "cifar10", "--strategies", "random"])
        .args(["--seeds", "4", "--budget", budget, "--quiet"])
        .args(extra)
        .arg("--benchmark")
        .arg(table())
        .arg("--out")
        .arg(out)
        .output()
        .expect("the nasbo binary runs")
}

fn journal(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The CSV as maps from column name to value.
fn csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The incumbent's test accuracy after the first `k` trials: best validation, earliest on ties.
fn incumbent_test(trials: &[serde_json::Value], k: usize) -> f64 {
    let mut best: Option<(f64, f64)> = None;
    for t in &trials[..k] {
        let v = t["objective"].as_f64().unwrap();
        if best.is_none_or(|(b, _)| v > b) {
            best = Some((v, t["reported"]["test_acc"].as_f64().unwrap()));
        }
    }
    best.unwrap().1
}

#[test]
fn bench_writes_summaries_that_agree_with_its_journals() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let run = bench(&out, "20", &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    for f in [
        "summary.md",
        "summary.csv",
        "runs.csv",
        "regret.svg",
        "bench.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Every output names the splits, the dataset, the seeds and the budget.
    assert!(
        stdout.contains("NAS-Bench-201 cifar10: 4 seeds (0–3), budget 20 queries"),
        "{stdout}"
    );
    assert!(stdout.contains("Searched on `cifar10_valid_acc_200` (validation split), reported `cifar10_test_acc_200` (test split)"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(out.join("summary.md")).unwrap(),
        stdout
    );
    let svg = std::fs::read_to_string(out.join("regret.svg")).unwrap();
    assert_eq!(svg.matches("<polyline").count(), 1);
    assert!(svg.contains("regret in cifar10_test_acc_200 (percentage points)"));
    assert!(svg.contains("searched on cifar10_valid_acc_200, reported cifar10_test_acc_200"));
    assert!(svg.contains("4 seeds (0–3) · budget 20 queries"));

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    let target = manifest["best_valid_cell"].as_str().unwrap().to_string();
    let reference = manifest["reference_test"].as_f64().unwrap();
    assert!(
        (reference - 94.37).abs() < 0.01,
        "best test accuracy {reference}"
    );

    let journals: Vec<Vec<serde_json::Value>> = (0..4)
        .map(|s| journal(&out.join(format!("journals/random-s{s}.jsonl"))))
        .collect();
    for (s, j) in journals.iter().enumerate() {
        assert_eq!(j.len(), 20);
        assert!(j.iter().all(|t| t["seed"] == s as u64));
    }

    let rows = csv(&out.join("summary.csv"));
    assert_eq!(rows.len(), 2, "checkpoints 10 and 20");
    for (row, k) in rows.iter().zip([10usize, 20]) {
        assert_eq!(row["strategy"], "random");
        assert_eq!(row["dataset"], "cifar10");
        assert_eq!(row["searched_on"], "cifar10_valid_acc_200");
        assert_eq!(row["reported"], "cifar10_test_acc_200");
        assert_eq!(row["seeds"], "4");
        assert_eq!(row["budget"], "20");
        assert_eq!(row["checkpoint"], k.to_string());
        assert_eq!(row["n"], "4");
        // What the journals imply.
        let regrets: Vec<f64> = journals
            .iter()
            .map(|j| reference - incumbent_test(j, k))
            .collect();
        let mean = regrets.iter().sum::<f64>() / 4.0;
        let std = (regrets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        let got = |c: &str| row[c].parse::<f64>().unwrap();
        assert!(
            (got("regret_mean") - mean).abs() < 1e-6,
            "{row:?} vs {mean}"
        );
        assert!((got("regret_std") - std).abs() < 1e-6, "{row:?} vs {std}");
        assert!((got("regret_se") - std / 2.0).abs() < 1e-6, "{row:?}");
        assert!(
            (got("test_mean") - (reference - mean)).abs() < 1e-6,
            "{row:?}"
        );
        // The median queries to the best-validation cell.
        let mut hits: Vec<f64> = journals
            .iter()
            .map(|j| {
                j.iter()
                    .position(|t| t["arch"] == target.as_str())
                    .map_or(f64::INFINITY, |p| (p + 1) as f64)
            })
            .collect();
        hits.sort_by(f64::total_cmp);
        let median = (hits[1] + hits[2]) / 2.0;
        let expected = if median.is_finite() {
            format!("{median}")
        } else {
            ">20".into()
        };
        assert_eq!(row["median_queries_to_best_valid"], expected);
    }
    // The Markdown table holds the same mean, rounded.
    let regret20 = rows[1]["regret_mean"].parse::<f64>().unwrap();
    assert!(stdout.contains("| random | 4 | "), "{stdout}");
    assert!(stdout.contains(&format!("{regret20:.3} ± ")), "{stdout}");

    // A run of bench is the run `nasbo search` makes with the same seed.
    let single = dir.path().join("s2.jsonl");
    let search = nasbo()
        .args([
            "search",
            "--strategy",
            "random",
            "--budget",
            "20",
            "--seed",
            "2",
            "--quiet",
        ])
        .arg("--benchmark")
        .arg(table())
        .arg("--out")
        .arg(&single)
        .output()
        .unwrap();
    assert!(search.status.success(), "{}", text(&search.stderr));
    let archs = |j: &[serde_json::Value]| j.iter().map(|t| t["arch"].clone()).collect::<Vec<_>>();
    assert_eq!(archs(&journal(&single)), archs(&journals[2]));
}

#[test]
fn bench_continues_in_the_same_folder_and_refuses_another_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let first = bench(&out, "20", &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();

    // Cut one journal short, as a killed run leaves it: the rerun resumes it, reads the other
    // three, and gets the same numbers.
    let cut = out.join("journals/random-s1.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&cut)
        .unwrap()
        .lines()
        .take(7)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&cut, lines.concat()).unwrap();
    let again = bench(&out, "20", &[]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let err = text(&again.stderr);
    assert!(
        err.contains("0 new, 1 resumed, 3 read from finished journals"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("summary.csv")).unwrap(),
        summary
    );
    assert_eq!(journal(&cut).len(), 20);

    // Another budget in the same folder is refused, and --overwrite starts afresh.
    let other = bench(&out, "30", &[]);
    assert!(!other.status.success());
    assert!(
        text(&other.stderr).contains("another setting"),
        "{}",
        text(&other.stderr)
    );
    let fresh = bench(&out, "30", &["--overwrite"]);
    assert!(fresh.status.success(), "{}", text(&fresh.stderr));
    assert!(text(&fresh.stderr).contains("4 new, 0 resumed, 0 read"));
    assert_eq!(journal(&cut).len(), 30);
}

#[test]
fn bench_help_has_examples() {
    let out = nasbo().args(["bench", "--help"]).output().unwrap();
    let help = text(&out.stdout);
    assert!(out.status.success());
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("--budget-seconds 12000"), "{help}");
    assert!(help.contains("--strategies <LIST>"), "{help}");
}

#[test]
fn bench_imports_runs_made_elsewhere_and_checks_them_against_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let first = bench(&out, "20", &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    // Another tool's runs: here copies of ours under another name.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    for s in 0..4 {
        std::fs::copy(
            out.join(format!("journals/random-s{s}.jsonl")),
            other.join(format!("copy-s{s}.jsonl")),
        )
        .unwrap();
    }
    let both = dir.path().join("both");
    let arg = other.to_str().unwrap();
    let run = bench(&both, "20", &["--import", arg]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(text(&run.stderr).contains("imported 4 run(s) of copy"));
    let rows = csv(&both.join("summary.csv"));
    assert_eq!(rows.len(), 4);
    let strip = |r: &std::collections::HashMap<String, String>| {
        let mut r = r.clone();
        r.remove("strategy");
        r
    };
    assert_eq!(strip(&rows[0]), strip(&rows[2]));
    assert_eq!(strip(&rows[1]), strip(&rows[3]));
    let svg = std::fs::read_to_string(both.join("regret.svg")).unwrap();
    assert_eq!(svg.matches("<polyline").count(), 2);

    // A run whose values are not the table's is refused.
    let path = other.join("copy-s1.jsonl");
    let tampered =
        std::fs::read_to_string(&path)
            .unwrap()
            .replacen("\"objective\":", "\"objective\":1", 1);
    std::fs::write(&path, tampered).unwrap();
    let run = bench(&dir.path().join("bad"), "20", &["--import", arg]);
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("not a run on this table"),
        "{}",
        text(&run.stderr)
    );
}

/// A journal's trials without their wall-clock times: what a run decided and saw.
fn decisions(path: &Path) -> Vec<serde_json::Value> {
    journal(path)
        .into_iter()
        .map(|mut t| {
            let t = t.as_object_mut().unwrap();
            t.remove("started_at");
            t.remove("finished_at");
            t.remove("study");
            serde_json::Value::Object(t.clone())
        })
        .collect()
}

#[test]
fn bench_config_runs_exactly_what_search_config_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "strategy = \"bo\"\nbudget = 20\n[bo]\nencoding = \"one-hot\"\ninitial = 5\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = nasbo()
            .args(args)
            .arg("--benchmark")
            .arg(table())
            .arg("--quiet")
            .current_dir(dir.path())
            .output()
            .expect("the nasbo binary runs");
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    run(&[
        "search", "--config", "c.toml", "--seed", "3", "--out", "s.jsonl",
    ]);
    run(&[
        "bench",
        "--config",
        "c.toml",
        "--first-seed",
        "3",
        "--seeds",
        "1",
        "--out",
        "b",
    ]);
    run(&[
        "search",
        "--strategy",
        "bo",
        "--budget",
        "20",
        "--seed",
        "3",
        "--out",
        "d.jsonl",
    ]);
    let searched = decisions(&dir.path().join("s.jsonl"));
    let benched = decisions(&dir.path().join("b/journals/bo-s3.jsonl"));
    assert_eq!(searched.len(), 20);
    assert_eq!(
        searched, benched,
        "bench --config must run what search --config runs"
    );
    let default = decisions(&dir.path().join("d.jsonl"));
    assert_ne!(searched, default, "the [bo] settings must change the run");
    // The folder records the settings it ran, and a rerun with other settings is refused.
    let manifest = std::fs::read_to_string(dir.path().join("b/bench.json")).unwrap();
    assert!(manifest.contains("\"one-hot\""), "{manifest}");
    let out = nasbo()
        .args([
            "bench",
            "--strategies",
            "bo",
            "--budget",
            "20",
            "--first-seed",
            "3",
        ])
        .args(["--seeds", "1", "--quiet", "--out", "b", "--benchmark"])
        .arg(table())
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a rerun with default settings must be refused"
    );
}

/// The incumbent's test accuracy among the trials whose simulated clock has ended by `t`.
fn incumbent_test_by(trials: &[serde_json::Value], t: f64) -> Option<f64> {
    let ended: Vec<serde_json::Value> = trials
        .iter()
        .filter(|x| x["clock"]["end_s"].as_f64().unwrap() <= t)
        .cloned()
        .collect();
    (!ended.is_empty()).then(|| incumbent_test(&ended, ended.len()))
}

#[test]
fn bench_with_simulated_workers_runs_on_a_simulated_clock() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("async");
    let run = bench(&out, "30", &["--workers", "1,3"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    for name in ["wall.md", "wall.csv", "regret-wall.svg"] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("| random-w3 | 4 |"), "{summary}");
    assert!(summary.contains("## By simulated wall-clock"), "{summary}");
    // A sequential journal has no clock; a simulated one has a clock on every trial, results
    // arrive in order, and never more than 3 trials run at once.
    assert!(journal(&out.join("journals/random-s0.jsonl"))
        .iter()
        .all(|t| t.get("clock").is_none()));
    let trials = journal(&out.join("journals/random-w3-s0.jsonl"));
    assert_eq!(trials.len(), 30);
    let ends: Vec<f64> = trials
        .iter()
        .map(|t| t["clock"]["end_s"].as_f64().unwrap())
        .collect();
    assert!(ends.windows(2).all(|w| w[0] <= w[1]));
    for t in &trials {
        let start = t["clock"]["start_s"].as_f64().unwrap();
        let running = trials
            .iter()
            .filter(|u| {
                u["clock"]["start_s"].as_f64().unwrap() <= start
                    && u["clock"]["end_s"].as_f64().unwrap() > start
            })
            .count();
        assert!(running <= 3, "{running} trials running at {start}");
    }
    // wall.csv agrees with the journals: the mean regret of random-w3 at each checkpoint.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    let reference = manifest["reference_test"].as_f64().unwrap();
    for row in csv(&out.join("wall.csv")) {
        if row["strategy"] != "random-w3" {
            continue;
        }
        let at: f64 = row["checkpoint"].parse().unwrap();
        let regrets: Vec<f64> = (0..4)
            .filter_map(|s| {
                let trials = journal(&out.join(format!("journals/random-w3-s{s}.jsonl")));
                incumbent_test_by(&trials, at).map(|v| reference - v)
            })
            .collect();
        let mean = regrets.iter().sum::<f64>() / regrets.len() as f64;
        let stated: f64 = row["regret_mean"].parse().unwrap();
        assert!((mean - stated).abs() < 1e-3, "at {at}: {mean} vs {stated}");
    }
    // A rerun reads the finished journals instead of running them again.
    let again = bench(&out, "30", &["--workers", "1,3"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("0 new"),
        "{}",
        text(&again.stderr)
    );
    // Zero workers is a usage error.
    let zero = bench(&dir.path().join("zero"), "30", &["--workers", "0"]);
    assert_eq!(zero.status.code(), Some(2), "{}", text(&zero.stderr));
}
