//! A benchmark table for any declared search space.
//!
//! The table is a CSV file (plain or gzipped) with one row per architecture:
//!
//! - one column per decision of the space, named like the decision, holding the choice. A
//!   column holds either choice names (compared ignoring whitespace) or choice indices
//!   (`0..n`): when every value of a column is a choice name it is read by name, otherwise
//!   every value must be an index. The cell of a decision that does not exist in the row's
//!   architecture (its condition is false) is ignored: leave it empty;
//! - an objective column, the value searched on (maximised or minimised);
//! - optional report columns, passed on in [`Evaluation::Ok::reported`] and never searched on
//!   (for example the test accuracy);
//! - an optional cost column: seconds of one evaluation, the simulated cost of a budget in
//!   time (0 when absent or empty).
//!
//! Other columns are ignored. Every architecture appears at most once. An architecture that
//! the table lacks, or whose objective cell is empty, evaluates to [`Evaluation::Failed`]
//! with the reason; with [`TableSpec::require_complete`] a table that does not cover the whole
//! space is refused when it is loaded instead.
//!
//! ```
//! use nasbo_core::declared::DeclaredSpace;
//! use nasbo_core::{Evaluation, Evaluator, SearchSpace};
//! use nasbo_bench::generic::{TableBenchmark, TableSpec};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let space = DeclaredSpace::from_toml_str(
//!     "name = \"toy\"\n[[decision]]\nname = \"a\"\nchoices = [\"x\", \"y\"]\n",
//!     "toy.toml",
//! )
//! .unwrap();
//! let path = dir.path().join("toy.csv");
//! std::fs::write(&path, "a,acc,test\nx,70,69\ny,75,73\n").unwrap();
//! let spec = TableSpec::new("acc").report(["test"]).require_complete(true);
//! let mut bench = TableBenchmark::load(&path, &space, spec).unwrap();
//! assert_eq!(bench.best().objective, 75.0);
//! let x = space.parse_arch("a=x").unwrap();
//! match bench.evaluate(&x, 0) {
//!     Evaluation::Ok { objective, reported, .. } => {
//!         assert_eq!(objective, 70.0);
//!         assert_eq!(reported["test"], 69.0);
//!     }
//!     failed => panic!("{failed:?}"),
//! }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use nasbo_core::declared::{DeclaredArch, DeclaredSpace};
use nasbo_core::{Evaluation, Evaluator, SearchSpace};
use serde::{Deserialize, Serialize};

use crate::{BenchError, Result, Table};

/// Which columns of a table are what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TableSpec {
    /// The column searched on.
    pub objective: String,
    /// Whether a larger objective is better (default true).
    #[serde(default = "default_maximize")]
    pub maximize: bool,
    /// Columns reported alongside, never searched on.
    #[serde(default)]
    pub report: Vec<String>,
    /// The column of seconds per evaluation, if any.
    #[serde(default)]
    pub cost: Option<String>,
    /// Refuse a table that lacks some architecture of the space.
    #[serde(default)]
    pub require_complete: bool,
}

fn default_maximize() -> bool {
    true
}

impl TableSpec {
    /// Maximise `objective`, no report or cost column, incomplete tables allowed.
    pub fn new(objective: impl Into<String>) -> TableSpec {
        TableSpec {
            objective: objective.into(),
            maximize: true,
            report: Vec::new(),
            cost: None,
            require_complete: false,
        }
    }

    /// Sets whether a larger objective is better.
    pub fn maximize(mut self, maximize: bool) -> TableSpec {
        self.maximize = maximize;
        self
    }

    /// Sets the report columns.
    pub fn report<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> TableSpec {
        self.report = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the cost column.
    pub fn cost(mut self, column: impl Into<String>) -> TableSpec {
        self.cost = Some(column.into());
        self
    }

    /// Sets whether the table must hold every architecture of the space.
    pub fn require_complete(mut self, yes: bool) -> TableSpec {
        self.require_complete = yes;
        self
    }
}

/// The best architecture of a table by its objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableBest {
    /// The architecture.
    pub arch: DeclaredArch,
    /// Its objective.
    pub objective: f64,
    /// Its report columns.
    pub reported: BTreeMap<String, f64>,
}

