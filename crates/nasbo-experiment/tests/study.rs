//! The experiment layer end to end: one spec gives the same run whichever command runs it, and
//! ask/tell drives a search on every space with an external "trainer" (a table lookup here).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use nasbo_bench::{TableBenchmark, TableSpec};
use nasbo_core::declared::DeclaredSpace;
use nasbo_core::SearchSpace;
use nasbo_experiment::ask::{ask, tell, Tell};
use nasbo_experiment::bench::{bench, BenchPlan};
use nasbo_experiment::search::{search, SearchJob, Silent};
use nasbo_experiment::spec::{SpaceKind, UsageError};
use nasbo_experiment::{StrategyKind, StudySpec};
use nasbo_search::BoConfig;

const WAIT: Duration = Duration::from_secs(10);

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn nb201_table() -> PathBuf {
    let dir = std::env::var_os("NASBO_DATA").expect(
        "set NASBO_DATA to the data folder that holds nb201/nb201_cifar10.csv.gz (the README's \
         test command does)",
    );
    PathBuf::from(dir).join("nb201/nb201_cifar10.csv.gz")
}

/// A journal's trials without their wall-clock times and the study record.
fn trials(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            for key in ["started_at", "finished_at", "study"] {
                o.remove(key);
            }
            v
        })
        .collect()
}

fn run_search(spec: &StudySpec, journal: &Path) {
    let job = SearchJob {
        spec,
        journal,
        resume: false,
        overwrite: false,
        data: None,
        stop: Arc::new(AtomicBool::new(false)),
        lock_timeout: WAIT,
    };
    search(&job, &Silent).unwrap();
}

#[test]
fn bench_runs_exactly_what_search_runs_for_one_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = StudySpec::read(&repo("benchmarks/configs/bo-one-hot.toml")).unwrap();
    assert_ne!(config.bo, BoConfig::default());
    let spec = StudySpec {
        benchmark: Some(nb201_table()),
        budget: Some(14),
        seed: Some(2),
        ..StudySpec::default()
    }
    .over(config);
    let searched = dir.path().join("search.jsonl");
    run_search(&spec, &searched);
    let plan = BenchPlan {
        spec: &spec,
        strategies: Vec::new(),
        workers: Vec::new(),
        seeds: 1,
        first_seed: spec.seed(),
        out: &dir.path().join("bench"),
        import: &[],
        jobs: Some(1),
        overwrite: false,
        stop: Arc::new(AtomicBool::new(false)),
        command: "test".into(),
    };
    let outcome = bench(&plan, &Silent).unwrap();
    assert!(outcome.markdown.contains("bo"), "{}", outcome.markdown);
    let benched = dir.path().join("bench/journals/bo-s2.jsonl");
    assert_eq!(trials(&searched).len(), 14);
    assert_eq!(trials(&searched), trials(&benched));
    // The bench folder records the settings that are not the defaults.
    let manifest = std::fs::read_to_string(dir.path().join("bench/bench.json")).unwrap();
    assert!(manifest.contains("one-hot"), "{manifest}");

    // The same search with BO's default settings is another search.
    let default = StudySpec {
        bo: BoConfig::default(),
        ..spec.clone()
    };
    let other = dir.path().join("default.jsonl");
    run_search(&default, &other);
    assert_ne!(trials(&searched), trials(&other));
}

/// The tiny declared space's config with its paths made absolute.
fn tiny_spec() -> StudySpec {
    let mut spec = StudySpec::read(&repo("benchmarks/configs/tiny-declared.toml")).unwrap();
    spec.space_file = Some(repo("datasets/declared/tiny.toml"));
    spec.benchmark = Some(repo("datasets/declared/tiny.csv"));
    spec
}

