//! A study's objectives and constraints (`objective`, `constraint`, `metrics-table`,
//! `reference-point` in its spec) resolved against its evaluator: what a search optimises
//! beyond the value searched on, and where each metric comes from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use nasbo_bench::{Dataset, Nb201Benchmark, Table};
use nasbo_core::cost::Nb201Macro;
use nasbo_core::nb201::{Cell, N_CELLS};
use nasbo_search::moo::ObjectiveSet;
use nasbo_search::pareto::{Comparison, Constraint, Objective};

use crate::spec::{usage, StudySpec};

/// Metrics computed from the architecture alone.
pub type Known<A> = Arc<dyn Fn(&A) -> BTreeMap<String, f64> + Send + Sync>;

/// The objectives of a search, resolved against its evaluator.
pub struct Resolved<A> {
    /// The objectives and constraints, names made the evaluator's (`valid_acc` becomes
    /// `cifar10_valid_acc_200` with the table).
    pub set: ObjectiveSet,
    /// Metrics known without training, and their names.
    pub known: Option<(Vec<String>, Known<A>)>,
    /// The hypervolume reference point in the minimisation convention.
    pub reference: Option<Vec<f64>>,
}

impl<A> Resolved<A> {
    /// The constraints on metrics known before training, as a predicate (`None` when there
    /// are none) and its description.
    fn known_filter(&self) -> Option<(String, impl Fn(&A) -> bool + Send + Sync + 'static)>
    where
        A: 'static,
    {
        let (names, known) = self.known.clone()?;
        let constraints: Vec<Constraint> = self
            .set
            .constraints
            .iter()
            .filter(|c| names.contains(&c.metric))
            .cloned()
            .collect();
        if constraints.is_empty() {
            return None;
        }
        let description = constraints
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Some((description, move |a: &A| {
            let values = known(a);
            constraints
                .iter()
                .all(|c| values.get(&c.metric).is_some_and(|&v| c.satisfied(v)))
        }))
    }

    /// `space` cut down by the constraints known before training, checked to admit something
    /// (on 5,000 seeded samples); `None` when there are no such constraints.
    pub fn filtered<S>(
        &self,
        space: &S,
        note: &dyn Fn(&str),
    ) -> Result<Option<nasbo_search::Filtered<S>>>
    where
        S: nasbo_core::SearchSpace<Arch = A> + Clone,
        A: 'static,
    {
        let Some((description, admits)) = self.known_filter() else {
            return Ok(None);
        };
        let filtered = nasbo_search::Filtered::new(space.clone(), description, admits);
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        let fraction = filtered.feasible_fraction(5000, &mut rng);
        if fraction == 0.0 {
            bail!(
                "no architecture of 5,000 sampled meets {}: loosen the constraint",
                filtered.description()
            );
        }
        note(&format!(
            "constraints known before training ({}) admit about {:.1}% of the space",
            filtered.description(),
            100.0 * fraction
        ));
        Ok(Some(filtered))
    }

    /// The constraints BO must model (measured ones), as indices into the set's metrics.
    pub fn measured_constraints(&self) -> Vec<nasbo_search::bo::MeasuredConstraint> {
        let known: Vec<String> = self
            .known
            .as_ref()
            .map(|(n, _)| n.clone())
            .unwrap_or_default();
        let names = self.set.metric_names();
        self.set
            .constraints
            .iter()
            .filter(|c| !known.contains(&c.metric))
            .map(|c| nasbo_search::bo::MeasuredConstraint {
                metric: names
                    .iter()
                    .position(|n| *n == c.metric)
                    .expect("constraint metrics are in the set"),
                bound: c.bound,
                upper: matches!(c.op, Comparison::Le | Comparison::Lt),
            })
            .collect()
    }
}

/// Renames `valid_acc` (and the evaluator's own name) to the evaluator's objective name.
pub fn canonical_set(spec: &StudySpec, objective_name: &str) -> ObjectiveSet {
    let rename = |n: &str| {
        if n == "valid_acc" || n == objective_name {
            objective_name.to_string()
        } else {
            n.to_string()
        }
    };
    let mut objectives: Vec<Objective> = spec
        .objective
        .iter()
        .map(|o| Objective {
            name: rename(&o.name),
            maximize: o.maximize,
        })
        .collect();
    if objectives.is_empty() {
        objectives.push(Objective {
            name: objective_name.to_string(),
            maximize: true,
        });
    }
    ObjectiveSet {
        objectives,
        constraints: spec
            .constraint
            .iter()
            .map(|c| Constraint {
                metric: rename(&c.metric),
                ..c.clone()
            })
            .collect(),
    }
}

/// Checks what every search needs of the objectives: at most three, the searched-on value
/// among them.
pub fn check(set: &ObjectiveSet, objective_name: &str) -> Result<()> {
    if set.objectives.len() > 3 {
        bail!(
            "{} objectives given: nasbo handles one to three (hypervolume and its improvement \
             are exact up to three)",
            set.objectives.len()
        );
    }
    if let Some(first) = set.objectives.first() {
        if first.name != objective_name {
            bail!(
                "the first `objective` must be the value searched on (`valid_acc:max`, here \
                 `{objective_name}`), got `{first}`: add it first, then the others"
            );
        }
        if !first.maximize {
            bail!(
                "the value searched on is maximised: give it as `{objective_name}:max` (a \
                 column to minimise, such as an error, is searched as its negation: add a \
                 column of minus its values)"
            );
        }
    }
    for (i, o) in set.objectives.iter().enumerate() {
        if set.objectives[..i].iter().any(|p| p.name == o.name) {
            bail!("objective `{}` is given twice", o.name);
        }
    }
    Ok(())
}

/// The reference point from the spec's `reference-point`, oriented, or from the worst value of each
/// objective as `worst` finds it.
pub fn reference_point(
    spec: &StudySpec,
    set: &ObjectiveSet,
    worst: impl Fn(&Objective) -> Option<f64>,
) -> Result<Option<Vec<f64>>> {
    if !set.is_multi() {
        return Ok(None);
    }
    if !spec.reference_point.is_empty() {
        if let Some(bad) = spec.reference_point.iter().find(|v| !v.is_finite()) {
            return Err(usage(format!(
                "`reference-point` must be finite numbers, one per objective (got {bad})"
            )));
        }
        if spec.reference_point.len() != set.objectives.len() {
            bail!(
                "`reference-point` has {} value(s) for {} objectives",
                spec.reference_point.len(),
                set.objectives.len()
            );
        }
        return Ok(Some(
            set.objectives
                .iter()
                .zip(&spec.reference_point)
                .map(|(o, &v)| o.minimized(v))
                .collect(),
        ));
    }
    set.objectives
        .iter()
        .map(|o| worst(o).map(|w| o.minimized(w)))
        .collect::<Option<Vec<f64>>>()
        .map(Some)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "give a `reference-point`: without a complete table the worst value of each \
                 objective is unknown"
            )
        })
}