/// A table of results over a [`DeclaredSpace`], as an [`Evaluator`].
#[derive(Debug, Clone)]
pub struct TableBenchmark {
    space: DeclaredSpace,
    path: PathBuf,
    spec: TableSpec,
    rows: HashMap<DeclaredArch, usize>,
    archs: Vec<DeclaredArch>,
    objective: Vec<f64>,
    reported: Vec<(String, Vec<f64>)>,
    cost: Vec<f64>,
    best: TableBest,
}

impl TableBenchmark {
    /// Reads the table at `path` for `space` (see the module documentation for the format).
    pub fn load(
        path: impl AsRef<Path>,
        space: &DeclaredSpace,
        spec: TableSpec,
    ) -> Result<TableBenchmark> {
        TableBenchmark::from_table(&Table::read(path)?, space, spec)
    }

    /// Builds the benchmark from a table already read.
    pub fn from_table(
        table: &Table,
        space: &DeclaredSpace,
        spec: TableSpec,
    ) -> Result<TableBenchmark> {
        let path = table.path().to_path_buf();
        check_columns(table, space, &spec)?;
        let archs = read_archs(table, space)?;
        let mut rows = HashMap::with_capacity(archs.len());
        for (row, arch) in archs.iter().enumerate() {
            if let Some(first) = rows.insert(arch.clone(), row) {
                return Err(BenchError::Parse {
                    path,
                    line: table.line(row),
                    message: format!(
                        "this row repeats the architecture of line {}: {}",
                        table.line(first),
                        space.format_arch(arch)
                    ),
                });
            }
        }
        if spec.require_complete {
            let size = space.cardinality();
            if size != Some(archs.len() as u128) {
                return Err(BenchError::Incomplete {
                    path,
                    message: format!(
                        "the table holds {} architectures, the space `{}` has {} (and a complete table is required)",
                        archs.len(),
                        space.name(),
                        size.map_or("more than 2^128".to_string(), |s| s.to_string())
                    ),
                });
            }
        }
        let objective = table.numeric_column(&spec.objective)?;
        let reported = spec
            .report
            .iter()
            .map(|c| Ok((c.clone(), table.numeric_column(c)?)))
            .collect::<Result<Vec<_>>>()?;
        let cost = match &spec.cost {
            None => vec![0.0; archs.len()],
            Some(column) => read_cost(table, column)?,
        };
        let best_row = objective
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .min_by(|a, b| {
                let order = a.1.total_cmp(b.1);
                if spec.maximize {
                    order.reverse()
                } else {
                    order
                }
            })
            .map(|(row, _)| row)
            .ok_or_else(|| BenchError::Incomplete {
                path: path.clone(),
                message: format!("column `{}` has no finite value", spec.objective),
            })?;
        let best = TableBest {
            arch: archs[best_row].clone(),
            objective: objective[best_row],
            reported: report_map(&reported, best_row),
        };
        Ok(TableBenchmark {
            space: space.clone(),
            path,
            spec,
            rows,
            archs,
            objective,
            reported,
            cost,
            best,
        })
    }

    /// The space the table covers.
    pub fn space(&self) -> &DeclaredSpace {
        &self.space
    }

    /// The file the table was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The columns' roles.
    pub fn spec(&self) -> &TableSpec {
        &self.spec
    }

    /// Number of architectures in the table.
    pub fn len(&self) -> usize {
        self.archs.len()
    }

    /// Whether the table has no architecture.
    pub fn is_empty(&self) -> bool {
        self.archs.is_empty()
    }

    /// The architectures of the table, in row order.
    pub fn archs(&self) -> &[DeclaredArch] {
        &self.archs
    }