#[test]
fn ask_and_tell_drive_bo_to_the_optimum_of_a_declared_table() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tiny_spec();
    let space = DeclaredSpace::from_path(spec.space_file.as_ref().unwrap()).unwrap();
    let table = TableBenchmark::load(
        spec.benchmark.as_ref().unwrap(),
        &space,
        TableSpec::new("valid_acc").report(["test_acc"]),
    )
    .unwrap();
    let optimum = table
        .archs()
        .iter()
        .filter_map(|a| table.objective(a))
        .fold(f64::MIN, f64::max);

    // The external loop: ask, "train" by looking the table up, tell.
    let study = dir.path().join("study.jsonl");
    let mut best = f64::MIN;
    let mut asked = Vec::new();
    for _ in 0..30 {
        let answer = ask(&study, &spec, false, WAIT).unwrap();
        let text = answer["arch"].as_str().unwrap().to_string();
        let arch = space.parse_arch(&text).unwrap();
        let value = table
            .objective(&arch)
            .expect("every asked architecture is in the table");
        best = best.max(value);
        assert!(!asked.contains(&text), "{text} asked twice");
        asked.push(text);
        let told = Tell {
            trial: answer["trial"].as_u64().unwrap() as usize,
            outcome: Ok(value),
            reported: [("test_acc".to_string(), value - 1.0)].into(),
            cost_s: 1.0,
        };
        tell(&study, &told, WAIT).unwrap();
    }
    assert_eq!(best, optimum, "ask/tell did not reach the table's optimum");

    // `search` with the same spec reaches it too.
    let searched = dir.path().join("search.jsonl");
    run_search(&spec, &searched);
    let search_best = trials(&searched)
        .iter()
        .filter_map(|t| t["objective"].as_f64())
        .fold(f64::MIN, f64::max);
    assert_eq!(search_best, optimum);

    // An ask with another seed or strategy is refused, saying what differs.
    let other = StudySpec {
        seed: Some(9),
        strategy: Some(StrategyKind::Re),
        ..spec.clone()
    };
    let err = ask(&study, &other, false, WAIT).unwrap_err();
    assert!(err.is::<UsageError>());
    let text = err.to_string();
    assert!(
        text.contains("seed: 9") && text.contains("strategy"),
        "{text}"
    );
}

#[test]
fn ask_and_tell_work_on_nasnet_with_failures_and_reasks() {
    let dir = tempfile::tempdir().unwrap();
    let spec = StudySpec {
        space: Some(SpaceKind::Nasnet),
        seed: Some(1),
        ..StudySpec::default()
    };
    let study = dir.path().join("nasnet.jsonl");
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..14 {
        let answer = ask(&study, &spec, false, WAIT).unwrap();
        let arch = answer["arch"].as_str().unwrap().to_string();
        assert!(seen.insert(arch.clone()), "{arch} asked twice");
        let trial = answer["trial"].as_u64().unwrap() as usize;
        // A stand-in trainer: more separable convolutions score higher; every fifth crashes.
        let outcome = if round % 5 == 4 {
            Err("out of memory".to_string())
        } else {
            Ok(50.0 + arch.matches("sep_conv").count() as f64)
        };
        tell(
            &study,
            &Tell {
                trial,
                outcome,
                reported: Default::default(),
                cost_s: 2.0,
            },
            WAIT,
        )
        .unwrap();
    }
    // A pending trial is handed out again to a worker that asks for it.
    let pending = ask(&study, &spec, false, WAIT).unwrap();
    let again = ask(&study, &spec, true, WAIT).unwrap();
    assert_eq!(pending["trial"], again["trial"]);
    assert_eq!(again["reasked"], true);
    // A told trial cannot be told twice; a number a journal cannot hold is refused.
    let twice = Tell {
        trial: 0,
        outcome: Ok(1.0),
        reported: Default::default(),
        cost_s: 0.0,
    };
    assert!(tell(&study, &twice, WAIT).is_err());
    let bad = Tell {
        trial: pending["trial"].as_u64().unwrap() as usize,
        cost_s: f64::NAN,
        ..twice
    };
    assert!(tell(&study, &bad, WAIT).is_err());
    let header = nasbo_core::journal::read_header(&study).unwrap().unwrap();
    assert_eq!(header["space"], "nasnet");
    assert_eq!(header["evaluator"], "external");
    assert_eq!(trials(&study).len(), 15);
}

