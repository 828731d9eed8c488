//! Complete tables as evaluators: NAS-Bench-201's and a declared space's, each described once
//! as a [`TableSetup`] (the columns searched on and reported, the optimum, the front) that
//! `search`, `bench` and `ask` share.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Result};
use nasbo_bench::{Dataset, Table, TableBenchmark, TableSpec};
use nasbo_core::declared::{DeclaredArch, DeclaredSpace};
use nasbo_core::fidelity::{Ladder, LadderEvaluator, Rung};
use nasbo_core::nb201::Nb201Space;
use nasbo_core::{Evaluation, Evaluator, SearchSpace};
use nasbo_search::moo::ObjectiveSet;
use nasbo_search::pareto::hypervolume;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::objectives::{self, Resolved};
use crate::spec::StudySpec;

/// The NAS-Bench-201 table in a data folder (`NASBO_DATA` for the binary).
pub fn nb201_table_in(data: &Path) -> PathBuf {
    data.join("nb201").join("nb201_cifar10.csv.gz")
}

/// The spec's `benchmark`, which a table search needs.
pub fn benchmark_path(benchmark: Option<&Path>) -> Result<PathBuf> {
    benchmark.map(Path::to_path_buf).ok_or_else(|| {
        crate::spec::usage(
            "no benchmark table: give the `benchmark` (the NAS-Bench-201 CSV export, see \
             datasets/README.md)",
        )
    })
}

/// The table's (objective, reported) values of an architecture, if it has them.
pub type Lookup<A> = Box<dyn Fn(&A) -> Option<(f64, f64)> + Sync>;

/// A complete table as every command uses it: the space, a fresh evaluator per run, what a
/// search and a benchmark say of it (the columns searched on and reported, in the table's own
/// words) and its optimum (the reference of the regret, the target architecture): computed
/// once here for every kind of table.
pub struct TableSetup<S: SearchSpace> {
    /// The space searched.
    pub space: S,
    /// Makes the evaluator of one run.
    pub evaluator: Box<dyn Fn() -> Box<dyn Evaluator<S::Arch> + Send> + Sync>,
    /// Whether a larger objective is better.
    pub maximize: bool,
    /// The benchmark's name (`NAS-Bench-201`, the declared space's name).
    pub benchmark: String,
    /// The dataset or table it belongs to (`cifar10`).
    pub dataset: String,
    /// The table file.
    pub table: PathBuf,
    /// The column searched on.
    pub searched_on: String,
    /// The column reported.
    pub reported: String,
    /// The key of the reported value in a trial's `reported` map (`test_acc`).
    pub reported_key: String,
    /// The table's best reported value: the reference of the regret.
    pub reference: f64,
    /// The architecture that has it.
    pub reference_arch: String,
    /// The architecture with the best searched-on value: the target of "queries to target"
    /// (which any architecture of the same value reaches, see [`TableSetup::reaches_target`]).
    pub target: S::Arch,
    /// Its searched-on and reported values.
    pub target_values: (f64, f64),
    /// What a search on it says it runs on (`NAS-Bench-201 cifar10`, `the table t.csv`).
    pub header: String,
    /// Which values are searched on and which only reported, in the table's words.
    pub protocol: String,
    /// The table's (objective, reported) values of an architecture, to check imported runs.
    pub lookup: Lookup<S::Arch>,
    /// Objectives and constraints beyond the default.
    pub resolved: Option<Resolved<S::Arch>>,
    /// The hypervolume of the table's own feasible front (several objectives).
    pub table_hypervolume: Option<f64>,
}

