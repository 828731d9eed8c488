//! Checks against the real NAS-Bench-201 table. The data directory comes from `NASBO_DATA`
//! (the folder that holds `nb201/nb201_cifar10.csv.gz`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use nasbo_bench::{BenchError, Dataset, Nb201Benchmark, Table};
use nasbo_core::cost::Nb201Macro;
use nasbo_core::nb201::{Cell, N_CELLS};
use nasbo_core::{Evaluation, Evaluator};

fn table_path() -> PathBuf {
    let dir = std::env::var_os("NASBO_DATA").expect(
        "set NASBO_DATA to the data folder that holds nb201/nb201_cifar10.csv.gz (the README's test command does)",
    );
    let path = PathBuf::from(dir)
        .join("nb201")
        .join("nb201_cifar10.csv.gz");
    assert!(
        path.exists(),
        "{} does not exist: check NASBO_DATA",
        path.display()
    );
    path
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Table::read(table_path()).unwrap())
}

#[test]
fn official_index_matches_every_row() {
    let t = table();
    assert_eq!(t.len(), N_CELLS);
    let index = t.numeric_column("arch_index").unwrap();
    let arch = t.text_column("arch_str").unwrap();
    let ops: Vec<Vec<f64>> = ["op_0_1", "op_0_2", "op_1_2", "op_0_3", "op_1_3", "op_2_3"]
        .iter()
        .map(|c| t.numeric_column(c).unwrap())
        .collect();
    for row in 0..t.len() {
        let cell = Cell::from_official_index(index[row] as usize).unwrap();
        assert_eq!(cell.to_string(), arch[row], "row {row}");
        for (k, col) in ops.iter().enumerate() {
            assert_eq!(cell.ops[k].code() as f64, col[row], "row {row} edge {k}");
        }
    }
}

#[test]
fn cost_model_reproduces_params_and_flops_of_every_row() {
    let t = table();
    let arch = t.text_column("arch_str").unwrap();
    let params = t.numeric_column("params_mb_cifar10").unwrap();
    let flops = t.numeric_column("flops_m_cifar10").unwrap();
    let model = Nb201Macro::default();
    for row in 0..t.len() {
        let cell: Cell = arch[row].parse().unwrap();
        let cost = model.cost(&cell);
        // The table prints up to 10 significant digits.
        assert!(
            (cost.params_m() - params[row]).abs() <= 1e-9 * params[row].abs().max(1.0),
            "row {row}: params {} vs {}",
            cost.params_m(),
            params[row]
        );
        assert!(
            (cost.flops_m() - flops[row]).abs() <= 1e-9 * flops[row].abs().max(1.0),
            "row {row}: flops {} vs {}",
            cost.flops_m(),
            flops[row]
        );
    }
}

#[test]
fn the_optimum_comes_from_the_file() {
    let bench = Nb201Benchmark::from_table(table(), Dataset::Cifar10).unwrap();
    let opt = bench.optimum();
    assert_eq!(opt.best_valid.0.official_index(), 6111);
    assert!((opt.best_valid.1 - 91.60666665).abs() < 1e-6);
    // Best-by-validation is also (tied) best-by-test in this table: 94.37333333.
    assert!((opt.best_test.1 - 94.37333333).abs() < 1e-9);
    assert!((opt.best_test.1 - opt.best_valid.2).abs() < 1e-12);
    assert_eq!(bench.test_regret(&opt.best_test.0), 0.0);
}

#[test]
fn the_evaluator_searches_on_validation_and_reports_test() {
    let mut bench = Nb201Benchmark::from_table(table(), Dataset::Cifar10).unwrap();
    let cell = Cell::from_official_index(1).unwrap();
    match bench.evaluate(&cell, 0) {
        Evaluation::Ok {
            objective,
            reported,
            cost_s,
        } => {
            assert!((objective - 90.76933332).abs() < 1e-9);
            assert!((reported["test_acc"] - 93.66).abs() < 1e-9);
            assert!((cost_s - 10.84820688 * 200.0).abs() < 1e-6);
        }
        other => panic!("expected a result, got {other:?}"),
    }
    assert_eq!(bench.objective_name(), "cifar10_valid_acc_200");
    assert!((bench.low_fidelity_acc(&cell).unwrap() - 82.83399999).abs() < 1e-9);
}

