//! `nasbo search`: one search run, recorded trial by trial in a journal.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use nasbo_arch::nb201::{Cell, Nb201Space};
use nasbo_arch::Evaluator;
use nasbo_bench::{Dataset, Nb201Benchmark};
use nasbo_search::bo::nb201_features;
use nasbo_search::{
    BayesOpt, BoConfig, Budget, EvolutionConfig, Journal, LocalSearch, Observer, RandomSearch,
    RegularizedEvolution, Reinforce, ReinforceConfig, Runner, Status, Strategy, Study, Trial,
};
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
    #[arg(long, value_enum, default_value_t = SpaceKind::Nb201)]
    pub space: SpaceKind,

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
    /// `{dataset}_train_s_per_epoch` × 200. With `--evaluator train` (fashion-mnist, mnist,
    /// digits, cifar10, cifar100): searched on a held-out 20% of the training images, reported
    /// on the test set. Default: cifar10.
    #[arg(long)]
    pub dataset: Option<String>,

    /// Options of `--evaluator train`.
    #[command(flatten, next_help_heading = "Training evaluator (--evaluator train)")]
    pub train: crate::train_cmd::TrainEvalArgs,

    /// The search strategy (default: bo).
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyKind>,

    /// Number of architectures to evaluate (default: 150).
    #[arg(long, conflicts_with = "budget_seconds")]
    pub budget: Option<usize>,

    /// Stop once the evaluations' total (simulated) cost reaches this many seconds instead of
    /// after a number of queries (12000 is the NAS-Bench-201 paper's protocol).
    #[arg(long, value_name = "SECONDS")]
    pub budget_seconds: Option<f64>,

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

/// Search spaces the command knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SpaceKind {
    /// NAS-Bench-201 cells.
    Nb201,
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
    /// Bayesian optimisation: a GP (Matérn 5/2) on one-hot encodings, log expected improvement.
    Bo,
    /// Uniform random search without replacement.
    Random,
    /// Regularized evolution (population 10, tournament 3, one-edge mutation).
    Re,
    /// Local search: evaluate the neighbourhood, move to its best, restart at a local optimum.
    Ls,
    /// REINFORCE with a per-edge categorical policy and a moving-average baseline.
    Reinforce,
}

impl StrategyKind {
    /// The name used on the command line and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Bo => "bo",
            StrategyKind::Random => "random",
            StrategyKind::Re => "re",
            StrategyKind::Ls => "ls",
            StrategyKind::Reinforce => "reinforce",
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
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
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
    /// `--seed`.
    pub seed: Option<u64>,
    /// The strategies' settings.
    #[serde(flatten)]
    pub strategies: StrategySettings,
}

impl SearchConfig {
    /// Reads a config file; errors name the file and what is wrong (unknown keys included).
    pub fn read(path: &Path) -> Result<SearchConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))
    }
}

/// Builds the strategy named on the command line with default settings.
pub fn make_strategy(kind: StrategyKind) -> Box<dyn Strategy<Nb201Space> + Send> {
    make_strategy_with(kind, &StrategySettings::default()).expect("the default settings are valid")
}

/// Builds a strategy with the given settings.
pub fn make_strategy_with(
    kind: StrategyKind,
    settings: &StrategySettings,
) -> Result<Box<dyn Strategy<Nb201Space> + Send>> {
    Ok(match kind {
        StrategyKind::Bo => {
            let config = settings.bo.clone();
            let features = nb201_features(&config);
            Box::new(BayesOpt::<Nb201Space>::new(config, features)?)
        }
        StrategyKind::Random => Box::new(RandomSearch::<Cell>::default()),
        StrategyKind::Re => Box::new(RegularizedEvolution::<Cell>::new(settings.re)),
        StrategyKind::Ls => Box::new(LocalSearch::<Cell>::default()),
        StrategyKind::Reinforce => Box::new(Reinforce::<Cell>::new(settings.reinforce)),
    })
}

struct Progress {
    bar: ProgressBar,
    seconds: bool,
}

