//! NAS-Bench-201 as an evaluator: answers from the benchmark's table.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use nasbo_core::nb201::{Cell, N_CELLS};
use nasbo_core::{Evaluation, Evaluator};
use serde::{Deserialize, Serialize};

use crate::{BenchError, Result, Table};

/// Epochs of one full training in the benchmark.
pub const FULL_EPOCHS: f64 = 200.0;

/// Epochs of the short training the paper's time-budget protocol searches on.
pub const EPOCHS_12: f64 = 12.0;

/// A dataset of NAS-Bench-201.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dataset {
    /// CIFAR-10: searched on the 25k validation half, reported on the test set.
    Cifar10,
    /// CIFAR-100.
    Cifar100,
    /// ImageNet16-120 (16×16 inputs, 120 classes).
    Imagenet16,
}

impl Dataset {
    /// All datasets.
    pub const ALL: [Dataset; 3] = [Dataset::Cifar10, Dataset::Cifar100, Dataset::Imagenet16];

    /// The name used in column names and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Cifar10 => "cifar10",
            Dataset::Cifar100 => "cifar100",
            Dataset::Imagenet16 => "imagenet16",
        }
    }

    /// The column searched on: validation accuracy after 200 epochs.
    pub fn valid_column(self) -> String {
        format!("{}_valid_acc_200", self.name())
    }

    /// The column reported: test accuracy after 200 epochs.
    pub fn test_column(self) -> String {
        format!("{}_test_acc_200", self.name())
    }

    /// Training seconds per epoch, the simulated cost.
    pub fn cost_column(self) -> String {
        match self {
            Dataset::Cifar10 => "cifar10_valid_train_s_per_epoch".into(),
            other => format!("{}_train_s_per_epoch", other.name()),
        }
    }

    /// Validation accuracy of a separate 12-epoch training: a cheap, low-fidelity signal.
    pub fn low_fidelity_column(self) -> String {
        format!("e12_{}_valid_acc", self.name())
    }

    /// Classes of the dataset.
    pub fn classes(self) -> usize {
        match self {
            Dataset::Cifar10 => 10,
            Dataset::Cifar100 => 100,
            Dataset::Imagenet16 => 120,
        }
    }

    /// Side of the input images.
    pub fn input_size(self) -> usize {
        match self {
            Dataset::Imagenet16 => 16,
            _ => 32,
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dataset {
    type Err = BenchError;

    fn from_str(s: &str) -> Result<Dataset> {
        match s.to_ascii_lowercase().as_str() {
            "cifar10" | "cifar-10" => Ok(Dataset::Cifar10),
            "cifar100" | "cifar-100" => Ok(Dataset::Cifar100),
            "imagenet16" | "imagenet16-120" | "imagenet" => Ok(Dataset::Imagenet16),
            _ => Err(BenchError::UnknownDataset(s.to_string())),
        }
    }
}

/// The best cells of a table, computed from the file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Optimum {
    /// The cell with the best test accuracy, and that accuracy: the reference for regret.
    pub best_test: (Cell, f64),
    /// The cell with the best validation accuracy, its validation and its test accuracy: the
    /// best a search on the validation split can hope to return.
    pub best_valid: (Cell, f64, f64),
}

/// NAS-Bench-201 for one dataset, as an [`Evaluator`] over cells.
#[derive(Debug, Clone)]
pub struct Nb201Benchmark {
    dataset: Dataset,
    objective_name: String,
    /// Indexed by [`Cell::code`].
    valid: Vec<f64>,
    test: Vec<f64>,
    seconds_per_epoch: Vec<f64>,
    low_fidelity: Option<Vec<f64>>,
    /// Epochs of the training searched on (200, or 12 under the paper's time protocol): each
    /// query costs this many epochs of the cell's training time.
    epochs: f64,
    optimum: Optimum,
    /// Further columns reported with every evaluation (latency, FLOPs), indexed by code.
    metrics: Vec<(String, Arc<Vec<f64>>)>,
}

impl Nb201Benchmark {
    /// Loads the table at `path` for `dataset`. The file must hold every cell once; the
    /// dataset's columns must be present (the error names those that are not).
    pub fn load(path: impl AsRef<Path>, dataset: Dataset) -> Result<Nb201Benchmark> {
        let table = Table::read(path)?;
        Nb201Benchmark::from_table(&table, dataset)
    }

    /// Builds the benchmark from a table already read.
    pub fn from_table(table: &Table, dataset: Dataset) -> Result<Nb201Benchmark> {
        let path = table.path().to_path_buf();
        let required = [
            dataset.valid_column(),
            dataset.test_column(),
            dataset.cost_column(),
        ];
        let missing: Vec<String> = ["arch_str".to_string()]
            .iter()
            .chain(required.iter())
            .filter(|c| !table.has_column(c))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(BenchError::MissingColumns {
                path,
                dataset: dataset.name().into(),
                missing,
                available: table.header().join(", "),
            });
        }
        let codes = cell_codes(table)?;
        let scatter = |column: &str| -> Result<Vec<f64>> {
            let values = table.numeric_column(column)?;
            let mut out = vec![f64::NAN; N_CELLS];
            for (&code, v) in codes.iter().zip(values) {
                out[code] = v;
            }
            Ok(out)
        };
        let valid = scatter(&required[0])?;
        let test = scatter(&required[1])?;
        let seconds_per_epoch = scatter(&required[2])?;
        let low_fidelity = if table.has_column(&dataset.low_fidelity_column()) {
            Some(scatter(&dataset.low_fidelity_column())?)
        } else {
            None
        };
        let optimum = optimum(&valid, &test).ok_or_else(|| BenchError::Incomplete {
            path: path.clone(),
            message: format!("column `{}` has no finite value", required[0]),
        })?;
        Ok(Nb201Benchmark {
            dataset,
            objective_name: required[0].clone(),
            valid,
            test,
            seconds_per_epoch,
            low_fidelity,
            epochs: FULL_EPOCHS,
            optimum,
            metrics: Vec::new(),
        })
    }

    /// The NAS-Bench-201 paper's time-budget protocol (Dong & Yang, 2020, §5; NATS-Bench
    /// after it): search on the validation accuracy of a separate **12-epoch** training
    /// (`e12_{dataset}_valid_acc`), charge each query **12 epochs** of the cell's training
    /// time, and report the 200-epoch test accuracy. The optimum's best-valid cell becomes the
    /// cell with the best 12-epoch validation accuracy; the regret's reference stays the
    /// table's best 200-epoch test accuracy.
    pub fn twelve_epoch_protocol(mut self) -> Result<Nb201Benchmark> {
        let column = self.dataset.low_fidelity_column();
        let Some(e12) = self.low_fidelity.clone() else {
            return Err(BenchError::Incomplete {
                path: std::path::PathBuf::from(format!("the {} table", self.dataset)),
                message: format!(
                    "the 12-epoch protocol needs the column `{column}`, which the table lacks"
                ),
            });
        };
        let optimum = optimum(&e12, &self.test).ok_or_else(|| BenchError::Incomplete {
            path: std::path::PathBuf::from(format!("the {} table", self.dataset)),
            message: format!("column `{column}` has no finite value"),
        })?;
        self.optimum.best_valid = optimum.best_valid;
        self.valid = e12;
        self.objective_name = column;
        self.epochs = EPOCHS_12;
        Ok(self)
    }

    /// Epochs of the training searched on: 200, or 12 under [`Self::twelve_epoch_protocol`].
    pub fn epochs(&self) -> f64 {
        self.epochs
    }

    /// Reports `columns` of `table` (the benchmark's own table, or another one over the same
    /// cells such as the latency table, joined on the cell) with every evaluation, under the
    /// column's name, so that a search can use them as objectives or constraints. A cell with
    /// an empty field makes its evaluation fail with a message naming the column.
    pub fn attach_metrics(&mut self, table: &Table, columns: &[String]) -> Result<()> {
        let codes = cell_codes(table)?;
        for column in columns {
            let values = table.numeric_column(column)?;
            let mut out = vec![f64::NAN; N_CELLS];
            for (&code, v) in codes.iter().zip(values) {
                out[code] = v;
            }
            self.metrics.retain(|(name, _)| name != column);
            self.metrics.push((column.clone(), Arc::new(out)));
        }
        Ok(())
    }

    /// The value of an attached metric for a cell.
    pub fn metric(&self, name: &str, cell: &Cell) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v[cell.code()])
    }

    /// The dataset.
    pub fn dataset(&self) -> Dataset {
        self.dataset
    }

    /// The table's optimum.
    pub fn optimum(&self) -> Optimum {
        self.optimum
    }

    /// Validation accuracy searched on (200-epoch, or 12-epoch under the paper's protocol).
    pub fn valid_acc(&self, cell: &Cell) -> f64 {
        self.valid[cell.code()]
    }

    /// Test accuracy (the split reported).
    pub fn test_acc(&self, cell: &Cell) -> f64 {
        self.test[cell.code()]
    }

    /// Simulated seconds of one query: the training searched on (200 epochs, or 12 under the
    /// paper's protocol).
    pub fn train_seconds(&self, cell: &Cell) -> f64 {
        self.seconds_per_epoch[cell.code()] * self.epochs
    }

    /// The 12-epoch validation accuracy, when the table has it.
    pub fn low_fidelity_acc(&self, cell: &Cell) -> Option<f64> {
        self.low_fidelity.as_ref().map(|v| v[cell.code()])
    }

    /// Test regret (percentage points) of returning `cell`: best test accuracy minus its own.
    pub fn test_regret(&self, cell: &Cell) -> f64 {
        self.optimum.best_test.1 - self.test_acc(cell)
    }
}