#[test]
fn a_declared_search_without_a_report_column_has_a_real_regret_in_its_own_words() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = tiny_spec();
    spec.report.clear();
    spec.budget = Some(12);
    let journal = dir.path().join("no-report.jsonl");
    let job = SearchJob {
        spec: &spec,
        journal: &journal,
        resume: false,
        overwrite: false,
        data: None,
        stop: Arc::new(AtomicBool::new(false)),
        lock_timeout: WAIT,
    };
    let outcome = search(&job, &Silent).unwrap();
    // Regret falls back to the objective column: the table's best valid_acc minus the
    // incumbent's, a real number.
    let regret = outcome.summary["valid_regret"].as_f64().unwrap();
    assert!(regret.is_finite() && regret >= 0.0, "{}", outcome.summary);
    let text = outcome.lines.join("\n");
    assert!(
        text.contains("searched on `valid_acc` (max); reported `valid_acc`"),
        "{text}"
    );
    assert!(
        !text.contains("validation split") && !text.contains("test split"),
        "{text}"
    );
    assert!(outcome.summary.get("table").is_some() && outcome.summary.get("dataset").is_none());
}

/// Two seeds of asha, asha-bo, mf-bo and random (which never promotes) on `spec`, one job, in
/// `dir/bench`: each run's strategy, whether it must promote (`None`: its own call), and its
/// trials.
fn successive_halving_runs(
    spec: &StudySpec,
    dir: &Path,
) -> Vec<(&'static str, Option<bool>, u64, Vec<serde_json::Value>)> {
    let out = dir.join("bench");
    let plan = successive_halving_plan(spec, &out);
    let outcome = bench(&plan, &Silent).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(outcome.markdown.contains("asha-bo"), "{}", outcome.markdown);
    let mut runs = Vec::new();
    for (name, promotes) in [
        ("asha", Some(true)),
        ("asha-bo", Some(true)),
        ("mf-bo", None),
        ("random", Some(false)),
    ] {
        for seed in 0..2 {
            let journal = out.join(format!("journals/{name}-s{seed}.jsonl"));
            runs.push((name, promotes, seed, trials(&journal)));
        }
    }
    runs
}

fn successive_halving_plan<'a>(spec: &'a StudySpec, out: &'a Path) -> BenchPlan<'a> {
    BenchPlan {
        spec,
        strategies: vec![
            StrategyKind::Asha,
            StrategyKind::AshaBo,
            StrategyKind::MfBo,
            StrategyKind::Random,
        ],
        workers: Vec::new(),
        seeds: 2,
        first_seed: 0,
        out,
        import: &[],
        jobs: Some(1),
        overwrite: false,
        stop: Arc::new(AtomicBool::new(false)),
        command: "test".into(),
    }
}

#[test]
fn successive_halving_promotes_the_best_cheap_results_and_pays_for_each_fidelity() {
    let dir = tempfile::tempdir().unwrap();
    let spec = StudySpec {
        benchmark: Some(nb201_table()),
        fidelities: vec![12, 200],
        budget_seconds: Some(8000.0),
        ..StudySpec::default()
    };
    let table =
        nasbo_bench::Nb201Benchmark::load(nb201_table(), nasbo_bench::Dataset::Cifar10).unwrap();
    for (name, promotes, seed, lines) in successive_halving_runs(&spec, dir.path()) {
        let mut cheap = Vec::new();
        let mut full = 0;
        for t in &lines {
            let arch = t["arch"].as_str().unwrap();
            let (cell, level) = arch.rsplit_once('@').unwrap();
            let fidelity = t["reported"]["fidelity"].as_f64().unwrap();
            assert_eq!(level, format!("{fidelity}"), "{t}");
            let cell: nasbo_core::nb201::Cell = cell.parse().unwrap();
            // Each fidelity is its own training: its validation accuracy and its epochs.
            let (valid, epochs) = if fidelity == 12.0 {
                cheap.push(cell);
                (table.low_fidelity_acc(&cell).unwrap(), 12.0)
            } else {
                // Only an architecture already evaluated cheaply is promoted.
                assert!(cheap.contains(&cell), "{name}: {cell} promoted unseen");
                full += 1;
                (table.valid_acc(&cell), 200.0)
            };
            assert!((t["objective"].as_f64().unwrap() - valid).abs() < 1e-9);
            let per_epoch = table.train_seconds(&cell) / 200.0;
            assert!((t["cost_s"].as_f64().unwrap() - per_epoch * epochs).abs() < 1e-6);
            assert!(
                (t["reported"]["test_acc"].as_f64().unwrap() - table.test_acc(&cell)).abs() < 1e-9
            );
        }
        if let Some(promotes) = promotes {
            assert_eq!(full > 0, promotes, "{name} seed {seed}: {full} promotions");
        }
        let last = lines.last().unwrap();
        if name == "mf-bo" {
            // The incumbent is the model's: a finished trial, at the highest fidelity its cell
            // reached.
            let r = last["recommended"].as_u64().unwrap() as usize;
            let cell_of = |t: &serde_json::Value| {
                t["arch"]
                    .as_str()
                    .unwrap()
                    .rsplit_once('@')
                    .unwrap()
                    .0
                    .to_string()
            };
            assert!(lines[r]["objective"].is_number(), "{}", lines[r]);
            let highest = lines
                .iter()
                .filter(|t| cell_of(t) == cell_of(&lines[r]))
                .map(|t| t["reported"]["fidelity"].as_f64().unwrap())
                .fold(0.0, f64::max);
            assert_eq!(lines[r]["reported"]["fidelity"].as_f64(), Some(highest));
            continue;
        }
        // The incumbent after the last trial is the best full evaluation.
        if promotes == Some(true) {
            let r = last["recommended"].as_u64().unwrap() as usize;
            let best_full = lines
                .iter()
                .filter(|t| t["reported"]["fidelity"] == 200.0)
                .map(|t| t["objective"].as_f64().unwrap())
                .fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(lines[r]["objective"].as_f64().unwrap(), best_full);
        } else {
            assert!(last.get("recommended").is_none());
        }
    }
    // Successive halving needs the fidelities.
    let single = StudySpec {
        fidelities: Vec::new(),
        ..spec.clone()
    };
    let out = dir.path().join("single");
    let plan = BenchPlan {
        strategies: vec![StrategyKind::Asha],
        ..successive_halving_plan(&single, &out)
    };
    let err = format!("{:#}", bench(&plan, &Silent).unwrap_err());
    assert!(err.contains("--fidelities 12,200"), "{err}");
}

