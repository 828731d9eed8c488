//! `nasbo search`: one search run, recorded trial by trial in a journal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use nasbo_bench::Dataset;
use nasbo_core::nb201::Cell;
use nasbo_core::Evaluator;
use nasbo_search::journal::DEFAULT_LOCK_TIMEOUT;
use nasbo_search::moo::MoAnnotator;
use nasbo_search::{
    BoConfig, Budget, EvolutionConfig, Journal, Observer, ReinforceConfig, Runner, Status, Study,
    Trial,
};

use crate::objectives::{self, Resolved};
use crate::spaces::{make_strategy, CliSpace, SpaceVisitor};
use serde_json::json;

/// Arguments of `nasbo search`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  # 150 queries of random search on the NAS-Bench-201 table (CIFAR-10)
  nasbo search --benchmark nb201_cifar10.csv.gz --strategy random --budget 150 --seed 0 --out run.jsonl

  # the NAS-Bench-201 paper's protocol: 12,000 simulated training seconds
  nasbo search --benchmark nb201_cifar10.csv.gz --budget-seconds 12000 --out run.jsonl

  # continue a run that was killed: finished trials are kept, the rest is what an
  # uninterrupted run with the same seed would have done
  nasbo search --benchmark nb201_cifar10.csv.gz --budget 150 --seed 0 --out run.jsonl --resume

The journal (--out) has one JSON object per trial: trial, arch, status, objective (the value
searched on: validation accuracy), reported (test accuracy, never searched on), cost_s, seed.")]
pub struct SearchArgs {
    /// The search space.
    #[command(flatten)]
    pub space: crate::spaces::SpaceArgs,

    /// The benchmark table (CSV, gzipped or plain). Defaults to
    /// $NASBO_DATA/nb201/nb201_cifar10.csv.gz.
    #[arg(long, env = "NASBO_BENCHMARK", value_name = "PATH")]
    pub benchmark: Option<PathBuf>,

    /// A TOML file with any of these options (kebab-case keys, e.g. `budget = 100`) and the
    /// strategies' settings in `[bo]`, `[re]` and `[reinforce]` tables; flags given on the
    /// command line win. Unknown keys are errors. See `benchmarks/configs/` for examples.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What scores an architecture: a lookup in the benchmark table (default), or a real
    /// training run.
    #[arg(long, value_enum)]
    pub evaluator: Option<EvaluatorKind>,

    /// The dataset. With the table (cifar10, cifar100, imagenet16): searched on
    /// `{dataset}_valid_acc_200`, reported `{dataset}_test_acc_200`, simulated cost
    /// `{dataset}_train_s_per_epoch` × 200. With `--evaluator train` (fashion-mnist, digits,
    /// cifar10, cifar100): searched on a held-out 20% of the training images, reported
    /// on the test set. Default: cifar10.
    #[arg(long)]
    pub dataset: Option<String>,

    /// Objectives and constraints beyond the validation accuracy.
    #[command(flatten, next_help_heading = "Objectives and constraints")]
    pub objectives: crate::objectives::ObjectiveArgs,

    /// Options of `--evaluator train`.
    #[command(flatten, next_help_heading = "Training evaluator (--evaluator train)")]
    pub train: crate::train_cmd::TrainEvalArgs,

    /// The search strategy (default: bo).
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyKind>,

    /// Number of architectures to evaluate (default: 150).
    #[arg(long, conflicts_with = "budget_seconds", allow_negative_numbers = true)]
    pub budget: Option<usize>,

    /// Stop once the evaluations' total (simulated) cost reaches this many seconds instead of
    /// after a number of queries (12000 is the NAS-Bench-201 paper's protocol).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub budget_seconds: Option<f64>,

    /// Epochs of the NAS-Bench-201 training searched on and charged per query: 200 (the
    /// full training) or 12 (the paper's time-budget protocol: search on the 12-epoch
    /// validation accuracy, pay 12 epochs, report the 200-epoch test accuracy). Default: 12
    /// with --budget-seconds, 200 with a budget in queries.
    #[arg(long, value_name = "EPOCHS")]
    pub fidelity: Option<u32>,