impl Evaluator<Cell> for Nb201Benchmark {
    fn evaluate(&mut self, arch: &Cell, _seed: u64) -> Evaluation {
        let objective = self.valid_acc(arch);
        let test = self.test_acc(arch);
        let cost_s = self.train_seconds(arch);
        if !objective.is_finite() || !test.is_finite() {
            return Evaluation::Failed {
                reason: format!("the table has no {} result for {arch}", self.dataset),
                cost_s: if cost_s.is_finite() { cost_s } else { 0.0 },
            };
        }
        let mut reported = BTreeMap::new();
        reported.insert("test_acc".to_string(), test);
        for (name, values) in &self.metrics {
            let v = values[arch.code()];
            if !v.is_finite() {
                return Evaluation::Failed {
                    reason: format!("the table has no `{name}` value for {arch}"),
                    cost_s: if cost_s.is_finite() { cost_s } else { 0.0 },
                };
            }
            reported.insert(name.clone(), v);
        }
        Evaluation::Ok {
            objective,
            reported,
            cost_s: if cost_s.is_finite() { cost_s } else { 0.0 },
        }
    }

    fn objective_name(&self) -> &str {
        &self.objective_name
    }
}

/// The base-5 code of each row's cell, checked: parsable, consistent with `arch_index` and the
/// op columns where present, each cell exactly once.
fn cell_codes(table: &Table) -> Result<Vec<usize>> {
    let path = table.path();
    let arch = table.text_column("arch_str")?;
    let index = if table.has_column("arch_index") {
        Some(table.numeric_column("arch_index")?)
    } else {
        None
    };
    let mut seen = vec![None::<usize>; N_CELLS];
    let mut codes = Vec::with_capacity(arch.len());
    for (row, text) in arch.iter().enumerate() {
        // The file's line, not `row + 2`: blank lines before the row are skipped.
        let line = table.line(row);
        let cell: Cell = text.parse().map_err(|e| BenchError::Parse {
            path: path.to_path_buf(),
            line,
            message: format!("{e}"),
        })?;
        if let Some(index) = &index {
            let official = cell.official_index();
            if index[row] != official as f64 {
                return Err(BenchError::Parse {
                    path: path.to_path_buf(),
                    line,
                    message: format!(
                        "arch_index {} does not match the official index {official} of {text}",
                        index[row]
                    ),
                });
            }
        }
        if let Some(first) = seen[cell.code()].replace(line) {
            return Err(BenchError::Parse {
                path: path.to_path_buf(),
                line,
                message: format!("cell {text} already appeared on line {first}"),
            });
        }
        codes.push(cell.code());
    }
    if codes.len() != N_CELLS {
        return Err(BenchError::Incomplete {
            path: path.to_path_buf(),
            message: format!(
                "expected all {N_CELLS} NAS-Bench-201 cells, found {} rows",
                codes.len()
            ),
        });
    }
    Ok(codes)
}

fn optimum(valid: &[f64], test: &[f64]) -> Option<Optimum> {
    let argmax = |v: &[f64]| {
        v.iter()
            .enumerate()
            .filter(|(_, x)| x.is_finite())
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .map(|(i, _)| i)
    };
    let bt = argmax(test)?;
    let bv = argmax(valid)?;
    let cell = |code| Cell::from_code(code).expect("codes are in range");
    Some(Optimum {
        best_test: (cell(bt), test[bt]),
        best_valid: (cell(bv), valid[bv], test[bv]),
    })
}
