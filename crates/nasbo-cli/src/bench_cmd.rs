//! `nasbo bench`: many search runs (strategies × seeds) on a tabular benchmark, summarised as
//! tables of test regret and regret curves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use nasbo_bench::Dataset;
use nasbo_core::nb201::Nb201Space;
use nasbo_core::{Evaluator, SearchSpace};
use nasbo_search::moo::MoAnnotator;
use nasbo_search::plot::{regret_svg, Figure, Series};
use nasbo_search::report::{
    csv, markdown, query_checkpoints, seconds_checkpoints, summarize, summarize_at, Checkpoint,
    Setting, Stats, StrategySummary, Trajectory,
};
use nasbo_search::{journal, Budget, Journal, Runner, Status, Study};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::objectives::{self, Resolved};
use crate::search_cmd::{
    benchmark_path, EvaluatorKind, SearchConfig, StrategyKind, StrategySettings,
};
use crate::spaces::{make_strategy, CliSpace, SpaceVisitor};

/// Arguments of `nasbo bench`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  # every strategy, 100 seeds, 150 queries each, on NAS-Bench-201 CIFAR-10
  nasbo bench --benchmark nb201_cifar10.csv.gz --seeds 100 --budget 150 --out c10

  # two strategies only, 20 seeds, one run at a time
  nasbo bench --benchmark nb201_cifar10.csv.gz --strategies random,re --seeds 20 --jobs 1 --out q

  # the NAS-Bench-201 paper's protocol: 12,000 simulated training seconds per run
  nasbo bench --benchmark nb201_cifar10.csv.gz --budget-seconds 12000 --out c10-12000s

  # Optuna's runs (benchmarks/nb201/optuna_bench.py --out opt) in the same tables and plot
  nasbo bench --benchmark nb201_cifar10.csv.gz --strategies random,re --import opt/journals --out c10