/// NAS-Bench-201 declared in a file, its table's 12-epoch column declared as the cheap
/// fidelity: each rung is answered from its own column and charged the per-epoch cost column
/// times its epochs, exactly as the built-in NB201 ladder does.
#[test]
fn a_declared_table_is_searched_at_its_fidelity_columns() {
    let dir = tempfile::tempdir().unwrap();
    let space_path = repo("datasets/declared/nb201.toml");
    let space = DeclaredSpace::from_path(&space_path).unwrap();
    let (cheap_col, full_col, test_col, per_epoch_col) = (
        "e12_cifar10_valid_acc",
        "cifar10_valid_acc_200",
        "cifar10_test_acc_200",
        "cifar10_valid_train_s_per_epoch",
    );
    let table = TableBenchmark::load(
        nb201_table(),
        &space,
        TableSpec::new(cheap_col).report([full_col, test_col, per_epoch_col]),
    )
    .unwrap();
    let config = dir.path().join("ladder.toml");
    std::fs::write(
        &config,
        format!(
            "space-file = {space_path:?}\nbenchmark = {:?}\nfidelities = [12, 200]\n\
             fidelity-columns = [\"{cheap_col}\"]\nobjective = [\"{full_col}:max\"]\n\
             report = [\"{test_col}\"]\ncost = \"{per_epoch_col}\"\nbudget-seconds = 8000\n",
            nb201_table()
        ),
    )
    .unwrap();
    let spec = StudySpec::read(&config).unwrap();
    for (name, promotes, seed, lines) in successive_halving_runs(&spec, dir.path()) {
        let mut full = 0;
        for t in &lines {
            let (text, level) = t["arch"].as_str().unwrap().rsplit_once('@').unwrap();
            let arch = space.parse_arch(text).unwrap();
            let value = |col| table.reported(&arch, col).unwrap();
            let (objective, epochs) = match level {
                "12" => (table.objective(&arch).unwrap(), 12.0),
                "200" => {
                    full += 1;
                    (value(full_col), 200.0)
                }
                other => panic!("{name}: level {other} in {t}"),
            };
            assert_eq!(t["reported"]["fidelity"].as_f64(), Some(epochs), "{t}");
            assert!(
                (t["objective"].as_f64().unwrap() - objective).abs() < 1e-9,
                "{t}"
            );
            let cost = value(per_epoch_col) * epochs;
            assert!((t["cost_s"].as_f64().unwrap() - cost).abs() < 1e-6, "{t}");
            assert_eq!(
                t["reported"][test_col].as_f64(),
                Some(value(test_col)),
                "{t}"
            );
        }
        if let Some(promotes) = promotes {
            assert_eq!(full > 0, promotes, "{name} seed {seed}: {full} promotions");
        }
    }
}