impl<S: SearchSpace> TableSetup<S>
where
    S::Arch: 'static,
{
    /// The same setup with seeded Gaussian noise of standard deviation `sd` added to every
    /// answer's objective (the value searched on; reported values stay exact): a table as
    /// noisy as a real training's validation accuracy. The noise of a trial comes from its
    /// evaluator seed, so a run stays reproducible. `None` or 0 leaves the table exact.
    pub fn with_noise(mut self, sd: Option<f64>) -> Self {
        let Some(sd) = sd.filter(|&s| s > 0.0) else {
            return self;
        };
        self = self.map_answers(move |outcome, seed| add_noise(outcome, seed, sd));
        self.protocol = format!(
            "{}; the searched value carries seeded Gaussian noise of standard deviation {sd}",
            self.protocol
        );
        self
    }

    /// The same setup with every answer of its evaluators passed through `map` (with the
    /// trial's evaluation seed).
    fn map_answers(
        mut self,
        map: impl Fn(Evaluation, u64) -> Evaluation + Send + Sync + 'static,
    ) -> Self {
        let inner = self.evaluator;
        let map: Arc<AnswerMap> = Arc::new(map);
        self.evaluator = Box::new(move || {
            Box::new(Mapped {
                inner: inner(),
                map: Arc::clone(&map),
            })
        });
        self
    }
}

/// What [`TableSetup::map_answers`] does to an answer.
type AnswerMap = dyn Fn(Evaluation, u64) -> Evaluation + Send + Sync;

/// An evaluator whose answers pass through a map: noise ([`TableSetup::with_noise`]), a
/// fidelity's charge ([`declared_ladder_setup`]).
struct Mapped<A> {
    inner: Box<dyn Evaluator<A> + Send>,
    map: Arc<AnswerMap>,
}

impl<A> Evaluator<A> for Mapped<A> {
    fn evaluate(&mut self, arch: &A, seed: u64) -> Evaluation {
        (self.map)(self.inner.evaluate(arch, seed), seed)
    }

    fn evaluate_trial(&mut self, arch: &A, trial: usize, seed: u64) -> Evaluation {
        (self.map)(self.inner.evaluate_trial(arch, trial, seed), seed)
    }

    fn objective_name(&self) -> &str {
        self.inner.objective_name()
    }

    fn maximize(&self) -> bool {
        self.inner.maximize()
    }
}

/// The answer with seeded Gaussian noise of standard deviation `sd` added to its objective
/// (see [`TableSetup::with_noise`]); the noise-free value is reported.
fn add_noise(outcome: Evaluation, seed: u64, sd: f64) -> Evaluation {
    match outcome {
        Evaluation::Ok {
            objective,
            mut reported,
            cost_s,
        } => {
            // Box-Muller on a stream of the trial's own seed.
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6E6F_6973_6521);
            let u1: f64 = 1.0 - rng.gen::<f64>();
            let u2: f64 = rng.gen();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            reported.insert("noise_free_objective".into(), objective);
            Evaluation::Ok {
                objective: objective + sd * z,
                reported,
                cost_s,
            }
        }
        failed => failed,
    }
}

/// The answer charged `factor × cost + plus` seconds: a per-epoch cost column times a level's
/// epochs, or the level itself where the table has no cost. A failure (a row the table lacks)
/// costs what its row says, nothing more.
fn charged(mut outcome: Evaluation, factor: f64, plus: f64) -> Evaluation {
    match &mut outcome {
        Evaluation::Ok { cost_s, .. } => *cost_s = factor * *cost_s + plus,
        Evaluation::Failed { cost_s, .. } => *cost_s *= factor,
    }
    outcome
}

impl<S: SearchSpace> TableSetup<S> {
    /// Whether evaluating `arch` reaches the optimum, for "queries to target": it is the
    /// target, it has the target's searched-on value in the table (a tie), or the space declares
    /// it equivalent to the target ([`SearchSpace::declares_equivalence`]).
    pub fn reaches_target(&self, arch: &S::Arch) -> bool {
        *arch == self.target
            || (self.lookup)(arch).is_some_and(|(v, _)| v == self.target_values.0)
            || (self.space.declares_equivalence()
                && self.space.canonical(arch) == self.space.canonical(&self.target))
    }