    /// The objective of `arch`; `None` when the table lacks it or its cell is empty.
    pub fn objective(&self, arch: &DeclaredArch) -> Option<f64> {
        let row = *self.rows.get(arch)?;
        Some(self.objective[row]).filter(|v| v.is_finite())
    }

    /// A report column's value for `arch`.
    pub fn reported(&self, arch: &DeclaredArch, column: &str) -> Option<f64> {
        let row = *self.rows.get(arch)?;
        let (_, values) = self.reported.iter().find(|(c, _)| c == column)?;
        Some(values[row]).filter(|v| v.is_finite())
    }

    /// The best architecture by the objective (the first such row on ties).
    pub fn best(&self) -> &TableBest {
        &self.best
    }

    /// The best value of a report column, in the objective's direction (for example the best
    /// test accuracy, the reference of test regret).
    pub fn best_reported(&self, column: &str) -> Option<(DeclaredArch, f64)> {
        let (_, values) = self.reported.iter().find(|(c, _)| c == column)?;
        let mut best: Option<usize> = None;
        for (row, v) in values.iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            let better = best.is_none_or(|b| {
                if self.spec.maximize {
                    *v > values[b]
                } else {
                    *v < values[b]
                }
            });
            if better {
                best = Some(row);
            }
        }
        best.map(|row| (self.archs[row].clone(), values[row]))
    }

    /// How much worse `arch`'s objective is than the table's best (≥ 0).
    pub fn regret(&self, arch: &DeclaredArch) -> Option<f64> {
        let value = self.objective(arch)?;
        Some(if self.spec.maximize {
            self.best.objective - value
        } else {
            value - self.best.objective
        })
    }
}

impl Evaluator<DeclaredArch> for TableBenchmark {
    fn evaluate(&mut self, arch: &DeclaredArch, _seed: u64) -> Evaluation {
        if let Err(e) = self.space.validate(arch) {
            return Evaluation::Failed {
                reason: e.to_string(),
                cost_s: 0.0,
            };
        }
        let text = || self.space.format_arch(arch);
        let Some(&row) = self.rows.get(arch) else {
            return Evaluation::Failed {
                reason: format!("{} is not in the table {}", text(), self.path.display()),
                cost_s: 0.0,
            };
        };
        let objective = self.objective[row];
        if !objective.is_finite() {
            return Evaluation::Failed {
                reason: format!(
                    "the table {} has no `{}` value for {}",
                    self.path.display(),
                    self.spec.objective,
                    text()
                ),
                cost_s: self.cost[row],
            };
        }
        Evaluation::Ok {
            objective,
            reported: report_map(&self.reported, row),
            cost_s: self.cost[row],
        }
    }

    fn objective_name(&self) -> &str {
        &self.spec.objective
    }

    fn maximize(&self) -> bool {
        self.spec.maximize
    }
}

fn report_map(reported: &[(String, Vec<f64>)], row: usize) -> BTreeMap<String, f64> {
    reported
        .iter()
        .filter(|(_, v)| v[row].is_finite())
        .map(|(c, v)| (c.clone(), v[row]))
        .collect()
}

