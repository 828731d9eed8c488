//! End-to-end tests of the `nasbo` binary on spaces other than NAS-Bench-201: a space declared
//! in a file with its own table, and NASNet cells trained for real.

use std::path::PathBuf;
use std::process::{Command, Output};

fn nasbo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nasbo"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn summary(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().last().expect("a summary line");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is JSON ({e}): {text}"))
}

fn journal(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The tiny declared space's table: `valid_acc` per architecture, by its text form.
fn tiny_table() -> std::collections::HashMap<String, f64> {
    let space =
        nasbo_core::declared::DeclaredSpace::from_path(repo().join("datasets/declared/tiny.toml"))
            .unwrap();
    let spec = nasbo_bench::TableSpec::new("valid_acc").report(["test_acc"]);
    let bench =
        nasbo_bench::TableBenchmark::load(repo().join("datasets/declared/tiny.csv"), &space, spec)
            .unwrap();
    use nasbo_core::SearchSpace;
    bench
        .archs()
        .iter()
        .map(|a| (space.format_arch(a), bench.objective(a).unwrap()))
        .collect()
}

#[test]
fn every_strategy_searches_a_declared_space_on_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let values = tiny_table();
    let best = values.values().cloned().fold(f64::NEG_INFINITY, f64::max);
    for strategy in ["bo", "re", "ls", "reinforce", "random"] {
        let path = dir.path().join(format!("{strategy}.jsonl"));
        let out = nasbo()
            .args(["search", "--space-file"])
            .arg(repo().join("datasets/declared/tiny.toml"))
            .arg("--benchmark")
            .arg(repo().join("datasets/declared/tiny.csv"))
            .args([
                "--objective",
                "valid_acc:max",
                "--report",
                "test_acc",
                "--cost",
                "train_s",
            ])
            .args(["--strategy", strategy, "--budget", "30", "--quiet", "--out"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{strategy}: {}", stderr(&out));
        let s = summary(&out);
        assert_eq!(s["space"], "tiny-chain");
        let lines = journal(&path);
        assert_eq!(lines.len(), 30, "{strategy}");
        // Each trial is the table's row for its architecture, and no architecture repeats.
        let mut seen = std::collections::HashSet::new();
        for l in &lines {
            let arch = l["arch"].as_str().unwrap();
            assert!(seen.insert(arch.to_string()), "{strategy} repeated {arch}");
            assert_eq!(l["objective"].as_f64().unwrap(), values[arch], "{arch}");
        }
        let regret = s["test_regret"].as_f64().unwrap();
        assert!(regret >= 0.0, "{strategy}");
        assert!(s["best_valid_acc"].as_f64().unwrap() <= best);
    }
}

#[test]
fn declared_spaces_report_bad_files_and_missing_options() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"x\"\n\n[[decision]]\nname = \"a\"\nchoices = []\n",
    )
    .unwrap();
    let out = nasbo()
        .args(["search", "--space-file"])
        .arg(&bad)
        .arg("--benchmark")
        .arg(repo().join("datasets/declared/tiny.csv"))
        .args(["--objective", "valid_acc:max", "--out"])
        .arg(dir.path().join("j.jsonl"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("bad.toml") && err.contains(":5"), "{err}");

    let out = nasbo()
        .args(["search", "--space-file"])
        .arg(repo().join("datasets/declared/tiny.toml"))
        .arg("--benchmark")
        .arg(repo().join("datasets/declared/tiny.csv"))
        .args(["--out"])
        .arg(dir.path().join("k.jsonl"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("as its `objective`: COLUMN:max")
            && stderr(&out).contains("--objective"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bench_compares_strategies_on_a_declared_table() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("b");
    let out = nasbo()
        .args(["bench", "--space-file"])
        .arg(repo().join("datasets/declared/tiny.toml"))
        .arg("--benchmark")
        .arg(repo().join("datasets/declared/tiny.csv"))
        .args(["--objective", "valid_acc:max", "--report", "test_acc"])
        .args([
            "--strategies",
            "bo,random",
            "--seeds",
            "3",
            "--budget",
            "20",
            "--quiet",
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let md = std::fs::read_to_string(out_dir.join("summary.md")).unwrap();
    assert!(
        md.contains("| bo | 3 |") && md.contains("| random | 3 |"),
        "{md}"
    );
    // The summary speaks of the declared columns, not of NAS-Bench-201's splits.
    assert!(md.contains("Regret of `test_acc`"), "{md}");
    assert!(
        !md.contains("validation split") && !md.contains("Test regret"),
        "{md}"
    );
    let runs = std::fs::read_to_string(out_dir.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 6);
    // Each run's regret is the table's best test_acc (81.25) minus its incumbent's.
    for row in runs.lines().skip(1) {
        let fields: Vec<&str> = row.rsplitn(3, ',').collect();
        let regret: f64 = fields[1].parse().unwrap();
        assert!((0.0..=81.25).contains(&regret), "{row}");
    }
}

#[test]
fn nasnet_genotypes_are_searched_by_training_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nasnet.jsonl");
    let out = nasbo()
        .args([
            "search",
            "--space",
            "nasnet",
            "--evaluator",
            "train",
            "--dataset",
            "fashion-mnist",
        ])
        .args([
            "--epochs",
            "1",
            "--channels",
            "4",
            "--cells",
            "1",
            "--batch-size",
            "32",
        ])
        .args([
            "--train-limit",
            "128",
            "--strategy",
            "re",
            "--budget",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let s = summary(&out);
    assert_eq!(s["space"], "nasnet");
    let lines = journal(&path);
    assert_eq!(lines.len(), 1);
    for l in &lines {
        assert_eq!(l["status"], "ok", "{l}");
        // The genotype round-trips through its text form and was really trained.
        let g: nasbo_core::nasnet::Genotype = l["arch"].as_str().unwrap().parse().unwrap();
        assert_eq!(g.to_string(), l["arch"].as_str().unwrap());
        assert!(l["reported"]["params_m"].as_f64().unwrap() > 0.0);
        assert!(l["cost_s"].as_f64().unwrap() > 0.0);
    }
    // And a table evaluator is refused with advice.
    let out = nasbo()
        .args(["search", "--space", "nasnet", "--out"])
        .arg(dir.path().join("t.jsonl"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--evaluator train"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_declared_chain_space_is_searched_by_training_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.jsonl");
    let train = [
        "--evaluator",
        "train",
        "--dataset",
        "fashion-mnist",
        "--epochs",
        "1",
        "--channels",
        "4",
        "--batch-size",
        "32",
        "--train-limit",
        "128",
        "--quiet",
    ];
    let out = nasbo()
        .args(["search", "--space-file"])
        .arg(repo().join("datasets/declared/chain.toml"))
        .args(train)
        .args(["--strategy", "random", "--budget", "1", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = journal(&path);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], "ok", "{}", lines[0]);
    assert!(lines[0]["reported"]["params_m"].as_f64().unwrap() > 0.0);
    // A space whose choices are not layers cannot be trained, and the error says why.
    let out = nasbo()
        .args(["search", "--space-file"])
        .arg(repo().join("datasets/declared/nb201.toml"))
        .args(train)
        .args(["--budget", "1", "--out"])
        .arg(dir.path().join("x.jsonl"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("not trainable") && err.contains("nb201.toml"),
        "{err}"
    );
}

/// `nasbo ask` on `study` with `extra` options: the trial number and architecture handed out.
fn ask(study: &std::path::Path, extra: &[&str]) -> Result<(u64, String), String> {
    let out = nasbo()
        .args(["ask", "--study"])
        .arg(study)
        .args(extra)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(stderr(&out));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Ok((
        v["trial"].as_u64().unwrap(),
        v["arch"].as_str().unwrap().into(),
    ))
}

fn tell(study: &std::path::Path, trial: u64, objective: f64) {
    let out = nasbo()
        .args(["tell", "--study"])
        .arg(study)
        .args([
            "--trial",
            &trial.to_string(),
            "--objective",
            &objective.to_string(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn ask_and_tell_drive_bo_on_a_declared_space_to_its_optimum() {
    let dir = tempfile::tempdir().unwrap();
    let values = tiny_table();
    let best = values.values().cloned().fold(f64::NEG_INFINITY, f64::max);
    let space = repo().join("datasets/declared/tiny.toml");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "strategy = \"bo\"\nseed = 4\n[bo]\ninitial = 5\n").unwrap();
    let study = dir.path().join("study.jsonl");
    let opts = [
        "--space-file",
        space.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    // An external trainer that looks each architecture up in the table.
    let mut found_at = None;
    for i in 0..40 {
        let (trial, arch) = ask(&study, &opts).expect("ask succeeds");
        assert_eq!(trial, i);
        let value = values[&arch];
        tell(&study, trial, value);
        if value == best {
            found_at = Some(i + 1);
            break;
        }
    }
    let found_at = found_at.expect("BO through ask/tell reaches the table's optimum in 40 asks");
    // `nasbo search` with the same space and settings reaches it too.
    let out = nasbo()
        .args(["search", "--space-file"])
        .arg(&space)
        .arg("--benchmark")
        .arg(repo().join("datasets/declared/tiny.csv"))
        .args(["--objective", "valid_acc:max", "--config"])
        .arg(&config)
        .args(["--budget", "40", "--quiet", "--out"])
        .arg(dir.path().join("search.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(summary(&out)["best_valid_acc"].as_f64().unwrap(), best);
    assert!(found_at <= 40);
    // The study remembers its setting: another strategy or seed is refused, saying what differs.
    let err = ask(
        &study,
        &["--space-file", space.to_str().unwrap(), "--strategy", "re"],
    )
    .expect_err("another strategy is refused");
    assert!(err.contains("strategy: \"re\" (study: \"bo\")"), "{err}");
    assert!(err.contains("seed: 0 (study: 4)"), "{err}");
    let err = ask(&study, &[]).expect_err("another space is refused");
    assert!(err.contains("space: \"nb201\""), "{err}");
}

#[test]
fn ask_and_tell_search_nasnet_cells_with_an_external_trainer() {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("nasnet.jsonl");
    // A stand-in trainer: the more separable convolutions a genotype uses, the better.
    let score = |arch: &str| arch.matches("sep_conv").count() as f64;
    let mut seen = std::collections::HashSet::new();
    let mut best = f64::NEG_INFINITY;
    for i in 0..15 {
        let (trial, arch) = ask(&study, &["--space", "nasnet", "--strategy", "bo"]).unwrap();
        assert_eq!(trial, i);
        assert!(seen.insert(arch.clone()), "asked {arch} twice");
        best = best.max(score(&arch));
        tell(&study, trial, score(&arch));
    }
    let lines = journal(&study);
    assert_eq!(lines.len(), 15);
    assert!(lines.iter().all(|l| l["status"] == "ok"));
    assert_eq!(lines[0]["study"]["space"], "nasnet");
    assert!(best > 0.0);
}

#[test]
fn tell_refuses_numbers_a_journal_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("s.jsonl");
    let (trial, _) = ask(&study, &[]).unwrap();
    let before = std::fs::read_to_string(&study).unwrap();
    for cost in ["NaN", "inf", "-3"] {
        let out = nasbo()
            .args(["tell", "--study"])
            .arg(&study)
            .args([
                "--trial",
                &trial.to_string(),
                "--objective",
                "90",
                "--cost-s",
                cost,
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "--cost-s {cost}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("--cost-s"), "{}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&study).unwrap(), before);
    }
    tell(&study, trial, 90.0);
    assert!(ask(&study, &[]).is_ok(), "the study stays readable");
}

/// A declared table searched at fidelity columns; a column name the table lacks is a usage
/// error that lists the table's columns.
#[test]
fn a_declared_table_with_fidelity_columns_is_searched_and_a_wrong_column_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let csv = std::fs::read_to_string(repo().join("datasets/declared/tiny.csv")).unwrap();
    let mut rows = csv.lines();
    let mut table = format!("{},valid_1\n", rows.next().unwrap());
    for row in rows {
        let valid: f64 = row.split(',').nth(5).unwrap().parse().unwrap();
        table += &format!("{row},{}\n", valid - 3.0);
    }
    let path = dir.path().join("t.csv");
    std::fs::write(&path, table).unwrap();
    let run = |column: &str| {
        nasbo()
            .current_dir(repo())
            .args([
                "search",
                "--space-file",
                "datasets/declared/tiny.toml",
                "--benchmark",
            ])
            .arg(&path)
            .args([
                "--fidelities",
                "1,3",
                "--fidelity-columns",
                column,
                "--objective",
                "valid_acc:max",
                "--report",
                "test_acc",
                "--strategy",
                "asha",
                "--budget",
                "12",
                "--out",
            ])
            .arg(dir.path().join(format!("{column}.jsonl")))
            .output()
            .unwrap()
    };
    let out = run("valid_1");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("valid_1 (level 1) → valid_acc (level 3)"),
        "{text}"
    );
    let out = run("valid_one");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("valid_one") && err.contains("its columns are"),
        "{err}"
    );
}