    /// The same setup over another space with the same architectures (a filtered one).
    pub fn with_space<T: SearchSpace<Arch = S::Arch>>(self, space: T) -> TableSetup<T> {
        TableSetup {
            space,
            evaluator: self.evaluator,
            maximize: self.maximize,
            benchmark: self.benchmark,
            dataset: self.dataset,
            table: self.table,
            searched_on: self.searched_on,
            reported: self.reported,
            reported_key: self.reported_key,
            reference: self.reference,
            reference_arch: self.reference_arch,
            target: self.target,
            target_values: self.target_values,
            header: self.header,
            protocol: self.protocol,
            lookup: self.lookup,
            resolved: self.resolved,
            table_hypervolume: self.table_hypervolume,
        }
    }
}

/// The NAS-Bench-201 table the spec names (`benchmark`, `dataset`, `fidelity`, objectives).
pub fn nb201_setup(spec: &StudySpec) -> Result<TableSetup<Nb201Space>> {
    let path = benchmark_path(spec.benchmark.as_deref())?;
    let dataset: Dataset = spec.dataset().parse()?;
    let objectives::Nb201Table {
        bench,
        resolved,
        optimum: opt,
        hypervolume: table_hypervolume,
    } = objectives::nb201_load(spec, &path, dataset, spec.epochs())?;
    let ds = bench.dataset();
    let searched_on = nasbo_core::Evaluator::objective_name(&bench).to_string();
    let lookup = bench.clone();
    Ok(TableSetup {
        resolved,
        table_hypervolume,
        space: Nb201Space,
        evaluator: Box::new(move || Box::new(bench.clone())),
        maximize: true,
        benchmark: "NAS-Bench-201".into(),
        dataset: ds.name().into(),
        table: path,
        searched_on: searched_on.clone(),
        reported: ds.test_column(),
        reported_key: "test_acc".into(),
        reference: opt.best_test.1,
        reference_arch: opt.best_test.0.to_string(),
        target: opt.best_valid.0,
        target_values: (opt.best_valid.1, opt.best_valid.2),
        header: format!("NAS-Bench-201 {ds}"),
        protocol: format!(
            "searched on {searched_on} (validation split, {epochs} epochs, each query charged \
             {epochs} epochs of training); reported {} (test split)",
            ds.test_column(),
            epochs = spec.epochs(),
        ),
        lookup: Box::new(move |c| Some((lookup.valid_acc(c), lookup.test_acc(c)))),
    })
}

/// The NAS-Bench-201 table at each of the ladder's fidelities (12 and 200 epochs): each rung
/// is searched on that training's validation accuracy and charged its epochs; every trial
/// reports the 200-epoch test accuracy. The target is the best cell at the top rung.
pub fn nb201_ladder_setup(
    spec: &StudySpec,
    ladder: Ladder<Nb201Space>,
) -> Result<TableSetup<Ladder<Nb201Space>>> {
    if spec.has_objectives() {
        return Err(crate::spec::usage(
            "`fidelities` search the validation accuracy alone: drop the objectives and \
             constraints, or the fidelities",
        ));
    }
    let mut rungs = Vec::new();
    for &level in ladder.levels() {
        if level != 12 && level != 200 {
            return Err(crate::spec::usage(format!(
                "NAS-Bench-201 has trainings of 12 and 200 epochs, not {level}: use \
                 --fidelities 12,200"
            )));
        }
        let mut at = spec.clone();
        at.fidelities.clear();
        at.fidelity = Some(level);
        let mut setup = nb201_setup(&at)?;
        setup.searched_on = format!("{} ({level} epochs)", setup.searched_on);
        rungs.push(setup);
    }
    let header = format!(
        "NAS-Bench-201 {} at {} epochs",
        rungs[0].dataset,
        words(ladder.levels(), " and ")
    );
    Ok(ladder_setup(
        ladder,
        rungs,
        header,
        "validation split; each query charged its epochs",
    ))
}

