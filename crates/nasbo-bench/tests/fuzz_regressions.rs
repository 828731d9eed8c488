//! The regression inputs of the fuzz target `table` (`fuzz/regressions/table/`), replayed on
//! stable through the very checks the fuzz target runs (`fuzz/src/bench_tables.rs`, included
//! below): no input may panic or break an invariant of the benchmarks built from it, every
//! rejected table gets an error naming the file and the line, and the inputs that once crashed
//! give the error written here. See `fuzz/README.md`.

#[path = "../../../fuzz/src/bench_tables.rs"]
mod bench_tables;
#[path = "../../../fuzz/src/regressions.rs"]
mod regressions;
#[path = "../../../fuzz/src/shipped_spaces.rs"]
mod shipped_spaces;

use nasbo_bench::{BenchError, Dataset, Nb201Benchmark};
use nasbo_core::SearchSpace;
use regressions::{input, inputs};

#[test]
fn tables_replay() {
    // `table` asserts that a rejected table gets an error naming the file and the line.
    let (mut read, mut rejected, mut benchmarks) = (0, 0, 0);
    for (_, bytes) in inputs("table", 4) {
        match bench_tables::table(&bytes) {
            Ok(t) => {
                read += 1;
                benchmarks += t.benchmarks.len();
            }
            Err(_) => rejected += 1,
        }
    }
    assert!(
        read > 0 && rejected > 0,
        "{read} tables read, {rejected} rejected"
    );
    assert!(benchmarks > 0, "no kept table makes a benchmark");
}

#[test]
fn the_tiny_table_makes_both_benchmarks_of_its_space() {
    let kept = inputs("table", 4);
    let read = bench_tables::table(input(&kept, "seed-tiny.csv")).expect("tiny.csv reads");
    assert_eq!(read.table.len(), 78);
    // Maximised with report and cost columns, then minimised and required complete.
    let [max, min] = &read.benchmarks[..] else {
        panic!("expected 2 benchmarks, got {}", read.benchmarks.len());
    };
    assert_eq!(max.space().name(), "tiny-chain");
    let valid = read
        .table
        .numeric_column("valid_acc")
        .expect("a numeric column");
    let top = valid.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let bottom = valid.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(max.best().objective, top);
    assert_eq!(min.best().objective, bottom);
}

/// Found by the fuzz target `table`: an NB201 row after blank lines was blamed on the line
/// `row + 2` (line 2 for the fuzzer's input) instead of its own line of the file.
#[test]
fn an_nb201_row_after_blank_lines_is_named_by_its_own_line() {
    let kept = inputs("table", 4);
    for (name, line, arch) in [
        ("crash-72a73517-nb201-row-after-blank-lines.csv", 89, "4"),
        ("crash-nb201-row-after-blank-lines-min.csv", 4, "|bad|"),
    ] {
        let read = bench_tables::table(input(&kept, name)).expect("the table reads");
        match Nb201Benchmark::from_table(&read.table, Dataset::Cifar10) {
            Err(BenchError::Parse {
                line: got, message, ..
            }) => {
                assert_eq!(got, line, "{name}: {message}");
                let start = format!("cannot parse architecture `{arch}`: expected 3 node groups");
                assert!(message.starts_with(&start), "{name}: {message}");
            }
            other => panic!("{name}: expected a parse error, got {other:?}"),
        }
    }
}