impl Observer<Cell> for Progress {
    fn on_trial(&mut self, trial: &Trial<Cell>, study: &Study<Cell>) {
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

/// Runs `nasbo search`.
pub fn run(mut args: SearchArgs) -> Result<()> {
    let config = match &args.config {
        Some(path) => SearchConfig::read(path)?,
        None => SearchConfig::default(),
    };
    // Flags win over the file; the file wins over the defaults.
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
    let settings = config.strategies;
    let (evaluator_kind, dataset, strategy_kind, seed) = (
        args.evaluator.expect("resolved"),
        args.dataset.clone().expect("resolved"),
        args.strategy.expect("resolved"),
        args.seed.expect("resolved"),
    );
    let loading = Instant::now();
    let (mut evaluator, table): (Box<dyn Evaluator<Cell>>, Option<Nb201Benchmark>) =
        match evaluator_kind {
            EvaluatorKind::Table => {
                let dataset = parse_dataset(&dataset).map_err(anyhow::Error::msg)?;
                let bench =
                    Nb201Benchmark::load(benchmark_path(args.benchmark.as_deref())?, dataset)?;
                (Box::new(bench.clone()), Some(bench))
            }
            EvaluatorKind::Train => (
                Box::new(crate::train_cmd::make_evaluator(&args.train, &dataset)?),
                None,
            ),
        };
    let load_s = loading.elapsed().as_secs_f64();
    let budget = match args.budget_seconds {
        Some(s) => Budget::Seconds(s),
        None => Budget::Queries(args.budget.unwrap_or(150)),
    };
    let space = Nb201Space;
    let mut strategy = make_strategy_with(strategy_kind, &settings)?;
    let runner = Runner::new(&space, budget, seed, true)?;
    let runner = if args.resume {
        let (journal, lines) = Journal::resume(&args.out)
            .with_context(|| "cannot resume: --resume needs the journal of an earlier run")?;
        eprintln!(
            "resuming {}: {} finished trial(s) kept",
            args.out.display(),
            lines.len()
        );
        runner.resume_from(journal, lines)?
    } else {
        runner.with_journal(Journal::create(&args.out, args.overwrite)?)
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
    let study = runner
        .observe(Progress {
            bar: bar.clone(),
            seconds,
        })
        .stop_on(stop.clone())
        .run(strategy.as_mut(), evaluator.as_mut())?;
    bar.finish_and_clear();
    let wall_s = started.elapsed().as_secs_f64();
    if stop.load(Ordering::SeqCst) {
        eprintln!(
            "interrupted: {} trial(s) are safe in {}; continue with --resume",
            study.len(),
            args.out.display()
        );
    }
    print_summary(&args, table.as_ref(), &study, load_s, wall_s);
    Ok(())
}

fn print_summary(
    args: &SearchArgs,
    table: Option<&Nb201Benchmark>,
    study: &Study<Cell>,
    load_s: f64,
    wall_s: f64,
) {
    let failed = study
        .trials()
        .iter()
        .filter(|t| t.status == Status::Failed)
        .count();
    let strategy = strategy_name(args.strategy.expect("resolved"));
    let seed = args.seed.expect("resolved");
    let dataset = args.dataset.as_deref().expect("resolved");
    match table {
        Some(bench) => {
            let ds = bench.dataset();
            println!("nasbo search: {strategy} on NAS-Bench-201 {ds}, seed {seed}");
            println!(
                "  searched on {} (validation split); reported {} (test split)",
                ds.valid_column(),
                ds.test_column()
            );
            println!(
                "  {} trial(s), {failed} failed, {:.0} simulated training seconds; table loaded in {load_s:.2} s, search took {wall_s:.2} s",
                study.len(),
                study.total_cost_s()
            );
        }
        None => {
            println!("nasbo search: {strategy} training every cell on {dataset}, seed {seed}");
            println!("  searched on validation accuracy (20% of the training images held out); reported test accuracy (test set)");
            println!("  {} trial(s), {failed} failed; data loaded in {load_s:.2} s, search took {wall_s:.1} s", study.len());
        }
    }
    let Some(best) = study.best() else {
        println!("  no trial succeeded");
        return;
    };
    let test = best.reported.get("test_acc").copied().unwrap_or(f64::NAN);
    println!(
        "  best cell: {} (index {})",
        best.arch,
        best.arch.official_index()
    );
    println!(
        "    validation accuracy {:.2}, test accuracy {test:.2}",
        best.objective.unwrap_or(f64::NAN)
    );
    let mut summary = json!({
        "strategy": strategy,
        "seed": seed,
        "dataset": dataset,
        "trials": study.len(),
        "failed": failed,
        "best_arch": best.arch.to_string(),
        "best_valid_acc": best.objective,
        "best_test_acc": test,
        "cost_s": study.total_cost_s(),
    });
    if let Some(bench) = table {
        let opt = bench.optimum();
        println!(
            "    test regret {:.2} (table optimum: test {:.2} by {}; the best-validation cell {} has test {:.2})",
            opt.best_test.1 - test,
            opt.best_test.1,
            opt.best_test.0,
            opt.best_valid.0,
            opt.best_valid.2,
        );
        summary["test_regret"] = json!(opt.best_test.1 - test);
    }
    println!("  journal: {}", args.out.display());
    println!("{summary}");
}

fn strategy_name(kind: StrategyKind) -> &'static str {
    kind.name()
}