/// A declared space's table at each of the ladder's levels: rung `i` is searched on the
/// `i`-th of `fidelity-columns` (the top on the `objective`'s column) and charged its
/// `fidelity-costs` column, or `cost` times its level, or its level; every trial reports the
/// `report` columns (by default the top level's objective column), which regret is measured on.
pub fn declared_ladder_setup(
    space: &DeclaredSpace,
    spec: &StudySpec,
    ladder: Ladder<DeclaredSpace>,
) -> Result<TableSetup<Ladder<DeclaredSpace>>> {
    let Some(top) = spec.objective.first() else {
        return Err(crate::spec::usage(
            "with a declared space, name the table's column to search on at the top level as \
             its `objective`: COLUMN:max (or :min), e.g. valid_acc_200:max",
        ));
    };
    let table = read_declared(spec.benchmark.as_deref())?;
    let levels = ladder.levels().to_vec();
    let mut columns = spec.fidelity_columns.clone();
    if columns.len() + 1 == levels.len() {
        columns.push(top.name.clone());
    }
    let mut rungs = Vec::new();
    let mut charges = Vec::new();
    for (i, &level) in levels.iter().enumerate() {
        let mut at = spec.clone();
        at.fidelities.clear();
        at.fidelity_columns.clear();
        at.fidelity_costs.clear();
        at.objective[0].name = columns[i].clone();
        if at.report.is_empty() {
            at.report.push(top.name.clone());
        }
        let (charge, scale) = match (spec.fidelity_costs.get(i), &spec.cost) {
            (Some(c), _) => {
                at.cost = Some(c.clone());
                (format!("`{c}`"), None)
            }
            (None, Some(c)) => (format!("`{c}` × {level}"), Some((f64::from(level), 0.0))),
            (None, None) => (level.to_string(), Some((0.0, f64::from(level)))),
        };
        charges.push(charge);
        let mut setup = declared_from_table(space, &table, &at)?.setup(space.clone())?;
        setup.searched_on = format!("{} (level {level})", columns[i]);
        if let Some((factor, plus)) = scale {
            setup = setup.map_answers(move |outcome, _| charged(outcome, factor, plus));
        }
        rungs.push(setup);
    }
    let header = format!("{} at levels {}", rungs[0].header, words(&levels, ", "));
    let charge = format!("each query charged {}", charges.join(", "));
    Ok(ladder_setup(ladder, rungs, header, &charge))
}

