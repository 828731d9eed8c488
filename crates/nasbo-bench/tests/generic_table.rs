//! The generic table benchmark on the committed fixture `datasets/declared/tiny.{toml,csv}`,
//! and its errors on broken copies of it.

use std::path::{Path, PathBuf};

use nasbo_bench::{BenchError, TableBenchmark, TableSpec};
use nasbo_core::declared::{DeclaredArch, DeclaredSpace};
use nasbo_core::{Evaluation, Evaluator, SearchSpace};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/declared")
        .join(name)
}

fn tiny() -> DeclaredSpace {
    DeclaredSpace::from_path(fixture("tiny.toml")).unwrap()
}

fn spec() -> TableSpec {
    TableSpec::new("valid_acc")
        .report(["test_acc"])
        .cost("train_s")
}

/// The formula that generated `tiny.csv` (see `datasets/declared/README.md`).
fn formula(space: &DeclaredSpace, arch: &DeclaredArch) -> (f64, f64, f64) {
    let depth: f64 = space.choice(arch, 0).unwrap().parse().unwrap();
    let (mut valid, mut cost) = (70.0 - 1.5 * (depth - 1.0), 10.0 * depth);
    for k in 1..=3 {
        match space.choice(arch, k) {
            Some(layer) if layer.starts_with("conv") => (valid, cost) = (valid + 3.0, cost + 5.0),
            Some(layer) if layer.starts_with("mbconv") => (valid, cost) = (valid + 4.5, cost + 8.0),
            _ => {}
        }
    }
    if space.choice(arch, 4).unwrap().starts_with("maxpool") {
        valid += 1.0;
    }
    (valid, valid - 1.0 + 0.25 * depth, cost)
}

#[test]
fn every_architecture_evaluates_to_its_row() {
    let space = tiny();
    let mut bench =
        TableBenchmark::load(fixture("tiny.csv"), &space, spec().require_complete(true)).unwrap();
    assert_eq!(bench.len() as u128, space.cardinality().unwrap());
    assert_eq!(bench.objective_name(), "valid_acc");
    assert!(bench.maximize());
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for _ in 0..200 {
        let arch = space.sample(&mut rng);
        let (valid, test, cost) = formula(&space, &arch);
        match bench.evaluate(&arch, 0) {
            Evaluation::Ok {
                objective,
                reported,
                cost_s,
            } => {
                assert_eq!(objective, valid, "{}", space.format_arch(&arch));
                assert_eq!(reported.len(), 1);
                assert_eq!(reported["test_acc"], test);
                assert_eq!(cost_s, cost);
            }
            failed => panic!("{failed:?}"),
        }
        assert!(bench.regret(&arch).unwrap() >= 0.0);
    }
    let best = bench.best().clone();
    assert_eq!(
        space.format_arch(&best.arch),
        "depth=3,layer_0=mbconv(expand=3, kernel=5),layer_1=mbconv(expand=3, kernel=5),layer_2=mbconv(expand=3, kernel=5),pool=maxpool(kernel=2)"
    );
    assert_eq!(best.objective, formula(&space, &best.arch).0);
    assert_eq!(bench.regret(&best.arch), Some(0.0));
    let (best_test_arch, best_test) = bench.best_reported("test_acc").unwrap();
    assert_eq!(best_test, formula(&space, &best_test_arch).1);
    for arch in bench.archs() {
        assert!(bench.reported(arch, "test_acc").unwrap() <= best_test);
        assert!(bench.objective(arch).unwrap() <= best.objective);
    }
}

#[test]
fn minimising_finds_the_smallest_value() {
    let space = tiny();
    let bench = TableBenchmark::load(fixture("tiny.csv"), &space, spec().maximize(false)).unwrap();
    let (valid, _, _) = formula(&space, &bench.best().arch);
    let min = bench
        .archs()
        .iter()
        .map(|a| formula(&space, a).0)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(valid, min);
    assert!(bench
        .archs()
        .iter()
        .all(|a| bench.regret(a).unwrap() >= 0.0));
}

/// Writes `text` as a table and loads it for the tiny space.
fn load_text(text: &str, spec: TableSpec) -> Result<TableBenchmark, BenchError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, text).unwrap();
    TableBenchmark::load(&path, &tiny(), spec)
}

