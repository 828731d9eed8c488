//! A declared space's table (`--space-file SPACE.toml --benchmark TABLE.csv --objective
//! COLUMN:max`) as the evaluator of `nasbo search` and the benchmark of `nasbo bench`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use nasbo_bench::{TableBenchmark, TableSpec};
use nasbo_core::declared::{DeclaredArch, DeclaredSpace};
use nasbo_core::SearchSpace;
use nasbo_search::moo::ObjectiveSet;
use nasbo_search::pareto::hypervolume;

use crate::bench_cmd::BenchSetup;
use crate::objectives::{self, ObjectiveArgs, Resolved};
use crate::search_cmd::{Scoring, TableOptimum};

/// The table, its columns' roles and the objectives of the search.
pub struct DeclaredTable {
    bench: TableBenchmark,
    path: PathBuf,
    objective: String,
    maximize: bool,
    /// The column regret is computed on: the first --report, else the objective itself.
    report: String,
    resolved: Option<Resolved<DeclaredArch>>,
}

/// Reads the table `--benchmark` names for `space` under the objective options.
pub fn load(
    space: &DeclaredSpace,
    benchmark: Option<&Path>,
    args: &ObjectiveArgs,
) -> Result<DeclaredTable> {
    let Some(path) = benchmark else {
        bail!(
            "a declared space is searched on a table: pass --benchmark TABLE.csv (one column per \
             decision, see datasets/declared/README.md)"
        );
    };
    let Some(first) = args.objectives.first() else {
        bail!(
            "with --space-file, name the table's column to search on: --objective COLUMN:max (or \
             :min), e.g. --objective valid_acc:max"
        );
    };
    let set = objectives::canonical_set(args, &first.name);
    objectives::check(&set, &first.name)?;
    // Every further metric is a column reported with each evaluation.
    let mut report = args.report.clone();
    if report.is_empty() {
        // No report column: regret is measured on the objective column itself, so each trial
        // reports it under its own name.
        report.push(first.name.clone());
    }
    for name in set.metric_names() {
        if name != first.name && !report.contains(&name) {
            report.push(name);
        }
    }
    let mut spec = TableSpec::new(first.name.clone())
        .maximize(first.maximize)
        .report(report.clone());
    if let Some(cost) = &args.cost {
        spec = spec.cost(cost.clone());
    }
    let bench = TableBenchmark::load(path, space, spec)?;
    let resolved = if set.is_multi() || !set.constraints.is_empty() {
        Some(resolve(&bench, set, args)?)
    } else {
        None
    };
    Ok(DeclaredTable {
        report: args.report.first().cloned().unwrap_or(first.name.clone()),
        objective: first.name.clone(),
        maximize: first.maximize,
        bench,
        path: path.to_path_buf(),
        resolved,
    })
}

/// A metric of an architecture: the objective column or a reported one.
fn value(bench: &TableBenchmark, objective: &str, name: &str, arch: &DeclaredArch) -> Option<f64> {
    if name == objective {
        bench.objective(arch)
    } else {
        bench.reported(arch, name)
    }
}

fn resolve(
    bench: &TableBenchmark,
    set: ObjectiveSet,
    args: &ObjectiveArgs,
) -> Result<Resolved<DeclaredArch>> {
    let objective = set.objectives[0].name.clone();
    let reference = objectives::reference_point(args, &set, |o| {
        bench
            .archs()
            .iter()
            .filter_map(|a| value(bench, &objective, &o.name, a))
            .map(|v| o.minimized(v))
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
            .map(|w| o.minimized(w))
    })?;
    Ok(Resolved {
        set,
        known: None,
        reference,
    })
}

impl DeclaredTable {
    /// The metric values of a row in the set's order.
    fn metrics(&self, set: &ObjectiveSet, arch: &DeclaredArch) -> Vec<f64> {
        set.metric_names()
            .iter()
            .map(|n| value(&self.bench, &self.objective, n, arch).unwrap_or(f64::NAN))
            .collect()
    }

    /// The best row by the objective and the best by the report column, among the feasible
    /// rows; and the hypervolume of the table's feasible front.
    fn optimum(&self) -> Result<(DeclaredArch, f64, f64, DeclaredArch, f64, Option<f64>)> {
        let better = |a: f64, b: f64| if self.maximize { a > b } else { a < b };
        let mut best_obj: Option<(DeclaredArch, f64, f64)> = None;
        let mut best_rep: Option<(DeclaredArch, f64)> = None;
        let mut points = Vec::new();
        for arch in self.bench.archs() {
            let (Some(o), Some(r)) = (
                self.bench.objective(arch),
                value(&self.bench, &self.objective, &self.report, arch),
            ) else {
                continue;
            };
            if let Some(res) = &self.resolved {
                let m = self.metrics(&res.set, arch);
                if res.set.violation(&m) > 0.0 {
                    continue;
                }
                if let Some(p) = res.set.oriented(&m) {
                    points.push(p);
                }
            }
            if best_obj.as_ref().is_none_or(|b| better(o, b.1)) {
                best_obj = Some((arch.clone(), o, r));
            }
            if best_rep.as_ref().is_none_or(|b| better(r, b.1)) {
                best_rep = Some((arch.clone(), r));
            }
        }
        let (Some(o), Some(r)) = (best_obj, best_rep) else {
            bail!(
                "no row of {} has values (that meet the constraints)",
                self.path.display()
            );
        };
        let hv = self
            .resolved
            .as_ref()
            .filter(|r| r.set.is_multi())
            .and_then(|r| r.reference.as_ref())
            .map(|reference| hypervolume(&points, reference));
        Ok((o.0, o.1, o.2, r.0, r.1, hv))
    }

    /// The scoring of `nasbo search`.
    pub fn scoring(self) -> Result<Scoring<DeclaredArch>> {
        let space = self.bench.space().clone();
        let (target, _, target_report, best_arch, best_report, _) = self.optimum()?;
        let direction = if self.maximize { "max" } else { "min" };
        Ok(Scoring {
            header: format!("the table {}", self.path.display()),
            protocol: format!(
                "searched on `{}` ({direction}); reported `{}`",
                self.objective, self.report
            ),
            reported_key: self.report.clone(),
            optimum: Some(TableOptimum {
                best_report,
                best_report_arch: space.format_arch(&best_arch),
                best_objective_arch: space.format_arch(&target),
                best_objective_report: target_report,
                maximize: self.maximize,
            }),
            resolved: self.resolved,
            evaluator: Box::new(self.bench),
        })
    }

    /// The setup of `nasbo bench`.
    pub fn bench_setup(self, space: DeclaredSpace) -> Result<BenchSetup<DeclaredSpace>> {
        let (target, target_obj, target_report, best_arch, best_report, hv) = self.optimum()?;
        let dataset = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (lookup, objective, report) = (
            self.bench.clone(),
            self.objective.clone(),
            self.report.clone(),
        );
        let bench = self.bench;
        Ok(BenchSetup {
            benchmark: space.name().to_string(),
            reference_arch: space.format_arch(&best_arch),
            space,
            evaluator: Box::new(move || Box::new(bench.clone())),
            maximize: self.maximize,
            dataset,
            table: self.path,
            searched_on: self.objective,
            reported: self.report.clone(),
            reported_key: self.report,
            reference: best_report,
            target,
            target_values: (target_obj, target_report),
            lookup: Box::new(move |a| {
                Some((
                    lookup.objective(a)?,
                    value(&lookup, &objective, &report, a)?,
                ))
            }),
            resolved: self.resolved,
            table_hypervolume: hv,
        })
    }
}