/// Numbers joined by `sep`.
fn words(levels: &[u32], sep: &str) -> String {
    levels
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

/// One table per level of `ladder` (cheapest first) as the table of its rungs: a rung is
/// answered by its level's table; the reported column, the optimum and the target are the top
/// level's; the incumbent is the best at the highest level reached.
fn ladder_setup<S: SearchSpace>(
    ladder: Ladder<S>,
    rungs: Vec<TableSetup<S>>,
    header: String,
    charge: &str,
) -> TableSetup<Ladder<S>>
where
    S::Arch: 'static,
{
    let levels = ladder.levels().to_vec();
    let searched_on = rungs
        .iter()
        .map(|r| r.searched_on.clone())
        .collect::<Vec<_>>()
        .join(" → ");
    let mut makers = Vec::new();
    let mut lookups = Vec::new();
    let mut top = None;
    for rung in rungs {
        makers.push(rung.evaluator);
        lookups.push(rung.lookup);
        top = Some((
            rung.maximize,
            rung.benchmark,
            rung.dataset,
            rung.table,
            rung.reported,
            rung.reported_key,
            rung.reference,
            rung.reference_arch,
            rung.target,
            rung.target_values,
        ));
    }
    let (
        maximize,
        benchmark,
        dataset,
        table,
        reported,
        reported_key,
        reference,
        reference_arch,
        target,
        target_values,
    ) = top.expect("at least two levels");
    let top_rung = ladder.top();
    TableSetup {
        evaluator: Box::new(move || {
            Box::new(
                LadderEvaluator::new(levels.clone(), makers.iter().map(|m| m()).collect())
                    .expect("one evaluator per level"),
            )
        }),
        maximize,
        benchmark,
        header,
        protocol: format!(
            "searched on {searched_on} (the cheapest for new architectures, the next for \
             those successive halving promotes; {charge}); reported {reported}; the \
             incumbent is the best at the highest fidelity reached",
        ),
        dataset,
        table,
        searched_on,
        reported,
        reported_key,
        reference,
        reference_arch,
        target: Rung {
            arch: target,
            rung: top_rung,
        },
        target_values,
        lookup: Box::new(move |r: &Rung<_>| lookups.get(r.rung).and_then(|l| l(&r.arch))),
        resolved: None,
        table_hypervolume: None,
        space: ladder,
    }
}

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

/// Reads the table `benchmark` names for `space` under the objective options.
pub fn load_declared(
    space: &DeclaredSpace,
    benchmark: Option<&Path>,
    spec: &StudySpec,
) -> Result<DeclaredTable> {
    searched_column(spec)?;
    declared_from_table(space, &read_declared(benchmark)?, spec)
}

/// Reads the table `benchmark` names (once, whatever columns are then taken from it).
fn read_declared(benchmark: Option<&Path>) -> Result<Table> {
    let Some(path) = benchmark else {
        return Err(crate::spec::usage(
            "a declared space is searched on a table: give its `benchmark` (a CSV with one \
             column per decision, see datasets/declared/README.md)",
        ));
    };
    Ok(Table::read(path)?)
}

/// The objective a declared table is searched on: the first `objective`, which must be given.
fn searched_column(spec: &StudySpec) -> Result<&nasbo_core::Objective> {
    spec.objective.first().ok_or_else(|| {
        crate::spec::usage(
            "with a declared space, name the table's column to search on as its `objective`: \
             COLUMN:max (or :min), e.g. valid_acc:max",
        )
    })
}

/// `table` (already read) for `space` under the objective options.
fn declared_from_table(
    space: &DeclaredSpace,
    table: &Table,
    spec: &StudySpec,
) -> Result<DeclaredTable> {
    let first = searched_column(spec)?;
    let set = objectives::canonical_set(spec, &first.name);
    objectives::check(&set, &first.name)?;
    // Every further metric is a column reported with each evaluation.
    let mut report = spec.report.clone();
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
    let mut columns = TableSpec::new(first.name.clone())
        .maximize(first.maximize)
        .report(report.clone());
    if let Some(cost) = &spec.cost {
        columns = columns.cost(cost.clone());
    }
    // A column the settings name that the table lacks is a usage error (exit 2): the error
    // lists the table's columns to choose from.
    let bench = TableBenchmark::from_table(table, space, columns).map_err(|e| match e {
        nasbo_bench::BenchError::MissingTableColumns { .. } => crate::spec::usage(e.to_string()),
        e => e.into(),
    })?;
    let resolved = if set.is_multi() || !set.constraints.is_empty() {
        Some(resolve(&bench, set, spec)?)
    } else {
        None
    };
    Ok(DeclaredTable {
        report: spec.report.first().cloned().unwrap_or(first.name.clone()),
        objective: first.name.clone(),
        maximize: first.maximize,
        bench,
        path: table.path().to_path_buf(),
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
    spec: &StudySpec,
) -> Result<Resolved<DeclaredArch>> {
    let objective = set.objectives[0].name.clone();
    let reference = objectives::reference_point(spec, &set, |o| {
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

    /// The table's setup.
    pub fn setup(self, space: DeclaredSpace) -> Result<TableSetup<DeclaredSpace>> {
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
        let direction = if self.maximize { "max" } else { "min" };
        Ok(TableSetup {
            header: format!("the table {}", self.path.display()),
            protocol: format!(
                "searched on `{}` ({direction}); reported `{}`",
                self.objective, self.report
            ),
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

impl<S: SearchSpace> std::fmt::Debug for TableSetup<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableSetup")
            .field("benchmark", &self.benchmark)
            .field("table", &self.table)
            .field("searched_on", &self.searched_on)
            .field("reported", &self.reported)
            .field("reference", &self.reference)
            .field("reference_arch", &self.reference_arch)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for DeclaredTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeclaredTable")
            .field("path", &self.path)
            .field("objective", &self.objective)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}