/// Every column the space and the spec name must be in the header.
fn check_columns(table: &Table, space: &DeclaredSpace, spec: &TableSpec) -> Result<()> {
    let decisions = space.decision_list().iter().map(|d| d.name().to_string());
    let named = std::iter::once(spec.objective.clone())
        .chain(spec.report.iter().cloned())
        .chain(spec.cost.iter().cloned());
    let missing: Vec<String> = decisions
        .chain(named)
        .filter(|c| !table.has_column(c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(BenchError::MissingTableColumns {
        path: table.path().to_path_buf(),
        needed_by: format!(
            "decisions of space `{}`, objective, report and cost columns",
            space.name()
        ),
        missing,
        available: table.header().join(", "),
    })
}

/// Whether a decision's cell is empty (it must be when the decision does not exist).
fn is_blank(field: &str) -> bool {
    let f = field.trim();
    f.is_empty() || f == "-"
}

/// The choice index of every cell of one decision's column (`None` for blank cells).
fn read_column(table: &Table, space: &DeclaredSpace, i: usize) -> Result<Vec<Option<u32>>> {
    let decision = &space.decision_list()[i];
    let name = decision.name();
    let values = table.text_column(name)?;
    let n = decision.choices().len();
    let as_index = |v: &str| v.trim().parse::<usize>().ok().filter(|&c| c < n);
    let by_name: Vec<Option<usize>> = values.iter().map(|v| decision.choice_index(v)).collect();
    let first_other = values
        .iter()
        .zip(&by_name)
        .position(|(v, c)| !is_blank(v) && c.is_none());
    let error = |row: usize, message: String| BenchError::Parse {
        path: table.path().to_path_buf(),
        line: table.line(row),
        message: format!("column `{name}`: {message}"),
    };
    let Some(first_other) = first_other else {
        return Ok(by_name.iter().map(|c| c.map(|c| c as u32)).collect());
    };
    let allowed = format!(
        "the choices of `{name}` are {}, or their indices 0..{}",
        decision.choices().join(" | "),
        n - 1
    );
    if as_index(values[first_other]).is_none() {
        return Err(error(
            first_other,
            format!(
                "`{}` is not a choice; {allowed}",
                values[first_other].trim()
            ),
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(row, v)| {
            if is_blank(v) {
                return Ok(None);
            }
            as_index(v).map(|c| Some(c as u32)).ok_or_else(|| {
                error(
                    row,
                    format!(
                        "`{}` is not a choice index, but the column holds indices (line {} has `{}`); {allowed}",
                        v.trim(),
                        table.line(first_other),
                        values[first_other].trim()
                    ),
                )
            })
        })
        .collect()
}

/// The architecture of every row, checked: every decision that exists in a row has a value.
fn read_archs(table: &Table, space: &DeclaredSpace) -> Result<Vec<DeclaredArch>> {
    let decisions = space.decision_list();
    let columns: Vec<Vec<Option<u32>>> = (0..decisions.len())
        .map(|i| read_column(table, space, i))
        .collect::<Result<_>>()?;
    (0..table.len())
        .map(|row| {
            let given: Vec<Option<u32>> = columns.iter().map(|c| c[row]).collect();
            let choices: Vec<u32> = given.iter().map(|g| g.unwrap_or(0)).collect();
            let active = space.active_mask(&choices);
            if let Some(i) = (0..decisions.len()).find(|&i| active[i] && given[i].is_none()) {
                return Err(BenchError::Parse {
                    path: table.path().to_path_buf(),
                    line: table.line(row),
                    message: format!(
                        "column `{}` is empty, but the decision exists in this row's architecture",
                        decisions[i].name()
                    ),
                });
            }
            let choices: Vec<usize> = choices.iter().map(|&c| c as usize).collect();
            space.from_choices(&choices).map_err(|e| BenchError::Parse {
                path: table.path().to_path_buf(),
                line: table.line(row),
                message: e.to_string(),
            })
        })
        .collect()
}

/// Seconds per evaluation: finite and ≥ 0; empty cells cost 0.
fn read_cost(table: &Table, column: &str) -> Result<Vec<f64>> {
    let values = table.numeric_column(column)?;
    values
        .iter()
        .enumerate()
        .map(|(row, &v)| match v {
            v if v.is_nan() => Ok(0.0),
            v if v.is_finite() && v >= 0.0 => Ok(v),
            v => Err(BenchError::Parse {
                path: table.path().to_path_buf(),
                line: table.line(row),
                message: format!(
                    "column `{column}`: a cost is a finite number of seconds ≥ 0, found {v}"
                ),
            }),
        })
        .collect()
}