Outputs, all in --out:
  summary.md      mean ± std [standard error] over seeds of the incumbent's test regret and test
                  accuracy at 10, 20, 50, 100, 150, 200, 300 queries (those within the budget, plus
                  the budget itself), or at 10/25/50/75/100 % of a --budget-seconds budget; and the
                  median number of queries to reach the cell with the best validation accuracy
                  (\">150\" when at least half of the runs never reach it). Also printed.
  summary.csv     the same numbers, one row per strategy × checkpoint
  runs.csv        one row per run: final incumbent, its test accuracy and regret
  regret.svg      mean test regret (log scale) with standard-error bands, per strategy
  journals/       one journal per run, {strategy}-s{seed}.jsonl (the format of `nasbo search`)
  bench.json      the setting (dataset, budget, table optimum) that the journals belong to

The search is on the validation split ({dataset}_valid_acc_200); test accuracy
({dataset}_test_acc_200) is only reported. Regret = the table's best test accuracy − the
incumbent's test accuracy (percentage points); the incumbent is the best-validation cell so far.

Rerunning into the same --out continues: finished runs are read from their journals, unfinished
ones are resumed, missing ones are run; more seeds or strategies can be added this way. A
different dataset, budget or table is refused (use another --out, or --overwrite).")]
pub struct BenchArgs {
    /// The search space.
    #[command(flatten)]
    pub space: crate::spaces::SpaceArgs,

    /// The benchmark table (CSV, gzipped or plain). Defaults to
    /// $NASBO_DATA/nb201/nb201_cifar10.csv.gz.
    #[arg(long, env = "NASBO_BENCHMARK", value_name = "PATH")]
    pub benchmark: Option<PathBuf>,

    /// A TOML file in `nasbo search --config`'s format: the space, table, objectives, budget,
    /// `strategy` (the strategies compared when --strategies is not given), `seed` (the first
    /// seed) and the strategies' settings in `[bo]`, `[re]` and `[reinforce]`. Each run of a
    /// strategy is then exactly the run `nasbo search --config FILE --seed S` makes. Flags win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Dataset of the table: searched on `{dataset}_valid_acc_200`, reported
    /// `{dataset}_test_acc_200` (default: cifar10).
    #[arg(long, value_parser = parse_dataset)]
    pub dataset: Option<Dataset>,

    /// Strategies to compare, comma-separated; every strategy nasbo knows when omitted.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "LIST")]
    pub strategies: Vec<StrategyKind>,

    /// Objectives and constraints beyond the validation accuracy.
    #[command(flatten, next_help_heading = "Objectives and constraints")]
    pub objectives: crate::objectives::ObjectiveArgs,

    /// Runs per strategy, with seeds first-seed, first-seed + 1, ...
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub seeds: usize,

    /// The first seed (default: the config's `seed`, else 0).
    #[arg(long, value_name = "SEED")]
    pub first_seed: Option<u64>,

    /// Queries (architectures evaluated) per run (default: 150).
    #[arg(long, conflicts_with = "budget_seconds", allow_negative_numbers = true)]
    pub budget: Option<usize>,

    /// Stop each run once its evaluations' simulated training time reaches this many seconds
    /// instead of after a number of queries (12000 is the NAS-Bench-201 paper's protocol).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub budget_seconds: Option<f64>,

    /// Epochs of the NAS-Bench-201 training searched on and charged per query: 200 (the
    /// full training) or 12 (the paper's time-budget protocol: search on the 12-epoch
    /// validation accuracy, pay 12 epochs, report the 200-epoch test accuracy). Default: 12
    /// with --budget-seconds, 200 with a budget in queries.
    #[arg(long, value_name = "EPOCHS")]
    pub fidelity: Option<u32>,

    /// Folder of the outputs (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Also summarise and plot runs made elsewhere: the journals `{name}-s{seed}.jsonl` in DIR
    /// for this bench's seeds (Optuna's, from `benchmarks/nb201/optuna_bench.py --out OUT`, are
    /// in OUT/journals). They are read, never run; each must have spent this budget on this
    /// table (checked trial by trial). Repeatable.
    #[arg(long, value_name = "DIR")]
    pub import: Vec<PathBuf>,

    /// Runs at a time; all cores by default.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Delete the journals and outputs already in --out and start afresh.
    #[arg(long)]
    pub overwrite: bool,

    /// Never draw a progress bar.
    #[arg(long)]
    pub quiet: bool,

    /// The strategies' settings (a config file's `[bo]`, `[re]`, `[reinforce]`).
    #[arg(skip)]
    pub settings: StrategySettings,
}

impl BenchArgs {
    /// NAS-Bench-201's epochs searched on (see `SearchArgs::epochs`).
    fn epochs(&self) -> u32 {
        self.fidelity.unwrap_or(if self.budget_seconds.is_some() {
            12
        } else {
            200
        })
    }

    /// The first seed, once the config has been read.
    fn first_seed(&self) -> u64 {
        self.first_seed.unwrap_or(0)
    }

    /// Takes the config file's values where no flag was given (flags win).
    fn fill_from(&mut self, config: SearchConfig) -> Result<()> {
        if config.evaluator == Some(EvaluatorKind::Train) {
            bail!("nasbo bench runs on tables: the config's `evaluator = \"train\"` cannot be benchmarked");
        }
        self.space.fill_from(
            config.space,
            config.space_file.clone(),
            config.nasnet.clone(),
        );
        self.objectives.fill_from(&config)?;
        self.benchmark = self.benchmark.take().or(config.benchmark.clone());
        if self.dataset.is_none() {
            if let Some(d) = &config.dataset {
                self.dataset = Some(
                    parse_dataset(d)
                        .map_err(|e| anyhow::anyhow!("in the config's `dataset`: {e}"))?,
                );
            }
        }
        if self.strategies.is_empty() {
            self.strategies.extend(config.strategy);
        }
        self.first_seed = self.first_seed.or(config.seed);
        self.fidelity = self.fidelity.or(config.fidelity);
        if self.budget.is_none() && self.budget_seconds.is_none() {
            self.budget = config.budget;
            self.budget_seconds = config.budget_seconds;
        }
        if self.budget.is_some() && self.budget_seconds.is_some() {
            bail!("give either a budget in queries or in seconds, not both (check --config)");
        }
        self.settings = config.strategies();
        Ok(())
    }
}

fn parse_dataset(s: &str) -> Result<Dataset, String> {
    s.parse()
        .map_err(|e: nasbo_bench::BenchError| e.to_string())
}

fn strategy_name(kind: StrategyKind) -> String {
    kind.to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_else(|| format!("{kind:?}").to_lowercase())
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

/// The table's (objective, reported) values of an architecture, if it has them.
pub type Lookup<A> = Box<dyn Fn(&A) -> Option<(f64, f64)> + Sync>;

/// Runs imported from elsewhere: (strategy name, seed, study).
type Imported<A> = Vec<(String, u64, Study<A>)>;

/// A complete table on which `nasbo bench` runs strategies: the space, a fresh evaluator per
/// run, and what the summaries need (the optimum, the target architecture).
pub struct BenchSetup<S: SearchSpace> {
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
    /// The architecture with the best searched-on value: the target of "queries to target".
    pub target: S::Arch,
    /// Its searched-on and reported values.
    pub target_values: (f64, f64),
    /// The table's (objective, reported) values of an architecture, to check imported runs.
    pub lookup: Lookup<S::Arch>,
    /// Objectives and constraints beyond the default.
    pub resolved: Option<Resolved<S::Arch>>,
    /// The hypervolume of the table's own feasible front (several objectives).
    pub table_hypervolume: Option<f64>,
}

impl<S: SearchSpace> BenchSetup<S> {
    /// The same setup over another space with the same architectures (a filtered one).
    pub fn with_space<T: SearchSpace<Arch = S::Arch>>(self, space: T) -> BenchSetup<T> {
        BenchSetup {
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
            lookup: self.lookup,
            resolved: self.resolved,
            table_hypervolume: self.table_hypervolume,
        }
    }

    fn manifest(&self, budget: Budget, settings: &StrategySettings) -> Manifest {
        Manifest {
            settings: (*settings != StrategySettings::default())
                .then(|| serde_json::to_value(settings).expect("settings serialise")),
            nasbo: crate::VERSION.to_string(),
            benchmark: self.benchmark.clone(),
            table: self.table.display().to_string(),
            dataset: self.dataset.clone(),
            searched_on: self.searched_on.clone(),
            reported: self.reported.clone(),
            budget,
            reference_test: self.reference,
            best_valid_cell: self.space.format_arch(&self.target),
            objectives: self
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
}

/// The NAS-Bench-201 setup of `nasbo bench`.
pub fn nb201_setup(args: &BenchArgs) -> Result<BenchSetup<Nb201Space>> {
    let path = benchmark_path(args.benchmark.as_deref())?;
    let objectives::Nb201Table {
        bench,
        resolved,
        optimum: opt,
        hypervolume: table_hypervolume,
    } = objectives::nb201_load(
        &args.objectives,
        &path,
        args.dataset.unwrap_or(Dataset::Cifar10),
        args.epochs(),
    )?;
    let ds = bench.dataset();
    let searched_on = nasbo_core::Evaluator::objective_name(&bench).to_string();
    let lookup = bench.clone();
    Ok(BenchSetup {
        resolved,
        table_hypervolume,
        space: Nb201Space,
        evaluator: Box::new(move || Box::new(bench.clone())),
        maximize: true,
        benchmark: "NAS-Bench-201".into(),
        dataset: ds.name().into(),
        table: path,
        searched_on,
        reported: ds.test_column(),
        reported_key: "test_acc".into(),
        reference: opt.best_test.1,
        reference_arch: opt.best_test.0.to_string(),
        target: opt.best_valid.0,
        target_values: (opt.best_valid.1, opt.best_valid.2),
        lookup: Box::new(move |c| Some((lookup.valid_acc(c), lookup.test_acc(c)))),
    })
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
fn prepare_out(args: &BenchArgs, manifest: &Manifest) -> Result<()> {
    let out = &args.out;
    let journals = out.join("journals");
    let manifest_path = out.join(MANIFEST);
    if args.overwrite {
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
fn run_one<S: CliSpace>(
    kind: StrategyKind,
    seed: u64,
    path: &Path,
    setup: &BenchSetup<S>,
    budget: Budget,
    settings: &StrategySettings,
    stop: &Arc<AtomicBool>,
) -> Result<(Origin, Study<S::Arch>)>
where
    S::Arch: 'static,
{
    let space = &setup.space;
    let runner = Runner::new(space, budget, seed, setup.maximize)?;
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
        let cost: f64 = lines.iter().map(|l| l.cost_s).sum();
        if budget.spent(lines.len(), cost) {
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
        let mut journal = Journal::create(path, false)?;
        journal.set_durable(false);
        (runner.with_journal(journal), Origin::Ran)
    };
    let mut strategy = make_strategy(kind, settings, space, setup.resolved.as_ref())?;
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
    Ok((origin, study))
}

/// Runs `nasbo bench`.
pub fn run(mut args: BenchArgs) -> Result<()> {
    if let Some(path) = args.config.clone() {
        args.fill_from(SearchConfig::read(&path)?)?;
    }
    if args.first_seed().checked_add(args.seeds as u64).is_none() {
        return Err(crate::search_cmd::UsageError(format!(
            "--first-seed {} with --seeds {} runs past the largest seed ({})",
            args.first_seed(),
            args.seeds,
            u64::MAX
        ))
        .into());
    }
    if args.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let mut kinds: Vec<StrategyKind> = Vec::new();
    let requested = if args.strategies.is_empty() {
        StrategyKind::defaults(args.objectives.objectives.len() > 1)
    } else {
        args.strategies.clone()
    };
    for k in requested {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    let names: Vec<String> = kinds.iter().map(|&k| strategy_name(k)).collect();
    let budget = match args.budget_seconds {
        Some(s) => Budget::Seconds(s),
        None => Budget::Queries(args.budget.unwrap_or(150)),
    };
    budget.validate()?;
    let space = args.space.resolve()?;
    space.visit(BenchOn {
        args: &args,
        kinds: &kinds,
        names: &names,
        budget,
    })
}

struct BenchOn<'a> {
    args: &'a BenchArgs,
    kinds: &'a [StrategyKind],
    names: &'a [String],
    budget: Budget,
}

impl SpaceVisitor for BenchOn<'_> {
    type Output = Result<()>;

    fn visit<S: CliSpace>(self, space: S) -> Result<()>
    where
        S::Arch: 'static,
    {
        let setup = space.bench_setup(self.args)?;
        let filtered = match &setup.resolved {
            Some(r) => r.filtered(&setup.space)?,
            None => None,
        };
        match filtered {
            Some(filtered) => {
                let setup = setup.with_space(filtered);
                bench(self.args, self.kinds, self.names, self.budget, &setup)
            }
            None => bench(self.args, self.kinds, self.names, self.budget, &setup),
        }
    }
}

fn bench<S: CliSpace>(
    args: &BenchArgs,
    kinds: &[StrategyKind],
    names: &[String],
    budget: Budget,
    setup: &BenchSetup<S>,
) -> Result<()>
where
    S::Arch: 'static,
{
    let manifest = setup.manifest(budget, &args.settings);
    prepare_out(args, &manifest)?;
    let space = &setup.space;
    let what = format!("{} {}", setup.benchmark, setup.dataset);

    let seeds: Vec<u64> = (0..args.seeds as u64)
        .map(|i| args.first_seed() + i)
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
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(jobs.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} runs (eta {eta}) {msg}",
        )
        .expect("valid template"),
    );
    eprintln!(
        "nasbo bench: {} × {} seeds ({}–{}) on {what}, budget {}, {} thread(s); \
         searched on {}, reported {}",
        names.join(","),
        args.seeds,
        args.first_seed(),
        args.first_seed() + args.seeds as u64 - 1,
        budget_words(budget),
        threads.max(1),
        setup.searched_on,
        setup.reported
    );
    let journals = args.out.join("journals");
    let started = Instant::now();
    let results: Vec<Result<RunOutcome<S::Arch>>> = pool.install(|| {
        jobs.par_iter()
            .map(|&(k, seed)| {
                let path = journals.join(format!("{}-s{seed}.jsonl", names[k]));
                let result = run_one(kinds[k], seed, &path, setup, budget, &args.settings, &stop)
                    .with_context(|| format!("run of {} with seed {seed} failed", names[k]));
                bar.inc(1);
                bar.set_message(format!("last: {} s{seed}", names[k]));
                result.map(|(origin, study)| RunOutcome {
                    strategy: k,
                    seed,
                    origin,
                    study,
                })
            })
            .collect()
    });
    bar.finish_and_clear();
    let wall_s = started.elapsed().as_secs_f64();
    let mut outcomes = Vec::with_capacity(results.len());
    for r in results {
        outcomes.push(r?);
    }
    if stop.load(Ordering::SeqCst) {
        bail!(
            "interrupted after {wall_s:.1} s: the journals in {} are kept; rerun the same command \
             to continue",
            journals.display()
        );
    }
    let count = |o: Origin| outcomes.iter().filter(|r| r.origin == o).count();
    eprintln!(
        "{} run(s) in {wall_s:.1} s: {} new, {} resumed, {} read from finished journals",
        outcomes.len(),
        count(Origin::Ran),
        count(Origin::Resumed),
        count(Origin::Reused)
    );

    // Every run, ours (in the order of --strategies, then seeds) and imported ones.
    outcomes.sort_by_key(|o| (o.strategy, o.seed));
    let mut all: Vec<(String, u64, Study<S::Arch>)> = outcomes
        .into_iter()
        .map(|o| (names[o.strategy].clone(), o.seed, o.study))
        .collect();
    for dir in &args.import {
        let imported = import_runs(dir, &seeds, setup, budget)?;
        if let Some((name, _, _)) = imported.iter().find(|(n, _, _)| names.contains(n)) {
            bail!(
                "{} holds runs named `{name}`, like a strategy of this bench: rename them",
                dir.display()
            );
        }
        let n_names: BTreeSet<&str> = imported.iter().map(|(n, _, _)| n.as_str()).collect();
        eprintln!(
            "imported {} run(s) of {} from {}",
            imported.len(),
            n_names.into_iter().collect::<Vec<_>>().join(","),
            dir.display()
        );
        all.extend(imported);
    }
    let mut groups: Vec<(String, Vec<Trajectory>)> = Vec::new();
    let mut runs_csv = String::from(
        "strategy,seed,dataset,searched_on,reported,trials,cost_s,best_arch,best_valid_acc,best_test_acc,test_regret,queries_to_best_valid\n",
    );
    for (name, seed, study) in &all {
        let t =
            Trajectory::from_study(study, &setup.reported_key, |a: &S::Arch| *a == setup.target);
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
        first_seed: args.first_seed(),
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
    let command: Vec<String> = std::env::args().collect();
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
        command
            .iter()
            .skip(1)
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
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
            args.first_seed(),
            args.first_seed() + args.seeds as u64 - 1,
            budget_words(budget)
        ),
        x_label: match budget {
            Budget::Queries(_) => "queries (architectures evaluated)".into(),
            Budget::Seconds(_) => "simulated training seconds".into(),
        },
        y_label: if setup.benchmark == "NAS-Bench-201" {
            format!(
                "regret in {} (percentage points), searched on {}",
                setup.reported, setup.searched_on
            )
        } else {
            format!(
                "regret in {} (its own units), searched on {}",
                setup.reported, setup.searched_on
            )
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
    print!("{md}");
    eprintln!(
        "wrote {0}/summary.md, {0}/summary.csv, {0}/runs.csv, {0}/regret.svg and {0}/journals/",
        args.out.display()
    );
    if let Some(r) = setup.resolved.as_ref().filter(|r| r.set.is_multi()) {
        hypervolume_summary(args, setup, r, &all, budget)?;
    }
    Ok(())
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
fn hypervolume_summary<S: CliSpace>(
    args: &BenchArgs,
    setup: &BenchSetup<S>,
    resolved: &Resolved<S::Arch>,
    all: &[(String, u64, Study<S::Arch>)],
    budget: Budget,
) -> Result<()>
where
    S::Arch: 'static,
{
    let Budget::Queries(n) = budget else {
        bail!("hypervolume summaries need a budget in queries (--budget), not seconds");
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
        args.first_seed(),
        args.first_seed() + args.seeds as u64 - 1,
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
    print!("\n{md}");
    eprintln!(
        "wrote {0}/hypervolume.md, {0}/hypervolume.csv and {0}/hypervolume.svg",
        args.out.display()
    );
    Ok(())
}

/// Runs made elsewhere: every journal `{name}-s{seed}.jsonl` in `dir` whose seed is among
/// `seeds`, checked against the table (each successful trial's objective and test accuracy must
/// be the table's) and the budget (spent by the last trial, not before). Sorted by name, seed.
fn import_runs<S: CliSpace>(
    dir: &Path,
    seeds: &[u64],
    setup: &BenchSetup<S>,
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
