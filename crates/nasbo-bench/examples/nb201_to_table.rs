//! Converts the NAS-Bench-201 table into the generic format of `nasbo_bench::generic`, for
//! the declared space `datasets/declared/nb201.toml`:
//!
//! ```text
//! cargo run -p nasbo-bench --example nb201_to_table -- \
//!     $NASBO_DATA/nb201/nb201_cifar10.csv.gz OUT.csv [cifar10]
//! ```
//!
//! The output has one column per edge (`op_0_1` … `op_2_3`, holding op names), then
//! `valid_acc` (the split to search on), `test_acc` (the split to report) and `train_s`
//! (simulated seconds of a full 200-epoch training). A name ending in `.gz` is gzipped. Keep
//! the output outside the repository.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use flate2::write::GzEncoder;
use nasbo_bench::nb201::FULL_EPOCHS;
use nasbo_bench::{Dataset, Table};
use nasbo_core::nb201::Op;

const EDGE_COLUMNS: [&str; 6] = ["op_0_1", "op_0_2", "op_1_2", "op_0_3", "op_1_3", "op_2_3"];

fn run(args: &[String]) -> Result<usize, Box<dyn std::error::Error>> {
    let [input, output, rest @ ..] = args else {
        return Err("usage: nb201_to_table INPUT.csv[.gz] OUTPUT.csv[.gz] [DATASET]".into());
    };
    let dataset: Dataset = rest.first().map_or("cifar10", String::as_str).parse()?;
    let table = Table::read(input)?;
    let needed = [
        dataset.valid_column(),
        dataset.test_column(),
        dataset.cost_column(),
    ];
    let missing: Vec<&str> = EDGE_COLUMNS
        .into_iter()
        .chain(needed.iter().map(String::as_str))
        .filter(|c| !table.has_column(c))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{input}: no column(s) {} for dataset {dataset}; its columns are: {}",
            missing.join(", "),
            table.header().join(", ")
        )
        .into());
    }
    let ops: Vec<Vec<f64>> = EDGE_COLUMNS
        .iter()
        .map(|c| table.numeric_column(c))
        .collect::<Result<_, _>>()?;
    let valid = table.text_column(&dataset.valid_column())?;
    let test = table.text_column(&dataset.test_column())?;
    let per_epoch = table.numeric_column(&dataset.cost_column())?;

    let file = File::create(output)?;
    let mut out: Box<dyn Write> = if output.ends_with(".gz") {
        Box::new(GzEncoder::new(
            BufWriter::new(file),
            flate2::Compression::default(),
        ))
    } else {
        Box::new(BufWriter::new(file))
    };
    writeln!(out, "{},valid_acc,test_acc,train_s", EDGE_COLUMNS.join(","))?;
    for row in 0..table.len() {
        for (k, column) in ops.iter().enumerate() {
            let code = column[row];
            if code.fract() != 0.0 || code < 0.0 {
                return Err(format!(
                    "{}:{}: column `{}` holds `{code}`, not an op code",
                    input,
                    table.line(row),
                    EDGE_COLUMNS[k]
                )
                .into());
            }
            write!(out, "{},", Op::from_code(code as usize)?.name())?;
        }
        let seconds = per_epoch[row] * FULL_EPOCHS;
        let seconds = if seconds.is_finite() {
            seconds.to_string()
        } else {
            String::new()
        };
        writeln!(out, "{},{},{seconds}", valid[row].trim(), test[row].trim())?;
    }
    out.flush()?;
    Ok(table.len())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(rows) => {
            eprintln!("wrote {rows} rows to {}", args[1]);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
