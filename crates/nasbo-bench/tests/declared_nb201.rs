//! The declared NAS-Bench-201 space (`datasets/declared/nb201.toml`) with the generic table
//! benchmark reads the real table directly (its `op_i_j` columns are choice indices) and
//! agrees with the dedicated NB201 benchmark on every cell. The data directory comes from
//! `NASBO_DATA`, as for `nb201_table.rs`.

use std::path::{Path, PathBuf};

use nasbo_bench::{Dataset, Nb201Benchmark, Table, TableBenchmark, TableSpec};
use nasbo_core::declared::DeclaredSpace;
use nasbo_core::nb201::Nb201Space;
use nasbo_core::{Evaluation, Evaluator, SearchSpace};

fn table_path() -> PathBuf {
    let dir = std::env::var_os("NASBO_DATA").expect(
        "set NASBO_DATA to the data folder that holds nb201/nb201_cifar10.csv.gz (the README's test command does)",
    );
    PathBuf::from(dir)
        .join("nb201")
        .join("nb201_cifar10.csv.gz")
}

#[test]
fn generic_table_agrees_with_the_nb201_benchmark() {
    let space = DeclaredSpace::from_path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/declared/nb201.toml"),
    )
    .unwrap();
    let table = Table::read(table_path()).unwrap();
    let dataset = Dataset::Cifar10;
    let spec = TableSpec::new(dataset.valid_column())
        .report([dataset.test_column()])
        .cost(dataset.cost_column())
        .require_complete(true);
    let mut generic = TableBenchmark::from_table(&table, &space, spec).unwrap();
    let mut nb201 = Nb201Benchmark::from_table(&table, dataset).unwrap();
    assert_eq!(generic.len(), 15_625);
    for cell in Nb201Space.all_cells() {
        let arch = space
            .from_choices(&Nb201Space.to_choices(&cell).unwrap())
            .unwrap();
        match (generic.evaluate(&arch, 0), nb201.evaluate(&cell, 0)) {
            (
                Evaluation::Ok {
                    objective: a,
                    reported: ra,
                    cost_s: ca,
                },
                Evaluation::Ok {
                    objective: b,
                    reported: rb,
                    cost_s: cb,
                },
            ) => {
                assert_eq!(a, b, "{cell}");
                assert_eq!(ra[&dataset.test_column()], rb["test_acc"]);
                // The generic cost column here is seconds per epoch; NB201's is 200 epochs.
                assert!((ca * 200.0 - cb).abs() < 1e-9 * cb.max(1.0), "{cell}");
            }
            (a, b) => panic!("{cell}: {a:?} vs {b:?}"),
        }
    }
    let best = generic.best();
    let optimum = nb201.optimum();
    assert_eq!(best.objective, optimum.best_valid.1);
    assert_eq!(
        space.to_choices(&best.arch).unwrap(),
        Nb201Space.to_choices(&optimum.best_valid.0).unwrap()
    );
    let (_, best_test) = generic.best_reported(&dataset.test_column()).unwrap();
    assert_eq!(best_test, optimum.best_test.1);
}
