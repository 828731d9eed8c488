//! Benchmarks: strategies × seeds on a complete table, in parallel, resumable, with runs made
//! elsewhere imported; summarised as tables of regret (Markdown, CSV), regret curves (SVG) and,
//! with several objectives, hypervolume tables and curves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use nasbo_core::SearchSpace;
use nasbo_search::moo::MoAnnotator;
use nasbo_search::plot::{regret_svg, Figure, Series};
use nasbo_search::report::{
    csv, markdown, query_checkpoints, seconds_checkpoints, summarize, summarize_at, Checkpoint,
    Setting, Stats, StrategySummary, Trajectory,
};
use nasbo_search::{journal, Budget, Journal, Runner, Status, Study};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::objectives::Resolved;
use crate::registry::make_strategy;
use crate::search::Reporter;
use crate::space::{AnySpace, SpaceVisitor, StudySpace};
use crate::spec::{usage, EvaluatorKind, StrategyKind, StudySpec};
use crate::tables::TableSetup;

/// A benchmark to run: the spec's space, table, objectives, budget and strategy settings; every
/// run of a strategy is the search that spec makes with that strategy and seed.
#[derive(Debug, Clone)]
pub struct BenchPlan<'a> {
    /// What every run searches (its `strategy` and `seed` are not used: see below).
    pub spec: &'a StudySpec,
    /// The strategies compared (none: the spec's `strategy`, else every strategy).
    pub strategies: Vec<StrategyKind>,
    /// Simulated workers per run: each strategy runs once per entry (empty: `[1]`, the
    /// sequential search). A run with more than one is named `STRATEGY-wN`.
    pub workers: Vec<usize>,
    /// Runs per strategy.
    pub seeds: usize,
    /// The first seed; the others follow it.
    pub first_seed: u64,
    /// The output folder.
    pub out: &'a Path,
    /// Folders of runs made elsewhere, summarised beside ours.
    pub import: &'a [PathBuf],
    /// Runs at a time (default: every core).
    pub jobs: Option<usize>,
    /// Delete what an earlier bench left in `out`.
    pub overwrite: bool,
    /// Set to stop after the runs that are running.
    pub stop: Arc<AtomicBool>,
    /// The command that ran it, for the summary.
    pub command: String,
}

/// What a benchmark wrote.
#[derive(Debug, Clone)]
pub struct BenchOutcome {
    /// The regret summary (Markdown), as written to `summary.md`.
    pub markdown: String,
    /// The hypervolume summary, with several objectives.
    pub hypervolume: Option<String>,
    /// The files and folders written.
    pub written: Vec<String>,
}

/// A benchmark stopped on request: its journals are kept.
#[derive(Debug)]
pub struct Interrupted(pub String);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Interrupted {}

/// The strategies' settings as a bench folder records them.
fn strategy_settings(spec: &StudySpec) -> serde_json::Value {
    serde_json::json!({"bo": spec.bo, "re": spec.re, "reinforce": spec.reinforce})
}

/// Runs a benchmark.
pub fn bench(plan: &BenchPlan<'_>, reporter: &dyn Reporter) -> Result<BenchOutcome> {
    let spec = plan.spec;
    match spec.evaluator() {
        EvaluatorKind::Train => {
            return Err(usage(
                "a benchmark runs on a table: the training evaluator cannot be benchmarked",
            ))
        }
        EvaluatorKind::Command => {
            return Err(usage(
                "a benchmark runs on a table: the command evaluator cannot be benchmarked",
            ))
        }
        _ => {}
    }
    if plan.first_seed.checked_add(plan.seeds as u64).is_none() {
        return Err(usage(format!(
            "the first seed {} with {} seeds runs past the largest seed ({})",
            plan.first_seed,
            plan.seeds,
            u64::MAX
        )));
    }
    if plan.seeds == 0 {
        return Err(usage("a benchmark needs at least 1 seed"));
    }
    let mut listed: Vec<StrategyKind> = Vec::new();
    let requested = match (&plan.strategies[..], spec.strategy) {
        ([], Some(k)) => vec![k],
        ([], None) => StrategyKind::defaults(spec.objective.len() > 1),
        (list, _) => list.to_vec(),
    };
    for k in requested {
        if !listed.contains(&k) {
            listed.push(k);
        }
    }
    let workers: Vec<usize> = if plan.workers.is_empty() {
        vec![1]
    } else {
        plan.workers.clone()
    };
    if let Some(w) = workers.iter().find(|&&w| w == 0) {
        return Err(usage(format!(
            "--workers {w}: a run needs at least 1 worker"
        )));
    }
    // Each strategy with each number of workers is one arm of the bench.
    let mut kinds: Vec<(StrategyKind, usize)> = Vec::new();
    for &k in &listed {
        for &w in &workers {
            if !kinds.contains(&(k, w)) {
                kinds.push((k, w));
            }
        }
    }
    let names: Vec<String> = kinds
        .iter()
        .map(|&(k, w)| match w {
            1 => k.name().to_string(),
            w => format!("{}-w{w}", k.name()),
        })
        .collect();
    let budget = spec.budget();
    budget.validate().map_err(|e| usage(e.to_string()))?;
    AnySpace::from_spec(spec)?.visit(BenchOn {
        plan,
        reporter,
        kinds: &kinds,
        names: &names,
        budget,
    })
}