/// The NAS-Bench-201 cost-model metrics (`flops_m`, `params_m`) for a dataset's network.
fn nb201_known(dataset: Dataset) -> (Vec<String>, Known<Cell>) {
    let model = Nb201Macro::benchmark(dataset.classes(), dataset.input_size());
    let known: Known<Cell> = Arc::new(move |c: &Cell| {
        let cost = model.cost(c);
        BTreeMap::from([
            ("flops_m".to_string(), cost.flops_m()),
            ("params_m".to_string(), cost.params_m()),
        ])
    });
    (vec!["flops_m".into(), "params_m".into()], known)
}

/// Resolves the objectives of a search on the NAS-Bench-201 table: attaches the table columns
/// they name (from the benchmark table, the `metrics-table` files, or the latency table beside
/// the benchmark) to `bench`, and finds the reference point over the whole table.
pub fn nb201_table(
    spec: &StudySpec,
    bench: &mut Nb201Benchmark,
    table: &Table,
    table_path: &Path,
) -> Result<Resolved<Cell>> {
    let objective_name = nasbo_core::Evaluator::objective_name(bench).to_string();
    let set = canonical_set(spec, &objective_name);
    check(&set, &objective_name)?;
    let ds = bench.dataset();
    let (known_names, known) = nb201_known(ds);
    let mut tables: Vec<PathBuf> = spec.metrics_table.clone();
    let beside = table_path.with_file_name("nb201_latency.csv.gz");
    if tables.is_empty() && beside.exists() {
        tables.push(beside);
    }
    let mut loaded: Vec<Table> = Vec::new();
    for name in spec.metric_names() {
        let name = if name == "valid_acc" {
            objective_name.clone()
        } else {
            name
        };
        if name == objective_name || known_names.contains(&name) {
            continue;
        }
        if table.has_column(&name) {
            bench.attach_metrics(table, std::slice::from_ref(&name))?;
            continue;
        }
        if loaded.is_empty() {
            for path in &tables {
                loaded.push(Table::read(path).with_context(|| {
                    format!("cannot read the metrics table {}", path.display())
                })?);
            }
        }
        match loaded.iter().find(|t| t.has_column(&name)) {
            Some(t) => bench.attach_metrics(t, std::slice::from_ref(&name))?,
            None => bail!(
                "metric `{name}` is not known: use valid_acc, flops_m, params_m, a column of {}{}",
                table_path.display(),
                if tables.is_empty() {
                    " (or give a `metrics-table` that has it)".to_string()
                } else {
                    format!(
                        " or of {}",
                        tables
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
        }
    }
    let cells: Vec<Cell> = (0..N_CELLS)
        .map(|i| Cell::from_code(i).expect("every code is a cell"))
        .collect();
    let value = |name: &str, c: &Cell| nb201_metric(bench, &objective_name, &known(c), name, c);
    let reference = reference_point(spec, &set, |o| {
        cells
            .iter()
            .map(|c| o.minimized(value(&o.name, c)))
            .filter(|v| v.is_finite())
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
            .map(|w| o.minimized(w))
    })?;
    Ok(Resolved {
        set,
        known: Some((known_names, known)),
        reference,
    })
}

/// Resolves the objectives of a search whose evaluator trains every cell: every metric must
/// be one the trainer reports (`params_m`, `flops_m`, `latency_ms_b1`, ...), measured on the
/// trained network; the reference point must be given for several objectives.
pub fn for_training<A>(spec: &StudySpec) -> Result<Resolved<A>> {
    let set = canonical_set(spec, "valid_acc");
    check(&set, "valid_acc")?;
    let reference = reference_point(spec, &set, |_| None)?;
    Ok(Resolved {
        set,
        known: None,
        reference,
    })
}

/// The objectives of a search whose evaluator measures every metric it is asked for (the
/// trainer, a command): [`for_training`]'s, or `None` when the spec has only the default
/// objective.
pub fn measured<A>(spec: &StudySpec) -> Result<Option<Resolved<A>>> {
    if spec.has_objectives() {
        Ok(Some(for_training(spec)?))
    } else {
        Ok(None)
    }
}

/// A cell's metric values in the order of `resolved.set.metric_names()`, from the table (the
/// objective and attached columns) and the cost model.
pub fn nb201_cell_metrics(
    bench: &Nb201Benchmark,
    resolved: &Resolved<Cell>,
    cell: &Cell,
) -> Vec<f64> {
    let objective_name = nasbo_core::Evaluator::objective_name(bench);
    let known = resolved
        .known
        .as_ref()
        .map(|(_, k)| k(cell))
        .unwrap_or_default();
    resolved
        .set
        .metric_names()
        .iter()
        .map(|name| nb201_metric(bench, objective_name, &known, name, cell))
        .collect()
}

/// One metric of a cell: the value searched on, a cost-model value (in `known`), or a column
/// attached to the benchmark (NaN where the table has none).
fn nb201_metric(
    bench: &Nb201Benchmark,
    objective_name: &str,
    known: &BTreeMap<String, f64>,
    name: &str,
    cell: &Cell,
) -> f64 {
    if name == objective_name {
        bench.valid_acc(cell)
    } else if let Some(v) = known.get(name) {
        *v
    } else {
        bench.metric(name, cell).unwrap_or(f64::NAN)
    }
}

/// What the whole table holds under the objectives: the best feasible cell by the searched-on
/// value and the best feasible test accuracy (the references of the regret under
/// constraints), and the hypervolume of the table's feasible Pareto front.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFront {
    /// The feasible cell with the best validation accuracy, its validation and test accuracy.
    pub best_valid: (Cell, f64, f64),
    /// The feasible cell with the best test accuracy and that accuracy.
    pub best_test: (Cell, f64),
    /// How many cells are feasible.
    pub feasible: usize,
    /// The hypervolume of the feasible front of the whole table (several objectives only).
    pub hypervolume: Option<f64>,
}

/// The [`TableFront`] of NAS-Bench-201 under `resolved`.
pub fn nb201_table_front(bench: &Nb201Benchmark, resolved: &Resolved<Cell>) -> Result<TableFront> {
    let mut best_valid: Option<(Cell, f64, f64)> = None;
    let mut best_test: Option<(Cell, f64)> = None;
    let mut points = Vec::new();
    let mut feasible = 0;
    for code in 0..N_CELLS {
        let cell = Cell::from_code(code).expect("every code is a cell");
        let metrics = nb201_cell_metrics(bench, resolved, &cell);
        if resolved.set.violation(&metrics) > 0.0 {
            continue;
        }
        let (v, t) = (bench.valid_acc(&cell), bench.test_acc(&cell));
        if !v.is_finite() || !t.is_finite() {
            continue;
        }
        feasible += 1;
        if best_valid.is_none_or(|b| v > b.1) {
            best_valid = Some((cell, v, t));
        }
        if best_test.is_none_or(|b| t > b.1) {
            best_test = Some((cell, t));
        }
        if let Some(p) = resolved.set.oriented(&metrics) {
            points.push(p);
        }
    }
    let (Some(best_valid), Some(best_test)) = (best_valid, best_test) else {
        bail!(
            "no cell of the table meets {}",
            resolved.set.constraints_text()
        );
    };
    let hypervolume = resolved
        .reference
        .as_ref()
        .filter(|_| resolved.set.is_multi())
        .map(|r| nasbo_search::pareto::hypervolume(&points, r));
    Ok(TableFront {
        best_valid,
        best_test,
        feasible,
        hypervolume,
    })
}

/// The NAS-Bench-201 table of a search or bench: the benchmark with the metrics its objectives
/// name attached, the objectives resolved (when any were given), the optimum (the best
/// feasible cells under constraints) and the hypervolume of the table's own front.
pub struct Nb201Table {
    /// The benchmark.
    pub bench: Nb201Benchmark,
    /// The objectives, when any were given.
    pub resolved: Option<Resolved<Cell>>,
    /// The best cells (feasible ones under constraints).
    pub optimum: nasbo_bench::Optimum,
    /// The hypervolume of the table's feasible front (several objectives).
    pub hypervolume: Option<f64>,
}

/// Loads the NAS-Bench-201 table at `path` for `dataset` under `spec`'s objectives.
///
/// With `epochs` 12, the paper's time-budget protocol: searched on the 12-epoch validation
/// accuracy, each query costs 12 epochs, the 200-epoch test accuracy is reported.
pub fn nb201_load(
    spec: &StudySpec,
    path: &Path,
    dataset: Dataset,
    epochs: u32,
) -> Result<Nb201Table> {
    let context = || format!("cannot load the benchmark table {}", path.display());
    let table = Table::read(path).with_context(context)?;
    let mut bench = Nb201Benchmark::from_table(&table, dataset).with_context(context)?;
    match epochs {
        200 => {}
        12 => bench = bench.twelve_epoch_protocol().with_context(context)?,
        other => {
            bail!("NAS-Bench-201 has results after 12 and 200 epochs of training, not {other}")
        }
    }
    let resolved = if spec.has_objectives() {
        Some(nb201_table(spec, &mut bench, &table, path)?)
    } else {
        None
    };
    let mut optimum = bench.optimum();
    let mut hypervolume = None;
    if let Some(r) = &resolved {
        let front = nb201_table_front(&bench, r)?;
        optimum.best_valid = front.best_valid;
        optimum.best_test = front.best_test;
        hypervolume = front.hypervolume;
    }
    Ok(Nb201Table {
        bench,
        resolved,
        optimum,
        hypervolume,
    })
}

impl<A> std::fmt::Debug for Resolved<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("set", &self.set)
            .field("known", &self.known.as_ref().map(|(names, _)| names))
            .field("reference", &self.reference)
            .finish()
    }
}

impl std::fmt::Debug for Nb201Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nb201Table")
            .field("resolved", &self.resolved)
            .field("optimum", &self.optimum)
            .field("hypervolume", &self.hypervolume)
            .finish_non_exhaustive()
    }
}