/// A small declared table with one cost column per level: each rung is charged its own cost
/// column; without any cost a query is charged its level.
#[test]
fn declared_fidelities_charge_their_cost_columns_or_their_levels() {
    let dir = tempfile::tempdir().unwrap();
    let csv = std::fs::read_to_string(repo("datasets/declared/tiny.csv")).unwrap();
    let mut rows = csv.lines();
    let mut out = format!("{},acc_1,acc_3,c1,c3\n", rows.next().unwrap());
    for row in rows {
        let f: Vec<&str> = row.split(',').collect();
        let valid: f64 = f[f.len() - 3].parse().unwrap();
        let train_s: f64 = f[f.len() - 1].parse().unwrap();
        out += &format!(
            "{row},{},{},{train_s},{}\n",
            valid - 5.0 + (train_s % 7.0),
            valid,
            3.0 * train_s
        );
    }
    let table_path = dir.path().join("tiny-fidelities.csv");
    std::fs::write(&table_path, out).unwrap();
    let space_path = repo("datasets/declared/tiny.toml");
    let space = DeclaredSpace::from_path(&space_path).unwrap();
    let table = TableBenchmark::load(
        &table_path,
        &space,
        TableSpec::new("acc_3").report(["acc_1", "train_s"]),
    )
    .unwrap();
    for costs in ["fidelity-costs = [\"c1\", \"c3\"]\n", ""] {
        let config = dir.path().join("spec.toml");
        std::fs::write(
            &config,
            format!(
                "space-file = {space_path:?}\nbenchmark = {table_path:?}\nfidelities = [1, 3]\n\
                 fidelity-columns = [\"acc_1\", \"acc_3\"]\nobjective = [\"acc_3:max\"]\n\
                 strategy = \"asha\"\nbudget = 40\n{costs}[asha]\neta = 2\n"
            ),
        )
        .unwrap();
        let spec = StudySpec::read(&config).unwrap();
        let journal = dir.path().join("tiny.jsonl");
        let _ = std::fs::remove_file(&journal);
        run_search(&spec, &journal);
        let lines = trials(&journal);
        assert_eq!(lines.len(), 40);
        let mut best_full = f64::NEG_INFINITY;
        for t in &lines {
            let (text, level) = t["arch"].as_str().unwrap().rsplit_once('@').unwrap();
            let arch = space.parse_arch(text).unwrap();
            let train_s = table.reported(&arch, "train_s").unwrap();
            let (objective, cost) = match (level, costs.is_empty()) {
                ("1", false) => (table.reported(&arch, "acc_1").unwrap(), train_s),
                ("3", false) => (table.objective(&arch).unwrap(), 3.0 * train_s),
                ("1", true) => (table.reported(&arch, "acc_1").unwrap(), 1.0),
                ("3", true) => (table.objective(&arch).unwrap(), 3.0),
                other => panic!("{other:?} in {t}"),
            };
            if level == "3" {
                best_full = best_full.max(objective);
            }
            assert_eq!(t["objective"].as_f64(), Some(objective), "{t}");
            assert_eq!(t["cost_s"].as_f64(), Some(cost), "{t}");
        }
        // The incumbent is the best at the top level, not a better cheap result.
        let r = lines.last().unwrap()["recommended"].as_u64().unwrap() as usize;
        assert_eq!(lines[r]["objective"].as_f64(), Some(best_full), "{costs}");
    }
}

/// A spec for the declared NB201 space (with its graph) on the NB201 table, BO with `encoding`.
fn declared_nb201_spec(dir: &Path, space: &str, encoding: &str) -> StudySpec {
    let path = dir.join(format!("{encoding}.toml"));
    let text = format!(
        "space-file = {:?}\nbenchmark = {:?}\nobjective = [\"cifar10_valid_acc_200:max\"]\n\
         report = [\"cifar10_test_acc_200\"]\nstrategy = \"bo\"\nbudget = 14\nseed = 1\n\n\
         [bo]\ninitial = 5\nencoding = \"{encoding}\"\n",
        repo(space),
        nb201_table()
    );
    std::fs::write(&path, text).unwrap();
    StudySpec::read(&path).unwrap()
}