fn parse_error(text: &str) -> (usize, String) {
    match load_text(text, spec()) {
        Err(BenchError::Parse { line, message, .. }) => (line, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

const HEADER: &str = "depth,layer_0,layer_1,layer_2,pool,valid_acc,test_acc,train_s\n";

#[test]
fn partial_tables_load_and_missing_archs_fail_cleanly() {
    // Columns by name (depth, pool) and by index (layers); whitespace inside names is ignored.
    let text = format!(
        "{HEADER}1,0,,,maxpool(kernel=2),71,70,10\n\n2,1,2,-,avgpool(kernel=2),80,79,23\n3,0,0,0,maxpool( kernel=2 ),,,30\n"
    );
    let mut bench = load_text(&text, spec()).unwrap();
    let space = tiny();
    assert_eq!(bench.len(), 3);
    let arch = space
        .parse_arch("depth=2,layer_0=conv(kernel=3, channels=16),layer_1=mbconv(expand=3, kernel=5),pool=avgpool(kernel=2)")
        .unwrap();
    assert_eq!(bench.objective(&arch), Some(80.0));
    let absent = space
        .parse_arch("depth=1,layer_0=identity,pool=avgpool(kernel=2)")
        .unwrap();
    match bench.evaluate(&absent, 0) {
        Evaluation::Failed { reason, cost_s } => {
            assert!(
                reason.contains(
                    "depth=1,layer_0=identity,pool=avgpool(kernel=2) is not in the table"
                ),
                "{reason}"
            );
            assert_eq!(cost_s, 0.0);
        }
        ok => panic!("{ok:?}"),
    }
    let empty = space
        .parse_arch(
            "depth=3,layer_0=identity,layer_1=identity,layer_2=identity,pool=maxpool(kernel=2)",
        )
        .unwrap();
    match bench.evaluate(&empty, 0) {
        Evaluation::Failed { reason, cost_s } => {
            assert!(reason.contains("has no `valid_acc` value"), "{reason}");
            assert_eq!(cost_s, 30.0);
        }
        ok => panic!("{ok:?}"),
    }
    match load_text(&text, spec().require_complete(true)) {
        Err(BenchError::Incomplete { message, .. }) => {
            assert!(message.contains("holds 3 architectures"), "{message}");
            assert!(message.contains("has 78"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_tables_are_refused_with_the_line_and_column() {
    let row = "1,0,,,0,71,70,10\n";
    let cases: [(String, usize, &[&str]); 7] = [
        (
            format!("{row}2,0,1,,0,72,70,10\n1,0,,,0,73,70,10\n"),
            4,
            &["repeats the architecture of line 2"],
        ),
        // A value for an inactive decision is ignored, so this row is a repeat too.
        (
            format!("{row}1,0,2,2,0,73,70,10\n"),
            3,
            &["repeats the architecture of line 2"],
        ),
        (
            format!("{row}2,0,,,0,72,70,10\n"),
            3,
            &["column `layer_1` is empty"],
        ),
        (
            format!("{row}1,conv(kernel=7),,,0,72,70,10\n"),
            3,
            &[
                "column `layer_0`: `conv(kernel=7)` is not a choice",
                "identity | conv(kernel=3, channels=16) | mbconv(expand=3, kernel=5), or their indices 0..2",
            ],
        ),
        (
            format!("{row}1,3,,,0,72,70,10\n"),
            3,
            &["`3` is not a choice index"],
        ),
        ("1,0,,,0,71,70,-5\n".into(), 2, &["column `train_s`"]),
        (
            "1,0,,,0,high,70,10\n".into(),
            2,
            &["column `valid_acc`: expected a number"],
        ),
    ];
    for (rows, line, fragments) in cases {
        let (got, message) = parse_error(&format!("{HEADER}{rows}"));
        assert_eq!(got, line, "{message}");
        for fragment in fragments {
            assert!(message.contains(fragment), "`{message}` lacks `{fragment}`");
        }
    }

    match load_text("depth,layer_0,pool,valid_acc\n1,0,0,70\n", spec()) {
        Err(BenchError::MissingTableColumns {
            missing, available, ..
        }) => {
            assert_eq!(missing, ["layer_1", "layer_2", "test_acc", "train_s"]);
            assert_eq!(available, "depth, layer_0, pool, valid_acc");
        }
        other => panic!("{other:?}"),
    }

    match load_text(&format!("{HEADER}1,0,,,0,,70,10\n"), spec()) {
        Err(BenchError::Incomplete { message, .. }) => {
            assert!(
                message.contains("`valid_acc` has no finite value"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn table_spec_reads_from_toml() {
    let spec: TableSpec = toml::from_str(
        "objective = \"valid_acc\"\nmaximize = false\nreport = [\"test_acc\"]\ncost = \"train_s\"\nrequire-complete = true\n",
    )
    .unwrap();
    assert_eq!(
        spec,
        TableSpec::new("valid_acc")
            .maximize(false)
            .report(["test_acc"])
            .cost("train_s")
            .require_complete(true)
    );
    assert!(toml::from_str::<TableSpec>("objective = \"a\"\nmaximise = true\n").is_err());
}