struct BenchOn<'a, 'p> {
    plan: &'a BenchPlan<'p>,
    reporter: &'a dyn Reporter,
    kinds: &'a [(StrategyKind, usize)],
    names: &'a [String],
    budget: Budget,
}

impl SpaceVisitor for BenchOn<'_, '_> {
    type Output = Result<BenchOutcome>;

    fn visit<S: StudySpace>(self, space: S) -> Result<BenchOutcome>
    where
        S::Arch: 'static,
    {
        let setup = space
            .table(self.plan.spec)?
            .with_noise(self.plan.spec.noise);
        let note = |line: &str| self.reporter.note(line);
        let filtered = match &setup.resolved {
            Some(r) => r.filtered(&setup.space, &note)?,
            None => None,
        };
        let (plan, reporter, kinds, names, budget) = (
            self.plan,
            self.reporter,
            self.kinds,
            self.names,
            self.budget,
        );
        match filtered {
            Some(filtered) => {
                let setup = setup.with_space(filtered);
                bench_on(plan, reporter, kinds, names, budget, &setup)
            }
            None => bench_on(plan, reporter, kinds, names, budget, &setup),
        }
    }
}

/// What the journals in an output folder belong to: a rerun must match it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    benchmark: String,
    table: String,
    dataset: String,
    searched_on: String,
    reported: String,
    budget: Budget,
    reference_test: f64,
    best_valid_cell: String,
    /// Objectives and constraints beyond the default (absent in single-objective benches).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    objectives: Vec<String>,
    /// The strategies' settings, when they are not the defaults (`[bo]`, `[re]`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    settings: Option<serde_json::Value>,
    /// The nasbo that wrote the folder (version and commit); not compared on rerun.
    #[serde(default)]
    nasbo: String,
}

impl Manifest {
    fn same_setting(&self, other: &Manifest) -> bool {
        self.benchmark == other.benchmark
            && self.dataset == other.dataset
            && self.searched_on == other.searched_on
            && self.reported == other.reported
            && self.budget == other.budget
            && self.reference_test == other.reference_test
            && self.best_valid_cell == other.best_valid_cell
            && self.objectives == other.objectives
            && self.settings == other.settings
    }
}

/// Runs imported from elsewhere: (strategy name, seed, study).
type Imported<A> = Vec<(String, u64, Study<A>)>;