#[test]
fn a_dataset_without_columns_names_them() {
    let err = Nb201Benchmark::from_table(table(), Dataset::Cifar100).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, BenchError::MissingColumns { .. }));
    for col in [
        "cifar100_valid_acc_200",
        "cifar100_test_acc_200",
        "cifar100_train_s_per_epoch",
    ] {
        assert!(msg.contains(col), "{msg}");
    }
    assert!(msg.contains("nb201_cifar10.csv.gz"), "{msg}");
}

#[test]
fn bad_files_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    // Truncated gzip: the first half of the real file.
    let bytes = std::fs::read(table_path()).unwrap();
    let truncated = dir.path().join("truncated.csv.gz");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = Nb201Benchmark::load(&truncated, Dataset::Cifar10).unwrap_err();
    assert!(matches!(err, BenchError::Io { .. }), "{err}");
    assert!(err.to_string().contains("truncated.csv.gz"), "{err}");

    let missing = dir.path().join("nope.csv");
    let err = Nb201Benchmark::load(&missing, Dataset::Cifar10).unwrap_err();
    assert!(err.to_string().contains("nope.csv"), "{err}");

    let bad_cell = dir.path().join("bad.csv");
    let mut f = std::fs::File::create(&bad_cell).unwrap();
    writeln!(
        f,
        "arch_str,cifar10_valid_acc_200,cifar10_test_acc_200,cifar10_valid_train_s_per_epoch"
    )
    .unwrap();
    writeln!(f, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|,1,2,3").unwrap();
    writeln!(f, "|bogus~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|,1,2,3").unwrap();
    drop(f);
    let err = Nb201Benchmark::load(&bad_cell, Dataset::Cifar10)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.csv:3:") && err.contains("unknown op `bogus`"),
        "{err}"
    );

    let short = dir.path().join("short.csv");
    std::fs::write(&short, "arch_str,cifar10_valid_acc_200,cifar10_test_acc_200,cifar10_valid_train_s_per_epoch\n|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|,1,2,3\n").unwrap();
    let err = Nb201Benchmark::load(&short, Dataset::Cifar10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected all 15625"), "{err}");

    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "a,b\n1,2\n3\n").unwrap();
    let err = Table::read(&ragged).unwrap_err().to_string();
    assert!(
        err.contains("ragged.csv:3:") && err.contains("expected 2 fields"),
        "{err}"
    );

    assert!("cifar1000"
        .parse::<Dataset>()
        .unwrap_err()
        .to_string()
        .contains("unknown dataset `cifar1000`"));
}

#[test]
fn attached_metrics_are_reported_from_another_table_joined_on_the_cell() {
    let latency_path = table_path().with_file_name("nb201_latency.csv.gz");
    let latency = Table::read(&latency_path).unwrap();
    let mut bench = Nb201Benchmark::from_table(table(), Dataset::Cifar10).unwrap();
    bench
        .attach_metrics(
            &latency,
            &[
                "help_pixel3_ms".to_string(),
                "eagle_desktop_cpu_i7_7820x_fp32_ms".to_string(),
            ],
        )
        .unwrap();
    bench
        .attach_metrics(table(), &["flops_m_cifar10".to_string()])
        .unwrap();
    // Row 1 of the latency file: help_pixel3_ms = 17.2381 for official index 1.
    let cell = Cell::from_official_index(1).unwrap();
    match bench.evaluate(&cell, 0) {
        Evaluation::Ok { reported, .. } => {
            assert!((reported["help_pixel3_ms"] - 17.2381).abs() < 1e-9);
            let flops = Nb201Macro::default().cost(&cell).flops_m();
            assert!((reported["flops_m_cifar10"] - flops).abs() < 0.01);
        }
        other => panic!("expected a result, got {other:?}"),
    }
    // Index 10 has no value in the eagle column: its evaluation fails and says why.
    match bench.evaluate(&Cell::from_official_index(10).unwrap(), 0) {
        Evaluation::Failed { reason, .. } => {
            assert!(
                reason.contains("eagle_desktop_cpu_i7_7820x_fp32_ms"),
                "{reason}"
            )
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let err = bench
        .attach_metrics(&latency, &["no_such_ms".to_string()])
        .unwrap_err();
    assert!(err.to_string().contains("no_such_ms"), "{err}");
}