#[test]
fn bo_searches_a_declared_graph_with_wl_and_path_features_and_refuses_them_without_one() {
    let dir = tempfile::tempdir().unwrap();
    for encoding in ["wl", "path"] {
        let spec = declared_nb201_spec(dir.path(), "datasets/declared/nb201.toml", encoding);
        let journal = dir.path().join(format!("{encoding}.jsonl"));
        run_search(&spec, &journal);
        assert_eq!(trials(&journal).len(), 14, "{encoding}");
    }
    // The same space without its `[graph]`: a clear refusal.
    let text = std::fs::read_to_string(repo("datasets/declared/nb201.toml")).unwrap();
    let flat: String = text
        .lines()
        .filter(|l| {
            !l.starts_with("edge =") && !l.starts_with("nodes =") && !l.starts_with("removed =")
        })
        .map(|l| if l == "[graph]" { "" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    let flat_path = dir.path().join("flat.toml");
    std::fs::write(&flat_path, flat).unwrap();
    let mut spec = declared_nb201_spec(dir.path(), "datasets/declared/nb201.toml", "wl");
    spec.space_file = Some(flat_path);
    let job = SearchJob {
        spec: &spec,
        journal: &dir.path().join("flat.jsonl"),
        resume: false,
        overwrite: false,
        data: None,
        stop: Arc::new(AtomicBool::new(false)),
        lock_timeout: WAIT,
    };
    let err = format!("{:#}", search(&job, &Silent).unwrap_err());
    assert!(
        err.contains("the wl encoding reads the architectures' graph")
            && err.contains("declares none")
            && err.contains("[graph]"),
        "{err}"
    );
}

#[test]
fn an_equivalent_of_the_optimum_or_a_tie_reaches_the_target() {
    use nasbo_experiment::space::StudySpace;
    let dir = tempfile::tempdir().unwrap();
    let space_text = "name = \"pair\"\n\
        [[decision]]\nname = \"a\"\nchoices = [\"x\", \"y\", \"z\"]\n\
        [[decision]]\nname = \"b\"\nchoices = [\"x\", \"y\", \"z\"]\n\
        [[decision]]\nname = \"c\"\nchoices = [\"p\", \"q\"]\n\
        [[equivalent]]\ndecisions = [\"a\", \"b\"]\n";
    let space_path = dir.path().join("pair.toml");
    std::fs::write(&space_path, space_text).unwrap();
    let space = DeclaredSpace::from_path(&space_path).unwrap();
    // The best value is a=z,b=y,c=q's (10; the first row with it, so the target); its
    // permutation a=y,b=z,c=q is worth 9 here; a=z,b=z,c=q (a later row) ties the best.
    let mut csv = String::from("a,b,c,valid_acc,test_acc\n");
    for arch in space.enumerate(100).unwrap() {
        let ch = arch.choices();
        let v = match space.format_arch(&arch).as_str() {
            "a=z,b=y,c=q" | "a=z,b=z,c=q" => 10.0,
            "a=y,b=z,c=q" => 9.0,
            _ => f64::from(ch[0] + ch[1] + ch[2]),
        };
        csv.push_str(&format!("{},{},{},{v},{v}\n", ch[0], ch[1], ch[2]));
    }
    let table_path = dir.path().join("pair.csv");
    std::fs::write(&table_path, csv).unwrap();
    let spec = StudySpec {
        space_file: Some(space_path),
        benchmark: Some(table_path),
        objective: vec!["valid_acc:max".parse().unwrap()],
        report: vec!["test_acc".into()],
        ..StudySpec::default()
    };
    let setup = space.table(&spec).unwrap();
    let reaches = |text: &str| setup.reaches_target(&space.parse_arch(text).unwrap());
    assert_eq!(space.format_arch(&setup.target), "a=z,b=y,c=q");
    assert!(reaches("a=z,b=y,c=q"));
    assert!(reaches("a=y,b=z,c=q"), "an equivalent of the target");
    assert!(reaches("a=z,b=z,c=q"), "a tie");
    assert!(!reaches("a=z,b=z,c=p") && !reaches("a=y,b=y,c=q"));
}
