//! What the fuzz target `table` checks on the CSV tables of `nasbo-bench`.
//!
//! [`table`] reads the input as a CSV (as `Table::read` reads a plain-text file), then builds
//! the benchmarks that `TableBenchmark::load` and `Nb201Benchmark::load` build from it,
//! panicking on any broken invariant. The fuzz target calls it;
//! `crates/nasbo-bench/tests/fuzz_regressions.rs` includes this file and calls it on the
//! regression inputs kept in `fuzz/regressions/table/`.

use std::path::Path;

use nasbo_bench::{BenchError, Dataset, Nb201Benchmark, Table, TableBenchmark, TableSpec};
use nasbo_core::declared::DeclaredSpace;
use nasbo_core::{Evaluation, Evaluator, SearchSpace};

use crate::shipped_spaces::shipped_spaces;

/// The name under which fuzzed tables appear in error messages.
pub const FUZZ_CSV: &str = "fuzz.csv";

/// A table that reads, and the generic benchmarks built from it.
#[derive(Debug)]
pub struct ReadTable {
    /// The table.
    pub table: Table,
    /// Every benchmark of the shipped spaces and column roles that the table makes.
    pub benchmarks: Vec<TableBenchmark>,
}

/// The column roles tried: those of `datasets/declared/tiny.csv`, and a minimised objective
/// on a table that must be complete.
fn specs() -> [TableSpec; 2] {
    [
        TableSpec::new("valid_acc")
            .report(["test_acc"])
            .cost("train_s"),
        TableSpec::new("valid_acc")
            .maximize(false)
            .require_complete(true),
    ]
}

/// Reads `bytes` as a CSV table and builds every benchmark it makes; see the module
/// documentation.
pub fn table(bytes: &[u8]) -> Result<ReadTable, BenchError> {
    let table = Table::from_reader(FUZZ_CSV, bytes).inspect_err(|e| {
        let last = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
        match e {
            BenchError::Parse { path, line, .. } => {
                assert_eq!(path, Path::new(FUZZ_CSV));
                assert!((1..=last).contains(line), "line {line} of {last}: {e}");
            }
            // Only text that is not UTF-8 fails to read from memory.
            BenchError::Io { path, line, error } => {
                assert_eq!(path, Path::new(FUZZ_CSV));
                assert!(line.is_some_and(|l| (1..=last).contains(&l)), "{e}");
                assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{e}");
            }
            other => panic!("unexpected table error: {other}"),
        }
    })?;
    assert_eq!(table.path(), Path::new(FUZZ_CSV));
    let lines: Vec<usize> = (0..table.len()).map(|row| table.line(row)).collect();
    assert!(lines.iter().all(|&l| l >= 2), "data starts on line 2");
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "lines increase");
    for name in table.header() {
        let text = table.text_column(name).expect("a header column");
        assert_eq!(text.len(), table.len());
        match table.numeric_column(name) {
            Ok(values) => assert_eq!(values.len(), table.len()),
            Err(BenchError::Parse { line, message, .. }) => {
                assert!(lines.contains(&line), "line {line} holds no row");
                assert!(message.contains("expected a number"), "{message}");
            }
            Err(other) => panic!("column `{name}`: {other}"),
        }
    }
    let mut benchmarks = Vec::new();
    for space in shipped_spaces() {
        for spec in specs() {
            if let Ok(bench) = TableBenchmark::from_table(&table, space, spec) {
                check_benchmark(&table, space, bench.clone());
                benchmarks.push(bench);
            }
        }
    }
    // Only the error paths are reachable: a complete NB201 table is far above the input size.
    match Nb201Benchmark::from_table(&table, Dataset::Cifar10) {
        Err(BenchError::Parse { line, message, .. }) => {
            assert!(lines.contains(&line), "line {line} holds no row: {message}");
        }
        Err(BenchError::MissingColumns { .. } | BenchError::Incomplete { .. }) => {}
        Err(other) => panic!("unexpected NB201 table error: {other}"),
        Ok(_) => panic!("a complete NB201 table in {} bytes", bytes.len()),
    }
    Ok(ReadTable { table, benchmarks })
}

/// A benchmark answers every architecture of its table consistently with its best one.
fn check_benchmark(table: &Table, space: &DeclaredSpace, mut bench: TableBenchmark) {
    assert_eq!(bench.len(), table.len());
    let best = bench.best().clone();
    assert!(best.objective.is_finite());
    assert_eq!(bench.objective(&best.arch), Some(best.objective));
    let maximize = bench.maximize();
    for arch in bench.archs().to_vec() {
        space
            .validate(&arch)
            .expect("a row's architecture is valid");
        let objective = bench.objective(&arch);
        if let Some(v) = objective {
            assert!(if maximize {
                v <= best.objective
            } else {
                v >= best.objective
            });
            let regret = bench.regret(&arch).expect("a row with an objective");
            assert!(regret >= 0.0, "regret {regret}");
        }
        match bench.evaluate(&arch, 0) {
            Evaluation::Ok {
                objective: v,
                cost_s,
                reported,
            } => {
                assert_eq!(Some(v), objective);
                assert!(cost_s.is_finite() && cost_s >= 0.0, "cost {cost_s}");
                assert!(reported.values().all(|r| r.is_finite()));
            }
            Evaluation::Failed { cost_s, .. } => {
                assert_eq!(objective, None);
                assert!(cost_s.is_finite() && cost_s >= 0.0, "cost {cost_s}");
            }
        }
    }
    if let Some((arch, value)) = bench.best_reported("test_acc") {
        assert_eq!(bench.reported(&arch, "test_acc"), Some(value));
    }
}