/// The manifest of a bench of `setup` with the spec's strategy settings.
fn manifest<S: SearchSpace>(setup: &TableSetup<S>, budget: Budget, spec: &StudySpec) -> Manifest {
    let settings = strategy_settings(spec);
    Manifest {
        settings: (settings != strategy_settings(&StudySpec::default())).then_some(settings),
        nasbo: crate::VERSION.to_string(),
        benchmark: setup.benchmark.clone(),
        table: setup.table.display().to_string(),
        dataset: setup.dataset.clone(),
        searched_on: setup.searched_on.clone(),
        reported: setup.reported.clone(),
        budget,
        reference_test: setup.reference,
        best_valid_cell: setup.space.format_arch(&setup.target),
        objectives: setup
            .resolved
            .as_ref()
            .map(|r| {
                r.set
                    .objectives
                    .iter()
                    .map(|o| o.to_string())
                    .chain(r.set.constraints.iter().map(|c| c.to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

const MANIFEST: &str = "bench.json";
const OUTPUTS: [&str; 8] = [
    "summary.md",
    "summary.csv",
    "runs.csv",
    "regret.svg",
    "hypervolume.md",
    "hypervolume.csv",
    "hypervolume.svg",
    MANIFEST,
];

/// Prepares --out: checks (or writes) the manifest; with --overwrite removes what an earlier
/// bench left there (only its own files).
fn prepare_out(plan: &BenchPlan<'_>, manifest: &Manifest) -> Result<()> {
    let out = plan.out;
    let journals = out.join("journals");
    let manifest_path = out.join(MANIFEST);
    if plan.overwrite {
        if journals.is_dir() {
            for entry in std::fs::read_dir(&journals)
                .with_context(|| format!("cannot list {}", journals.display()))?
            {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "jsonl") {
                    std::fs::remove_file(&path)
                        .with_context(|| format!("cannot remove {}", path.display()))?;
                }
            }
        }
        for name in OUTPUTS {
            let path = out.join(name);
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
    } else if manifest_path.exists() {
        let text = std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?;
        let old: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a bench manifest", manifest_path.display()))?;
        if !old.same_setting(manifest) {
            bail!(
                "{} holds a bench of another setting ({} budget {:?}, best test {} in its table) \
                 than this one ({} budget {:?}, best test {}): use another --out, or --overwrite to \
                 delete its journals",
                out.display(),
                old.dataset,
                old.budget,
                old.reference_test,
                manifest.dataset,
                manifest.budget,
                manifest.reference_test
            );
        }
    } else if journals.is_dir()
        && std::fs::read_dir(&journals)?
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
    {
        bail!(
            "{} has journals but no {MANIFEST}: cannot tell what setting they belong to; use \
             another --out, or --overwrite to delete them",
            journals.display()
        );
    }
    std::fs::create_dir_all(&journals)
        .with_context(|| format!("cannot create {}", journals.display()))?;
    let text = serde_json::to_string_pretty(manifest).expect("the manifest serialises");
    std::fs::write(&manifest_path, text + "\n")
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    Ok(())
}

/// How a run came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Ran,
    Resumed,
    Reused,
}

struct RunOutcome<A> {
    strategy: usize,
    seed: u64,
    origin: Origin,
    study: Study<A>,
}

/// One run: reads a finished journal, resumes an unfinished one, or runs afresh.
#[allow(clippy::too_many_arguments)]
fn run_one<S: StudySpace>(
    kind: StrategyKind,
    workers: usize,
    seed: u64,
    path: &Path,
    setup: &TableSetup<S>,
    budget: Budget,
    spec: &StudySpec,
    stop: &Arc<AtomicBool>,
) -> Result<(Origin, Study<S::Arch>)>
where
    S::Arch: 'static,
{
    let space = &setup.space;
    let runner = Runner::new(space, budget, seed, setup.maximize)?.simulate_workers(workers);
    // A run with simulated workers is journaled beside its final name and renamed when it is
    // complete: it cannot be resumed, and an unfinished one is simply run again.
    let partial = path.with_extension("jsonl.partial");
    if workers > 1 && !path.exists() && partial.exists() {
        std::fs::remove_file(&partial)
            .with_context(|| format!("cannot remove {}", partial.display()))?;
    }
    let complete = |lines: &[nasbo_search::journal::TrialLine]| {
        let cost: f64 = lines.iter().map(|l| l.cost_s).sum();
        workers > 1 || budget.spent(lines.len(), cost)
    };
    let (runner, origin) = if path.exists() {
        let (lines, _) = journal::read_lines::<String>(path)?;
        if let Some(bad) = lines.iter().find(|l| l.seed != seed) {
            bail!(
                "{} holds trial {} of seed {}, not {seed}",
                path.display(),
                bad.trial,
                bad.seed
            );
        }
        if complete(&lines) {
            let trials = lines
                .iter()
                .map(|l| Ok(l.with_arch(space.parse_arch(&l.arch)?)))
                .collect::<Result<Vec<_>>>()?;
            return Ok((Origin::Reused, Study::from_trials(trials, setup.maximize)));
        }
        let (mut journal, lines) = Journal::resume(path)?;
        journal.set_durable(false);
        (runner.resume_from(journal, lines)?, Origin::Resumed)
    } else {
        let mut journal = Journal::create(if workers > 1 { &partial } else { path }, false)?;
        journal.set_durable(false);
        (runner.with_journal(journal), Origin::Ran)
    };
    let mut strategy = make_strategy(kind, spec, space, setup.resolved.as_ref())?;
    let mut evaluator = (setup.evaluator)();
    let runner = match &setup.resolved {
        Some(r) => {
            let mut annotator = MoAnnotator::new(
                r.set.clone(),
                evaluator.objective_name(),
                r.reference.clone(),
            );
            if let Some((_, known)) = r.known.clone() {
                annotator = annotator.with_known(Box::new(move |a| known(a)));
            }
            runner
                .show_metrics(r.set.metric_names())
                .annotate_with(annotator)
        }
        None => runner,
    };
    let study = runner
        .stop_on(stop.clone())
        .run(strategy.as_mut(), evaluator.as_mut())?;
    if workers > 1 && !stop.load(Ordering::SeqCst) {
        std::fs::rename(&partial, path).with_context(|| {
            format!("cannot rename {} to {}", partial.display(), path.display())
        })?;
    }
    Ok((origin, study))
}

fn bench_on<S: StudySpace>(
    plan: &BenchPlan<'_>,
    reporter: &dyn Reporter,
    kinds: &[(StrategyKind, usize)],
    names: &[String],
    budget: Budget,
    setup: &TableSetup<S>,
) -> Result<BenchOutcome>
where
    S::Arch: 'static,
{
    let manifest = manifest(setup, budget, plan.spec);
    prepare_out(plan, &manifest)?;
    let args = plan;
    let space = &setup.space;
    let what = format!("{} {}", setup.benchmark, setup.dataset);

    let seeds: Vec<u64> = (0..args.seeds as u64)
        .map(|i| args.first_seed + i)
        .collect();
    let jobs: Vec<(usize, u64)> = seeds
        .iter()
        .flat_map(|&s| (0..kinds.len()).map(move |k| (k, s)))
        .collect();
    let threads = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .context("cannot start the worker threads")?;

    let stop = &args.stop;
    reporter.runs(jobs.len());
    reporter.note(&format!(
        "nasbo bench: {} × {} seeds ({}–{}) on {what}, budget {}, {} thread(s); \
         searched on {}, reported {}",
        names.join(","),
        args.seeds,
        args.first_seed,
        args.first_seed + args.seeds as u64 - 1,
        budget_words(budget),
        threads.max(1),
        setup.searched_on,
        setup.reported
    ));
    let journals = args.out.join("journals");
    let started = Instant::now();
    let results: Vec<Result<RunOutcome<S::Arch>>> = pool.install(|| {
        jobs.par_iter()
            .map(|&(k, seed)| {
                let path = journals.join(format!("{}-s{seed}.jsonl", names[k]));
                let (kind, workers) = kinds[k];
                let result = run_one(kind, workers, seed, &path, setup, budget, args.spec, stop)
                    .with_context(|| format!("run of {} with seed {seed} failed", names[k]));
                reporter.run_done(&format!("{} s{seed}", names[k]));
                result.map(|(origin, study)| RunOutcome {
                    strategy: k,
                    seed,
                    origin,
                    study,
                })
            })
            .collect()
    });
    let wall_s = started.elapsed().as_secs_f64();
    let mut outcomes = Vec::with_capacity(results.len());
    for r in results {
        outcomes.push(r?);
    }
    if stop.load(Ordering::SeqCst) {
        return Err(Interrupted(format!(
            "interrupted after {wall_s:.1} s: the journals in {} are kept; run the same bench \
             again to continue",
            journals.display()
        ))
        .into());
    }
    let count = |o: Origin| outcomes.iter().filter(|r| r.origin == o).count();
    reporter.note(&format!(
        "{} run(s) in {wall_s:.1} s: {} new, {} resumed, {} read from finished journals",
        outcomes.len(),
        count(Origin::Ran),
        count(Origin::Resumed),
        count(Origin::Reused)
    ));

    // Every run, ours (in the order of --strategies, then seeds) and imported ones.
    outcomes.sort_by_key(|o| (o.strategy, o.seed));
    let mut all: Vec<(String, u64, Study<S::Arch>)> = outcomes
        .into_iter()
        .map(|o| (names[o.strategy].clone(), o.seed, o.study))
        .collect();
    for dir in args.import {
        let imported = import_runs(dir, &seeds, setup, budget)?;
        if let Some((name, _, _)) = imported.iter().find(|(n, _, _)| names.contains(n)) {
            bail!(
                "{} holds runs named `{name}`, like a strategy of this bench: rename them",
                dir.display()
            );
        }
        let n_names: BTreeSet<&str> = imported.iter().map(|(n, _, _)| n.as_str()).collect();
        reporter.note(&format!(
            "imported {} run(s) of {} from {}",
            imported.len(),
            n_names.into_iter().collect::<Vec<_>>().join(","),
            dir.display()
        ));
        all.extend(imported);
    }
    let mut groups: Vec<(String, Vec<Trajectory>)> = Vec::new();
    let mut runs_csv = String::from(
        "strategy,seed,dataset,searched_on,reported,trials,cost_s,best_arch,best_valid_acc,best_test_acc,test_regret,queries_to_best_valid\n",
    );
    for (name, seed, study) in &all {
        let t = Trajectory::from_study(study, &setup.reported_key, |a: &S::Arch| {
            setup.reaches_target(a)
        });
        let best = study.best();
        let best_test = best.and_then(|b| b.reported.get(&setup.reported_key).copied());
        runs_csv.push_str(&format!(
            "{},{},{},{},{},{},{:.3},{},{},{},{},{}\n",
            name,
            seed,
            setup.dataset,
            setup.searched_on,
            setup.reported,
            study.len(),
            study.total_cost_s(),
            best.map(|b| csv_field(&space.format_arch(&b.arch)))
                .unwrap_or_default(),
            best.and_then(|b| b.objective)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            best_test.map(|v| v.to_string()).unwrap_or_default(),
            best_test
                .map(|v| format!("{:.6}", (setup.reference - v).abs()))
                .unwrap_or_default(),
            t.queries_to_target()
                .map(|q| q.to_string())
                .unwrap_or_default(),
        ));
        match groups.iter_mut().find(|(n, _)| n == name) {
            Some((_, runs)) => runs.push(t),
            None => groups.push((name.clone(), vec![t])),
        }
    }

    let checkpoints = match budget {
        Budget::Queries(n) => query_checkpoints(n),
        Budget::Seconds(s) => seconds_checkpoints(s),
    };
    let reference = setup.reference;
    let summaries: Vec<StrategySummary> = groups
        .iter()
        .map(|(name, runs)| summarize(name, runs, reference, &checkpoints))
        .collect();
    let constraints = setup
        .resolved
        .as_ref()
        .filter(|r| !r.set.constraints.is_empty())
        .map(|r| r.set.constraints_text());
    let setting = Setting {
        benchmark: setup.benchmark.clone(),
        dataset: match &constraints {
            Some(c) => format!("{} subject to {c}", setup.dataset),
            None => setup.dataset.clone(),
        },
        searched_on: setup.searched_on.clone(),
        reported: setup.reported.clone(),
        seeds: args.seeds,
        first_seed: args.first_seed,
        budget: match budget {
            Budget::Queries(n) => Checkpoint::Queries(n),
            Budget::Seconds(s) => Checkpoint::Seconds(s),
        },
        reference,
    };
    let mut table = markdown(&setting, &summaries);
    if let Budget::Seconds(_) = budget {
        table.push_str(&format!(
            "\nMean queries (trials started) at each checkpoint, mean ± std over seeds: {}.\n",
            mean_queries(&groups, &checkpoints)
        ));
    }
    let md = format!(
        "{table}\n{}The best-validation architecture is {} ({} {:.4}, {} {:.4}); the best {} is \
         {:.4} ({}). Table: {}.\n\nCommand: `nasbo {}` ({} run(s), {wall_s:.1} s on {} \
         thread(s)).\n",
        match &constraints {
            Some(c) => format!(
                "Under {c}: only feasible trials can be the incumbent, and the references below \
                 are the best feasible architectures of the table; a run counts at a checkpoint \
                 once it has a feasible trial ({}).\n\n",
                incumbent_counts(&groups, &checkpoints)
            ),
            None => String::new(),
        },
        space.format_arch(&setup.target),
        setup.searched_on,
        setup.target_values.0,
        setup.reported,
        setup.target_values.1,
        setup.reported,
        setup.reference,
        setup.reference_arch,
        setup.table.display(),
        args.command,
        all.len(),
        threads.max(1),
    );

    // Regret curves: every query, or 100 points of a seconds budget.
    let xs: Vec<Checkpoint> = match budget {
        Budget::Queries(n) => (1..=n).map(Checkpoint::Queries).collect(),
        Budget::Seconds(s) => (1..=100)
            .map(|i| Checkpoint::Seconds(s * i as f64 / 100.0))
            .collect(),
    };
    let series: Vec<Series> = groups
        .iter()
        .map(|(name, runs)| {
            let stats: Vec<_> = xs
                .iter()
                .map(|&at| summarize_at(runs, reference, at).regret)
                .collect();
            Series {
                label: format!("{name} ({} runs)", runs.len()),
                x: xs.iter().map(Checkpoint::value).collect(),
                mean: stats.iter().map(|s| s.mean).collect(),
                se: stats.iter().map(|s| s.se).collect(),
            }
        })
        .collect();
    let figure = Figure {
        title: format!("{what}: regret of the incumbent"),
        subtitle: format!(
            "searched on {}, reported {} · {} seeds ({}–{}) · budget {}",
            setup.searched_on,
            setup.reported,
            args.seeds,
            args.first_seed,
            args.first_seed + args.seeds as u64 - 1,
            budget_words(budget)
        ),
        x_label: match budget {
            Budget::Queries(_) => "queries (architectures evaluated)".into(),
            Budget::Seconds(_) => "simulated training seconds".into(),
        },
        // The splits are in the subtitle; the axis says what is measured and in which unit.
        y_label: if setup.benchmark == "NAS-Bench-201" {
            format!("regret in {} (percentage points)", setup.reported)
        } else {
            format!("regret in {} (its own units)", setup.reported)
        },
        series,
    };

    let write = |name: &str, text: &str| -> Result<()> {
        let p = args.out.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    write("summary.md", &md)?;
    write("summary.csv", &csv(&setting, &summaries))?;
    write("runs.csv", &runs_csv)?;
    write("regret.svg", &regret_svg(&figure))?;
    let mut written: Vec<String> = [
        "summary.md",
        "summary.csv",
        "runs.csv",
        "regret.svg",
        "journals/",
    ]
    .iter()
    .map(|n| args.out.join(n).display().to_string())
    .collect();
    let md = if kinds.iter().any(|&(_, w)| w > 1) {
        let wall = wall_summary(&setting, &groups, &figure)?;
        write("wall.md", &wall.markdown)?;
        write("wall.csv", &wall.csv)?;
        write("regret-wall.svg", &wall.svg)?;
        for name in ["wall.md", "wall.csv", "regret-wall.svg"] {
            written.push(args.out.join(name).display().to_string());
        }
        let md = format!(
            "{md}
{}",
            wall.markdown
        );
        write("summary.md", &md)?;
        md
    } else {
        md
    };
    let hypervolume = match setup.resolved.as_ref().filter(|r| r.set.is_multi()) {
        Some(r) => Some(hypervolume_summary(
            args,
            setup,
            r,
            &all,
            budget,
            &mut written,
        )?),
        None => None,
    };
    Ok(BenchOutcome {
        markdown: md,
        hypervolume,
        written,
    })
}

/// The wall-clock part of a bench with simulated workers.
struct WallSummary {
    markdown: String,
    csv: String,
    svg: String,
}

/// Regret by simulated wall-clock: a table at 10/25/50/75/100 % of the longest run's clock,
/// its CSV, a plot, and how long each group took to reach the first group's final mean regret.
fn wall_summary(
    setting: &Setting,
    groups: &[(String, Vec<Trajectory>)],
    by_queries: &Figure,
) -> Result<WallSummary> {
    let horizon = groups
        .iter()
        .flat_map(|(_, runs)| runs.iter().map(Trajectory::wall_s))
        .fold(0.0f64, f64::max);
    if horizon <= 0.0 {
        return Err(usage(
            "simulated workers need the table's cost: every trial of this bench cost 0 s",
        ));
    }
    let checkpoints: Vec<Checkpoint> = nasbo_search::report::SECONDS_FRACTIONS
        .iter()
        .map(|f| Checkpoint::Wall((f * horizon).round()))
        .collect();
    let summaries: Vec<StrategySummary> = groups
        .iter()
        .map(|(name, runs)| summarize(name, runs, setting.reference, &checkpoints))
        .collect();
    let wall_setting = Setting {
        budget: Checkpoint::Wall(horizon.round()),
        ..setting.clone()
    };
    let mut md = String::from(
        "## By simulated wall-clock\n\nEach trial occupies its simulated worker for its cost in \
         the table; a result counts once its trial has ended. A sequential run's clock is the \
         sum of its trials' costs. The checkpoints are fractions of the longest run's clock.\n\n",
    );
    md.push_str(&markdown(&wall_setting, &summaries));
    // The wall-clock each group needs to reach the first group's mean regret at its end.
    let grid: Vec<f64> = (1..=1000).map(|i| horizon * i as f64 / 1000.0).collect();
    if let Some((first, first_runs)) = groups.first() {
        let target = summarize_at(
            first_runs,
            setting.reference,
            Checkpoint::Queries(usize::MAX),
        )
        .regret
        .mean;
        let clock = |runs: &[Trajectory]| {
            Stats::of(&runs.iter().map(Trajectory::wall_s).collect::<Vec<_>>())
        };
        let first_clock = clock(first_runs).mean;
        md.push_str(&format!(
            "\nSimulated wall-clock of a whole run (mean ± std), and when each mean regret curve \
             first reaches `{first}`'s mean regret at the end of its runs ({target:.3}); the \
             ratio is to `{first}`'s mean run length:\n\n| strategy | whole run (s) | reaches \
             {target:.3} at (s) | ratio |\n|---|--:|--:|--:|\n"
        ));
        for (name, runs) in groups {
            let c = clock(runs);
            let reach = grid
                .iter()
                .find(|&&t| {
                    let r = summarize_at(runs, setting.reference, Checkpoint::Wall(t))
                        .regret
                        .mean;
                    r.is_finite() && r <= target + 1e-12
                })
                .copied();
            md.push_str(&format!(
                "| {name} | {:.0} ± {:.0} | {} | {} |\n",
                c.mean,
                c.std,
                reach.map_or("not reached".into(), |t| format!("{t:.0}")),
                reach.map_or("–".into(), |t| format!("{:.2}", t / first_clock)),
            ));
        }
    }
    let xs: Vec<f64> = (1..=200).map(|i| horizon * i as f64 / 200.0).collect();
    let series: Vec<Series> = groups
        .iter()
        .map(|(name, runs)| {
            let stats: Vec<Stats> = xs
                .iter()
                .map(|&t| summarize_at(runs, setting.reference, Checkpoint::Wall(t)).regret)
                .collect();
            Series {
                label: format!("{name} ({} runs)", runs.len()),
                x: xs.clone(),
                mean: stats.iter().map(|s| s.mean).collect(),
                se: stats.iter().map(|s| s.se).collect(),
            }
        })
        .collect();
    let figure = Figure {
        title: by_queries
            .title
            .replace("regret of the incumbent", "regret by simulated wall-clock"),
        subtitle: by_queries.subtitle.clone(),
        x_label: "simulated wall-clock (seconds; trials counted once ended)".into(),
        y_label: by_queries.y_label.clone(),
        series,
    };
    Ok(WallSummary {
        markdown: md,
        csv: csv(&wall_setting, &summaries),
        svg: regret_svg(&figure),
    })
}

/// How many runs of each strategy have an incumbent at each checkpoint (`bo: 43/50/50/50`).
/// Each strategy's mean (± std) number of trials started by each checkpoint.
fn mean_queries(groups: &[(String, Vec<Trajectory>)], checkpoints: &[Checkpoint]) -> String {
    groups
        .iter()
        .map(|(name, runs)| {
            let at: Vec<String> = checkpoints
                .iter()
                .map(|&c| {
                    let n: Vec<f64> = runs.iter().map(|r| r.trials_at(c) as f64).collect();
                    let mean = n.iter().sum::<f64>() / n.len().max(1) as f64;
                    let var = n.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
                        / (n.len().saturating_sub(1)).max(1) as f64;
                    format!("{mean:.1} ± {:.1}", var.sqrt())
                })
                .collect();
            format!("{name} {}", at.join(" / "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn incumbent_counts(groups: &[(String, Vec<Trajectory>)], checkpoints: &[Checkpoint]) -> String {
    groups
        .iter()
        .map(|(name, runs)| {
            let counts: Vec<String> = checkpoints
                .iter()
                .map(|&at| {
                    runs.iter()
                        .filter(|r| r.incumbent_test_at(at).is_some())
                        .count()
                        .to_string()
                })
                .collect();
            format!("{name}: {} of {}", counts.join("/"), runs.len())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The hypervolume after `q` queries of each run (0 before the first feasible trial).
fn hypervolume_at<A: Clone>(study: &Study<A>, q: usize) -> f64 {
    study.trials()[..q.min(study.len())]
        .iter()
        .rev()
        .find_map(|t| t.hypervolume)
        .unwrap_or(0.0)
}

/// `hypervolume.md`, `hypervolume.csv` and `hypervolume.svg`: per strategy, mean ± std
/// [standard error] of the hypervolume at the query checkpoints, and curves of the gap to the
/// table's own front.
fn hypervolume_summary<S: StudySpace>(
    args: &BenchPlan<'_>,
    setup: &TableSetup<S>,
    resolved: &Resolved<S::Arch>,
    all: &[(String, u64, Study<S::Arch>)],
    budget: Budget,
    written: &mut Vec<String>,
) -> Result<String>
where
    S::Arch: 'static,
{
    let Budget::Queries(n) = budget else {
        return Err(usage(
            "hypervolume summaries need a budget in queries (`budget`), not seconds",
        ));
    };
    let checkpoints: Vec<usize> = match query_checkpoints(n)
        .into_iter()
        .map(|c| c.value() as usize)
        .collect::<Vec<_>>()
    {
        v if v.is_empty() => vec![n],
        v => v,
    };
    let mut names: Vec<String> = Vec::new();
    for (name, _, _) in all {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let table_hv = setup.table_hypervolume;
    let reference: Vec<f64> = resolved
        .reference
        .as_ref()
        .map(|r| {
            resolved
                .set
                .objectives
                .iter()
                .zip(r)
                .map(|(o, &v)| o.raw(v))
                .collect()
        })
        .unwrap_or_default();
    let objectives: Vec<String> = resolved
        .set
        .objectives
        .iter()
        .map(|o| o.to_string())
        .collect();
    let mut md = format!(
        "### Hypervolume on {} {}: {}, {} seeds ({}–{}), budget {n} queries\n\n\
         Objectives {}{}; reference point {:?} (raw units); the table's own feasible front has \
         hypervolume {}. Each cell: mean ± std [standard error] over seeds of the hypervolume \
         of the feasible front found after that many queries (as a share of the table's).\n\n| strategy | runs |",
        setup.benchmark,
        setup.dataset,
        objectives.join(", "),
        args.seeds,
        args.first_seed,
        args.first_seed + args.seeds as u64 - 1,
        objectives.join(" and "),
        if resolved.set.constraints.is_empty() {
            String::new()
        } else {
            format!(" under {}", resolved.set.constraints_text())
        },
        reference,
        table_hv.map_or("unknown".into(), |h| format!("{h:.4}")),
    );
    for q in &checkpoints {
        md.push_str(&format!(" {q} |"));
    }
    md.push_str("\n|---|---|");
    md.push_str(&"---|".repeat(checkpoints.len()));
    md.push('\n');
    let mut csv = String::from("strategy,runs,queries,hv_mean,hv_std,hv_se,table_hv\n");
    let mut series = Vec::new();
    for name in &names {
        let runs: Vec<&Study<S::Arch>> = all
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, _, s)| s)
            .collect();
        md.push_str(&format!("| {name} | {} |", runs.len()));
        for &q in &checkpoints {
            let values: Vec<f64> = runs.iter().map(|s| hypervolume_at(s, q)).collect();
            let st = Stats::of(&values);
            let share = table_hv
                .filter(|&h| h > 0.0)
                .map(|h| format!(" ({:.2} %)", 100.0 * st.mean / h))
                .unwrap_or_default();
            md.push_str(&format!(
                " {:.4} ± {:.4} [{:.4}]{share} |",
                st.mean, st.std, st.se
            ));
            csv.push_str(&format!(
                "{name},{},{q},{},{},{},{}\n",
                runs.len(),
                st.mean,
                st.std,
                st.se,
                table_hv.map_or(String::new(), |h| h.to_string())
            ));
        }
        md.push('\n');
        if let Some(h) = table_hv {
            let xs: Vec<usize> = (1..=n).collect();
            let stats: Vec<Stats> = xs
                .iter()
                .map(|&q| {
                    let gaps: Vec<f64> = runs.iter().map(|s| h - hypervolume_at(s, q)).collect();
                    Stats::of(&gaps)
                })
                .collect();
            series.push(Series {
                label: format!("{name} ({} runs)", runs.len()),
                x: xs.iter().map(|&q| q as f64).collect(),
                mean: stats.iter().map(|s| s.mean).collect(),
                se: stats.iter().map(|s| s.se).collect(),
            });
        }
    }
    let write = |name: &str, text: &str| -> Result<()> {
        let p = args.out.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    write("hypervolume.md", &md)?;
    write("hypervolume.csv", &csv)?;
    if !series.is_empty() {
        let figure = Figure {
            title: format!(
                "{} {}: hypervolume gap to the table's front",
                setup.benchmark, setup.dataset
            ),
            subtitle: format!(
                "{} · {} seeds · budget {n} queries",
                objectives.join(" vs "),
                args.seeds
            ),
            x_label: "queries (architectures evaluated)".into(),
            y_label: "table front HV − found HV".into(),
            series,
        };
        write("hypervolume.svg", &regret_svg(&figure))?;
    }
    for name in ["hypervolume.md", "hypervolume.csv", "hypervolume.svg"] {
        written.push(args.out.join(name).display().to_string());
    }
    Ok(md)
}

/// Runs made elsewhere: every journal `{name}-s{seed}.jsonl` in `dir` whose seed is among
/// `seeds`, checked against the table (each successful trial's objective and test accuracy must
/// be the table's) and the budget (spent by the last trial, not before). Sorted by name, seed.
fn import_runs<S: StudySpace>(
    dir: &Path,
    seeds: &[u64],
    setup: &TableSetup<S>,
    budget: Budget,
) -> Result<Imported<S::Arch>>
where
    S::Arch: 'static,
{
    let space = &setup.space;
    let mut found = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".jsonl"))
        else {
            continue;
        };
        let Some((name, seed)) = stem.rsplit_once("-s") else {
            continue;
        };
        let Ok(seed) = seed.parse::<u64>() else {
            continue;
        };
        if !seeds.contains(&seed) {
            continue;
        }
        let (lines, _) = journal::read_lines::<String>(&path)?;
        let mut trials = Vec::with_capacity(lines.len());
        for line in &lines {
            let arch = space.parse_arch(&line.arch)?;
            if let (Status::Ok, Some(v)) = (line.status, line.objective) {
                let test = line
                    .reported
                    .get(&setup.reported_key)
                    .copied()
                    .unwrap_or(f64::NAN);
                let (table_v, table_test) = (setup.lookup)(&arch).unwrap_or((f64::NAN, f64::NAN));
                if !((v - table_v).abs() <= 1e-6 && (test - table_test).abs() <= 1e-6) {
                    bail!(
                        "{} trial {}: {} has {} {v} and {} {test} there, but {table_v} and \
                         {table_test} in this table ({} {}): not a run on this table",
                        path.display(),
                        line.trial,
                        line.arch,
                        setup.searched_on,
                        setup.reported,
                        setup.benchmark,
                        setup.dataset
                    );
                }
            }
            trials.push(line.with_arch(arch));
        }
        let cost: f64 = trials.iter().map(|t| t.cost_s).sum();
        let before_last = cost - trials.last().map_or(0.0, |t| t.cost_s);
        if !budget.spent(trials.len(), cost)
            || budget.spent(trials.len().saturating_sub(1), before_last)
        {
            bail!(
                "{} has {} trial(s) costing {cost:.0} s: not a run of budget {}",
                path.display(),
                trials.len(),
                budget_words(budget)
            );
        }
        found.push((
            name.to_string(),
            seed,
            Study::from_trials(trials, setup.maximize),
        ));
    }
    if found.is_empty() {
        bail!(
            "{} holds no journal {{name}}-s{{seed}}.jsonl for the seeds of this bench",
            dir.display()
        );
    }
    found.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    Ok(found)
}

fn budget_words(budget: Budget) -> String {
    match budget {
        Budget::Queries(n) => format!("{n} queries"),
        Budget::Seconds(s) => format!("{s} simulated training seconds"),
    }
}

/// A CSV field, quoted where it holds a comma or a quote.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