    /// Seed of the search: the same seed gives the same trajectory (default: 0).
    #[arg(long)]
    pub seed: Option<u64>,

    /// The journal to write (JSON lines, one per trial, fsynced after each).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Continue the run recorded in --out (same options and seed as the original run).
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,

    /// Replace --out if it exists.
    #[arg(long)]
    pub overwrite: bool,

    /// Never draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl SearchArgs {
    /// NAS-Bench-201's epochs searched on: `--fidelity`, else 12 under a time budget (the
    /// paper's protocol) and 200 under a budget in queries.
    pub fn epochs(&self) -> u32 {
        self.fidelity.unwrap_or(if self.budget_seconds.is_some() {
            12
        } else {
            200
        })
    }
}

/// Evaluators the command knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvaluatorKind {
    /// Look the architecture up in the NAS-Bench-201 table (--benchmark).
    Table,
    /// Train the architecture for real (burn; CPU by default, --device wgpu for a GPU).
    Train,
}

/// Search strategies the command knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    /// Bayesian optimisation: a GP on Weisfeiler-Lehman features of NB201 cells (one-hot
    /// codes with the interactions kernel on other spaces), log expected improvement, a
    /// standing incumbent's neighbours polished first (ParEGO with several --objective).
    Bo,
    /// Uniform random search without replacement.
    Random,
    /// Regularized evolution (population 10, tournament 3, one-edge mutation).
    Re,
    /// Local search: evaluate the neighbourhood, move to its best, restart at a local optimum.
    Ls,
    /// REINFORCE with a per-edge categorical policy and a moving-average baseline.
    Reinforce,
    /// Expected hypervolume improvement with one GP per objective (several --objective only).
    Ehvi,
}

impl StrategyKind {
    /// The strategies `nasbo bench` compares when none are named.
    pub fn defaults(multi_objective: bool) -> Vec<StrategyKind> {
        use StrategyKind::*;
        if multi_objective {
            vec![Bo, Ehvi, Re, Random]
        } else {
            vec![Bo, Random, Re, Ls, Reinforce]
        }
    }

    /// The name used on the command line and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Bo => "bo",
            StrategyKind::Random => "random",
            StrategyKind::Re => "re",
            StrategyKind::Ls => "ls",
            StrategyKind::Reinforce => "reinforce",
            StrategyKind::Ehvi => "ehvi",
        }
    }
}

fn parse_dataset(s: &str) -> Result<Dataset, String> {
    s.parse()
        .map_err(|e: nasbo_bench::BenchError| e.to_string())
}

/// Where the NB201 table is: the flag or `NASBO_BENCHMARK`, else under `NASBO_DATA`.
pub fn benchmark_path(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = flag {
        return Ok(path.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("NASBO_DATA") {
        return Ok(PathBuf::from(dir)
            .join("nb201")
            .join("nb201_cifar10.csv.gz"));
    }
    bail!(
        "no benchmark table: pass --benchmark PATH (the NAS-Bench-201 CSV export, see datasets/README.md), \
         or set NASBO_BENCHMARK to it, or NASBO_DATA to the folder that holds nb201/nb201_cifar10.csv.gz"
    )
}

/// The settings of every strategy, as a config file's `[bo]`, `[re]`, `[reinforce]` tables.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct StrategySettings {
    /// Bayesian optimisation.
    pub bo: BoConfig,
    /// Regularized evolution.
    pub re: EvolutionConfig,
    /// REINFORCE.
    pub reinforce: ReinforceConfig,
}

/// A `nasbo search` config file: every flag, plus the strategies' settings.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct SearchConfig {
    /// `--space`.
    pub space: Option<crate::spaces::SpaceKind>,
    /// `--space-file`.
    pub space_file: Option<PathBuf>,
    /// The NASNet space's settings: `ops = [...]`, `blocks = 5`.
    pub nasnet: Option<nasbo_core::nasnet::NasnetSpace>,
    /// `--benchmark`.
    pub benchmark: Option<PathBuf>,
    /// `--evaluator`.
    pub evaluator: Option<EvaluatorKind>,
    /// `--dataset`.
    pub dataset: Option<String>,
    /// `--strategy`.
    pub strategy: Option<StrategyKind>,
    /// `--budget`.
    pub budget: Option<usize>,
    /// `--budget-seconds`.
    pub budget_seconds: Option<f64>,
    /// `--fidelity`.
    pub fidelity: Option<u32>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--objective`, as a list: `objective = ["valid_acc:max", "help_pixel3_ms:min"]`.
    pub objective: Vec<String>,
    /// `--constraint`, as a list: `constraint = ["flops_m<=100"]`.
    pub constraint: Vec<String>,
    /// `--metrics-table`, as a list.
    pub metrics_table: Vec<PathBuf>,
    /// `--reference-point`.
    pub reference_point: Vec<f64>,
    /// `--report`, as a list.
    pub report: Vec<String>,
    /// `--cost`.
    pub cost: Option<String>,
    /// Bayesian optimisation's settings (`[bo]`).
    pub bo: BoConfig,
    /// Regularized evolution's settings (`[re]`).
    pub re: EvolutionConfig,
    /// REINFORCE's settings (`[reinforce]`).
    pub reinforce: ReinforceConfig,
}

/// What defines a search, recorded in its journal's first line and compared on `--resume`: the
/// space, table, evaluator and its settings, objectives, strategy and settings, seed and
/// fidelity. (The budget is left out: a resumed run may be given a larger one.)
pub fn search_spec(args: &SearchArgs, settings: &StrategySettings) -> serde_json::Value {
    let o = &args.objectives;
    let train = &args.train;
    let evaluator = args.evaluator.unwrap_or(EvaluatorKind::Table);
    let mut spec = json!({
        "space": args.space.describe(),
        "evaluator": format!("{evaluator:?}").to_lowercase(),
        "dataset": args.dataset,
        "objectives": o.objectives.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        "constraints": o.constraints.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        "report": o.report,
        "cost": o.cost,
        "reference-point": o.reference_point,
        "strategy": args.strategy.map(|k| k.name()),
        "settings": serde_json::to_value(settings).expect("settings serialise"),
        "seed": args.seed,
        "nasbo": crate::VERSION,
    });
    match evaluator {
        EvaluatorKind::Table => {
            spec["benchmark"] = json!(args.benchmark.as_ref().map(|p| p.display().to_string()));
            spec["fidelity"] = json!(args.epochs());
        }
        EvaluatorKind::Train => {
            spec["train"] = json!({
                "epochs": train.epochs,
                "channels": train.channels,
                "cells": train.cells,
                "batch-size": train.batch_size,
                "train-limit": train.train_limit,
                "eval-limit": train.eval_limit,
                "time-limit-s": train.time_limit_s,
                "device": train.device.name(),
            });
        }
    }
    spec
}

/// The keys where `now` differs from the `recorded` spec, as `key: now (study: recorded)`;
/// the version that wrote it is not compared.
pub fn spec_differences(now: &serde_json::Value, recorded: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let a = now.as_object().unwrap_or(&empty);
    let b = recorded.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| k.as_str() != "nasbo")
        .filter_map(|k| {
            let (x, y) = (
                a.get(k).unwrap_or(&serde_json::Value::Null),
                b.get(k).unwrap_or(&serde_json::Value::Null),
            );
            (x != y).then(|| format!("{k}: {x} (journal: {y})"))
        })
        .collect()
}

/// A mistake in the options, a config file or a value given, found before any work: the binary
/// exits with 2 for it (1 for failures while working).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl SearchConfig {
    /// The strategies' settings: `[bo]`, `[re]` and `[reinforce]`. (Read as fields of the
    /// config itself rather than a flattened table, so that an unknown key is reported at its
    /// own line.)
    pub fn strategies(&self) -> StrategySettings {
        StrategySettings {
            bo: self.bo.clone(),
            re: self.re,
            reinforce: self.reinforce,
        }
    }

    /// Reads a config file; errors name the file and what is wrong (unknown keys included).
    pub fn read(path: &Path) -> Result<SearchConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            UsageError(format!(
                "invalid config {}: {}",
                path.display(),
                e.to_string().trim_end()
            ))
            .into()
        })
    }
}

struct Progress {
    bar: ProgressBar,
    seconds: bool,
    /// Plain log lines on stderr, one per trial: when stderr is not a terminal (a log file, a
    /// job, CI) and the progress bar would not be drawn.
    log: bool,
    /// The budget: trials or simulated seconds.
    len: u64,
    started: Instant,
    /// Trials already in the study when this process started (a resumed run).
    replayed: usize,
}

impl Progress {
    /// One plain line about the trial just recorded, with an estimate of the time left.
    fn log_line<A: Clone>(&self, trial: &Trial<A>, study: &Study<A>) -> String {
        let what = match (trial.status, trial.objective) {
            (Status::Ok, Some(v)) => format!("objective {v:.4}"),
            (Status::Failed, _) => format!(
                "failed: {}",
                trial.reason.as_deref().unwrap_or("no reason given")
            ),
            _ => "pending".to_string(),
        };
        let best = study
            .best()
            .and_then(|b| b.objective)
            .map(|v| format!(", best {v:.4}"))
            .unwrap_or_default();
        let elapsed = self.started.elapsed().as_secs_f64();
        let done_here = study.len().saturating_sub(self.replayed).max(1) as f64;
        let left = if self.seconds {
            String::new()
        } else {
            let remaining = self.len.saturating_sub(study.len() as u64) as f64;
            format!(
                ", about {} left",
                crate::train_cmd::duration_words(elapsed / done_here * remaining)
            )
        };
        let position = if self.seconds {
            format!("{:.0}/{} simulated s", study.total_cost_s(), self.len)
        } else {
            format!("{}/{}", study.len(), self.len)
        };
        format!(
            "trial {position}: {what}{best} ({:.1} s; {} elapsed{left})",
            trial.finished_at - trial.started_at,
            crate::train_cmd::duration_words(elapsed)
        )
    }
}

impl<A: Clone> Observer<A> for Progress {
    fn on_trial(&mut self, trial: &Trial<A>, study: &Study<A>) {
        if self.log {
            eprintln!("{}", self.log_line(trial, study));
        }
        if self.seconds {
            self.bar.set_position(study.total_cost_s() as u64);
        } else {
            self.bar.set_position(study.len() as u64);
        }
        let failed = if trial.status == Status::Failed {
            " (last trial failed)"
        } else {
            ""
        };
        if let Some(best) = study.best() {
            let test = best
                .reported
                .get("test_acc")
                .map(|t| format!(", test {t:.2}"))
                .unwrap_or_default();
            self.bar.set_message(format!(
                "best valid {:.2}{test}{failed}",
                best.objective.unwrap_or(f64::NAN)
            ));
        }
    }
}

/// What scores architectures in one search, and how to speak of it in the summary.
pub struct Scoring<A> {
    /// The evaluator.
    pub evaluator: Box<dyn Evaluator<A>>,
    /// What the search runs on (`NAS-Bench-201 cifar10`, `training every cell on digits`).
    pub header: String,
    /// Which values are searched on and which only reported.
    pub protocol: String,
    /// The key of the main reported value in `Trial::reported` (`test_acc`).
    pub reported_key: String,
    /// The table's optimum, where the evaluator is a complete table.
    pub optimum: Option<TableOptimum>,
    /// The objectives and constraints, where the search has more than the default objective.
    pub resolved: Option<Resolved<A>>,
}

/// The best a table has, for regret.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOptimum {
    /// The best reported value in the table (test accuracy).
    pub best_report: f64,
    /// The architecture that has it.
    pub best_report_arch: String,
    /// The architecture with the best searched-on value.
    pub best_objective_arch: String,
    /// Its reported value.
    pub best_objective_report: f64,
    /// Whether a larger reported value is better.
    pub maximize: bool,
}

impl TableOptimum {
    /// How far a reported value is from the table's best (≥ 0).
    pub fn regret(&self, report: f64) -> f64 {
        if self.maximize {
            self.best_report - report
        } else {
            report - self.best_report
        }
    }
}

/// The NAS-Bench-201 scoring for `nasbo search`: the table, or real training.
pub fn nb201_scoring(args: &SearchArgs) -> Result<Scoring<Cell>> {
    let dataset = args.dataset.clone().expect("resolved");
    Ok(match args.evaluator.expect("resolved") {
        EvaluatorKind::Table => {
            let ds = parse_dataset(&dataset).map_err(anyhow::Error::msg)?;
            let path = benchmark_path(args.benchmark.as_deref())?;
            let objectives::Nb201Table {
                bench,
                resolved,
                optimum: opt,
                ..
            } = objectives::nb201_load(&args.objectives, &path, ds, args.epochs())?;
            Scoring {
                resolved,
                header: format!("NAS-Bench-201 {ds}"),
                protocol: format!(
                    "searched on {} (validation split, {} epochs, each query charged {} epochs of \
                     training); reported {} (test split)",
                    nasbo_core::Evaluator::objective_name(&bench),
                    bench.epochs(),
                    bench.epochs(),
                    ds.test_column()
                ),
                reported_key: "test_acc".into(),
                optimum: Some(TableOptimum {
                    best_report: opt.best_test.1,
                    best_report_arch: opt.best_test.0.to_string(),
                    best_objective_arch: opt.best_valid.0.to_string(),
                    best_objective_report: opt.best_valid.2,
                    maximize: true,
                }),
                evaluator: Box::new(bench),
            }
        }
        EvaluatorKind::Train => train_scoring(args, "cell", |e| Ok(Box::new(e)))?,
    })
}

/// The scoring of `--evaluator train` for any architecture the trainer can build: every
/// candidate (`what`: cell, genotype) is trained on the dataset.
pub fn train_scoring<A: 'static>(
    args: &SearchArgs,
    what: &str,
    evaluator: impl FnOnce(nasbo_train::TrainEvaluator) -> Result<Box<dyn Evaluator<A>>>,
) -> Result<Scoring<A>> {
    let dataset = args.dataset.clone().expect("resolved");
    Ok(Scoring {
        evaluator: evaluator(crate::train_cmd::make_evaluator(&args.train, &dataset)?)?,
        header: format!("training every {what} on {dataset}"),
        protocol: match args.train.eval_limit {
            Some(n) => format!(
                "searched on validation accuracy ({n} of the 20% of the training images held \
                 out); reported test accuracy ({n} test images)"
            ),
            None => "searched on validation accuracy (20% of the training images held out); \
                     reported test accuracy (test set)"
                .into(),
        },
        reported_key: "test_acc".into(),
        optimum: None,
        resolved: if args.objectives.is_set() {
            Some(objectives::for_training(&args.objectives)?)
        } else {
            None
        },
    })
}

/// Runs `nasbo search`.
pub fn run(mut args: SearchArgs) -> Result<ExitCode> {
    let config = match &args.config {
        Some(path) => SearchConfig::read(path)?,
        None => SearchConfig::default(),
    };
    // Flags win over the file; the file wins over the defaults.
    args.space.fill_from(
        config.space,
        config.space_file.clone(),
        config.nasnet.clone(),
    );
    args.objectives.fill_from(&config)?;
    args.benchmark = args.benchmark.take().or(config.benchmark.clone());
    args.evaluator = args
        .evaluator
        .or(config.evaluator)
        .or(Some(EvaluatorKind::Table));
    args.dataset = args
        .dataset
        .take()
        .or(config.dataset.clone())
        .or(Some("cifar10".into()));
    args.strategy = args.strategy.or(config.strategy).or(Some(StrategyKind::Bo));
    args.seed = args.seed.or(config.seed).or(Some(0));
    args.fidelity = args.fidelity.or(config.fidelity);
    if args.budget.is_none() && args.budget_seconds.is_none() {
        args.budget = config.budget;
        args.budget_seconds = config.budget_seconds;
    }
    if args.budget.is_some() && args.budget_seconds.is_some() {
        bail!("give either a budget in queries or in seconds, not both (check --config)");
    }
    args.budget = args
        .budget
        .or(Some(150).filter(|_| args.budget_seconds.is_none()));
    let space = args.space.resolve()?;
    space.visit(SearchOn {
        args: &args,
        settings: &config.strategies(),
    })
}

struct SearchOn<'a> {
    args: &'a SearchArgs,
    settings: &'a StrategySettings,
}

impl SpaceVisitor for SearchOn<'_> {
    type Output = Result<ExitCode>;

    fn visit<S: CliSpace>(self, space: S) -> Result<ExitCode>
    where
        S::Arch: 'static,
    {
        search(self.args, self.settings, &space)
    }
}

fn search<S: CliSpace>(
    args: &SearchArgs,
    settings: &StrategySettings,
    space: &S,
) -> Result<ExitCode>
where
    S::Arch: 'static,
{
    let loading = Instant::now();
    let scoring = space.scoring(args)?;
    let load_s = loading.elapsed().as_secs_f64();
    let filtered = match &scoring.resolved {
        Some(r) => r.filtered(space)?,
        None => None,
    };
    match filtered {
        Some(filtered) => search_in(args, settings, &filtered, scoring, load_s),
        None => search_in(args, settings, space, scoring, load_s),
    }
}

fn search_in<S: CliSpace>(
    args: &SearchArgs,
    settings: &StrategySettings,
    space: &S,
    mut scoring: Scoring<S::Arch>,
    load_s: f64,
) -> Result<ExitCode>
where
    S::Arch: 'static,
{
    let (strategy_kind, seed) = (
        args.strategy.expect("resolved"),
        args.seed.expect("resolved"),
    );
    let budget = match args.budget_seconds {
        Some(s) => Budget::Seconds(s),
        None => Budget::Queries(args.budget.unwrap_or(150)),
    };
    let mut strategy = make_strategy(strategy_kind, settings, space, scoring.resolved.as_ref())?;
    let objective_name = scoring.evaluator.objective_name().to_string();
    let mut runner = Runner::new(space, budget, seed, scoring.evaluator.maximize())?;
    if let Some(resolved) = &scoring.resolved {
        let mut annotator = MoAnnotator::new(
            resolved.set.clone(),
            &objective_name,
            resolved.reference.clone(),
        );
        if let Some((_, known)) = resolved.known.clone() {
            annotator = annotator.with_known(Box::new(move |a| known(a)));
        }
        runner = runner
            .show_metrics(resolved.set.metric_names())
            .annotate_with(annotator);
    }
    let spec = search_spec(args, settings);
    let runner = if args.resume {
        if let Some(recorded) = crate::ask_tell_cmd::recorded_spec(&args.out)? {
            let diff = spec_differences(&spec, &recorded);
            if !diff.is_empty() {
                return Err(UsageError(format!(
                    "cannot resume {}: it records a search of another setting; this run differs \
                     in {}. Resume with the journal's own options, or choose another --out",
                    args.out.display(),
                    diff.join("; ")
                ))
                .into());
            }
        }
        let (journal, lines) = Journal::resume_locked(&args.out, DEFAULT_LOCK_TIMEOUT)
            .with_context(|| "cannot resume: --resume needs the journal of an earlier run")?;
        eprintln!(
            "resuming {}: {} finished trial(s) kept",
            args.out.display(),
            lines.len()
        );
        runner.resume_from(journal, lines)?
    } else {
        let mut journal = Journal::create_locked(&args.out, args.overwrite, DEFAULT_LOCK_TIMEOUT)
            .map_err(|e| match e {
                nasbo_core::JournalError::Exists { .. } => anyhow::anyhow!(
                    "{e}: pass --resume to continue it, --overwrite to start it again, or choose another --out"
                ),
                e => e.into(),
            })?;
        // The first trial's line records what this search is, for --resume to compare.
        journal.set_header(spec.clone())?;
        runner.with_journal(journal)
    };
    let (len, seconds) = match budget {
        Budget::Queries(n) => (n as u64, false),
        Budget::Seconds(s) => (s.ceil() as u64, true),
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len)
    };
    let unit = if seconds { "simulated s" } else { "trials" };
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} {{msg}}"
        ))
        .expect("valid template"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C while the first is handled kills the process as usual.
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    }
    let started = Instant::now();
    let replayed = runner.study().len();
    let study = runner
        .observe(Progress {
            bar: bar.clone(),
            seconds,
            log: !args.quiet && !std::io::stderr().is_terminal(),
            len,
            started,
            replayed,
        })
        .stop_on(stop.clone())
        .run(strategy.as_mut(), scoring.evaluator.as_mut())?;
    bar.finish_and_clear();
    let wall_s = started.elapsed().as_secs_f64();
    let interrupted = stop.load(Ordering::SeqCst);
    if interrupted {
        eprintln!(
            "interrupted: {} trial(s) are safe in {}; continue with --resume",
            study.len(),
            args.out.display()
        );
    }
    let mut summary = print_summary(args, space, &scoring, &study, load_s, wall_s);
    if interrupted {
        summary["interrupted"] = json!(true);
    }
    if let Some(resolved) = &scoring.resolved {
        if resolved.set.is_multi() {
            let front =
                crate::front::write_front(&args.out, space, resolved, &objective_name, &study)?;
            summary["front"] = front;
        }
    }
    println!("{summary}");
    if interrupted {
        return Ok(ExitCode::from(130));
    }
    if !study.is_empty() && study.trials().iter().all(|t| t.status == Status::Failed) {
        eprintln!(
            "error: every trial failed (the first said: {}); see {}",
            study.trials()[0]
                .reason
                .as_deref()
                .unwrap_or("no reason given"),
            args.out.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary<S: CliSpace>(
    args: &SearchArgs,
    space: &S,
    scoring: &Scoring<S::Arch>,
    study: &Study<S::Arch>,
    load_s: f64,
    wall_s: f64,
) -> serde_json::Value
where
    S::Arch: 'static,
{
    let failed = study
        .trials()
        .iter()
        .filter(|t| t.status == Status::Failed)
        .count();
    let strategy = args.strategy.expect("resolved").name();
    let seed = args.seed.expect("resolved");
    let dataset = args.dataset.as_deref().expect("resolved");
    println!(
        "nasbo search: {strategy} on {} ({}), seed {seed}",
        scoring.header,
        space.name()
    );
    println!("  {}", scoring.protocol);
    let cost = if scoring.optimum.is_some() {
        format!("{:.0} simulated training seconds", study.total_cost_s())
    } else {
        format!("{:.0} s of evaluation", study.total_cost_s())
    };
    println!(
        "  {} trial(s), {failed} failed, {cost}; loaded in {load_s:.2} s, search took {wall_s:.2} s",
        study.len(),
    );
    let Some(best) = study.best() else {
        println!("  no trial succeeded");
        return json!({"strategy": strategy, "space": space.name(), "seed": seed, "trials": study.len(), "failed": failed});
    };
    let report = best
        .reported
        .get(&scoring.reported_key)
        .copied()
        .unwrap_or(f64::NAN);
    let extra = space
        .describe(&best.arch)
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    println!(
        "  best architecture: {}{extra}",
        space.format_arch(&best.arch)
    );
    println!(
        "    {} {:.4}, {} {report:.4}",
        scoring.evaluator.objective_name(),
        best.objective.unwrap_or(f64::NAN),
        scoring.reported_key
    );
    let mut summary = json!({
        "strategy": strategy,
        "space": space.name(),
        "seed": seed,
        "trials": study.len(),
        "failed": failed,
        "best_arch": space.format_arch(&best.arch),
        "cost_s": study.total_cost_s(),
    });
    // Name what was searched: a declared space's table, else the dataset.
    match (&args.space.space_file, &args.benchmark) {
        (Some(_), Some(table)) => summary["table"] = json!(table.display().to_string()),
        _ => summary["dataset"] = json!(dataset),
    }
    summary["nasbo"] = json!(crate::VERSION);
    summary[format!("best_{}", scoring.evaluator.objective_name())] = json!(best.objective);
    summary[format!("best_{}", scoring.reported_key)] = json!(report);
    let regret_key = match scoring.reported_key.strip_suffix("_acc") {
        Some(split) => format!("{split}_regret"),
        None => format!("{}_regret", scoring.reported_key),
    };
    if let Some(opt) = &scoring.optimum {
        println!(
            "    {} {:.4} (table optimum: {} {:.4} by {}; the best-objective architecture {} has {:.4})",
            regret_key.replace('_', " "),
            opt.regret(report),
            scoring.reported_key,
            opt.best_report,
            opt.best_report_arch,
            opt.best_objective_arch,
            opt.best_objective_report,
        );
        summary[regret_key] = json!(opt.regret(report));
    }
    println!("  journal: {}", args.out.display());
    summary
}
