//! The flags every study command shares, turned into the library's [`StudySpec`]: the command
//! line's values over the `--config` file's (flags win), then `NASBO_DATA` for the default table.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use nasbo_experiment::spec::{usage, TrainSpec};
use nasbo_experiment::{EvaluatorKind, SpaceKind, StrategyKind, StudySpec};
use nasbo_train::DeviceChoice;
use serde::de::DeserializeOwned;

/// A parser of one of the library's kinds by its config name (`bo`, `table`, `nasnet`).
pub fn kind<T: DeserializeOwned + Clone + Send + Sync + 'static>(
    names: &'static [&'static str],
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(names).try_map(|name| {
        serde_json::from_value::<T>(serde_json::Value::String(name.clone()))
            .map_err(|e| format!("`{name}`: {e}"))
    })
}

/// The names of the strategies on the command line.
pub const STRATEGIES: &[&str] = &[
    "bo",
    "random",
    "re",
    "ls",
    "reinforce",
    "ehvi",
    "asha",
    "asha-bo",
    "mf-bo",
];

/// The settings of a study that `search`, `bench` and `ask` share.
#[derive(Debug, Clone, Default, Args)]
pub struct SpecFlags {
    /// A TOML file with any of these settings (kebab-case keys, e.g. `budget = 100`, lists for
    /// `objective`, `constraint`, `report`), the strategies' settings in `[bo]`, `[re]` and
    /// `[reinforce]`, the trainer's in `[train]` and NASNet's in `[nasnet]`; flags win. Unknown
    /// keys are errors. Examples in benchmarks/configs/.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The search space: nb201 (NAS-Bench-201 cells, 15,625) or nasnet (NASNet normal and
    /// reduction cells). Default: nb201.
    #[arg(long, value_parser = kind::<SpaceKind>(&["nb201", "nasnet"]), conflicts_with = "space_file")]
    pub space: Option<SpaceKind>,

    /// A space declared in a TOML file: named decisions with their choices and conditions
    /// (see datasets/declared/README.md). With the table evaluator, --benchmark is a CSV with
    /// one column per decision, and --objective names its column to search on.
    #[arg(long, value_name = "SPACE.toml")]
    pub space_file: Option<PathBuf>,

    /// The benchmark table (CSV, gzipped or plain). Default for NAS-Bench-201:
    /// $NASBO_DATA/nb201/nb201_cifar10.csv.gz.
    #[arg(long, env = "NASBO_BENCHMARK", value_name = "PATH")]
    pub benchmark: Option<PathBuf>,

    /// The dataset. With the NAS-Bench-201 table (cifar10, cifar100, imagenet16): searched on
    /// `{dataset}_valid_acc_200`, reported `{dataset}_test_acc_200`. With `--evaluator train`
    /// (fashion-mnist, digits, cifar10, cifar100): searched on a held-out 20% of the training
    /// images, reported on the test set. Default: cifar10.
    #[arg(long)]
    pub dataset: Option<String>,

    /// Number of architectures to evaluate (default: 150).
    #[arg(
        long,
        conflicts_with = "budget_seconds",
        allow_negative_numbers = true,
        value_parser = architectures
    )]
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

    /// Several fidelities in epochs, cheapest first: new architectures are evaluated at the
    /// first, and the strategies `asha` and `asha-bo` (successive halving; `[asha] eta` in a
    /// config, default top/second-to-top level) promote the best of each level to the next;
    /// their incumbent is the best at the highest level reached. `mf-bo` models every level
    /// at once and takes an architecture up a level only where that is worth its cost; its
    /// incumbent is the best predicted at the top level. The other strategies search the
    /// first level only. On the NAS-Bench-201 table (12,200) each evaluation is charged its
    /// epochs; on a declared space's table, name each level's column (--fidelity-columns). With
    /// --evaluator train this is early stopping (e.g. --fidelities 1,4): every
    /// network follows the top level's schedule, a promoted one continues from its checkpoint
    /// (in OUT.rungs/), and the others are stopped early; --epochs, if given, must be the top
    /// level.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        conflicts_with = "fidelity"
    )]
    pub fidelities: Vec<u32>,

    /// With --fidelities on a declared space's table: the column searched on at each level
    /// below the top, cheapest first; the top level's is the --objective's. For NAS-Bench-201
    /// declared by datasets/declared/nb201.toml: --fidelities 12,200 --fidelity-columns
    /// e12_cifar10_valid_acc --objective cifar10_valid_acc_200:max.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub fidelity_columns: Vec<String>,

    /// With --fidelities on a declared space's table: the cost column (seconds) of each
    /// level, cheapest first. Without it, --cost is the cost of one unit of a level (seconds
    /// per epoch) and each query is charged it times its level; without either, a query costs
    /// its level.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub fidelity_costs: Vec<String>,

    /// Add seeded Gaussian noise of this standard deviation to every table answer's searched
    /// value (in its own units: 0.5 is half an accuracy point), as a real training's
    /// validation accuracy would have; reported values stay exact, so regret still measures
    /// the true quality. Each trial's noise comes from its seed: runs stay reproducible.
    #[arg(long, value_name = "SD")]
    pub noise: Option<f64>,

    /// Objectives and constraints beyond the validation accuracy.
    #[command(flatten, next_help_heading = "Objectives and constraints")]
    pub objectives: ObjectiveFlags,
}

/// The objective flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ObjectiveFlags {
    /// An objective, `NAME:max` or `NAME:min`; repeat it for a multi-objective search (two or
    /// three). NAME is `valid_acc` (the value searched on), `flops_m` or `params_m` (from the
    /// cost model, known before training), a column of the benchmark table or of a
    /// --metrics-table (`help_pixel3_ms`), or a value the trainer reports (`latency_ms_b1`).
    /// The first objective is the one single-objective strategies and summaries use.
    #[arg(
        long = "objective",
        value_name = "NAME:max|min",
        allow_hyphen_values = true
    )]
    pub objective: Vec<String>,

    /// A constraint the returned architecture must meet, `NAME<=BOUND` (or <, >=, >), e.g.
    /// `flops_m<=100` or `help_pixel3_ms<=5`; repeatable. Constraints on FLOPs and parameters
    /// are known before training and cut the space itself; constraints on measured metrics
    /// enter BO as constrained EI (EI × probability of feasibility under a second GP).
    #[arg(
        long = "constraint",
        value_name = "NAME<=BOUND",
        allow_hyphen_values = true
    )]
    pub constraint: Vec<String>,

    /// A CSV table of further metrics over the same architectures (an `arch_str` column),
    /// joined on the architecture; repeatable. For NAS-Bench-201, nb201_latency.csv.gz beside
    /// the benchmark table is used when present.
    #[arg(long = "metrics-table", value_name = "PATH")]
    pub metrics_table: Vec<PathBuf>,

    /// The hypervolume's reference point, one value per objective in the objectives' own units
    /// (`80,30` for valid_acc:max, help_pixel3_ms:min). Default: the worst value of each
    /// objective over the whole table.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "V1,V2[,V3]",
        allow_negative_numbers = true
    )]
    pub reference_point: Vec<f64>,

    /// With a declared space's table (--space-file): a column reported with each trial but
    /// never searched on, such as `test_acc`; repeatable. The first is the one regret is
    /// computed on (in the direction of the first --objective); without it, regret is
    /// measured on the objective column itself.
    #[arg(long = "report", value_name = "COLUMN")]
    pub report: Vec<String>,

    /// With a declared space's table: the column of seconds one evaluation costs (for
    /// --budget-seconds).
    #[arg(long = "cost", value_name = "COLUMN")]
    pub cost: Option<String>,
}

/// The flags of the training evaluator (`nasbo search --evaluator train`).
#[derive(Debug, Clone, Default, Args)]
pub struct TrainFlags {
    /// Folder with the data set (or its parent); else $NASBO_DATA, else Debian's location.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Epochs per trial (default: 2).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Channels of the first stage (C) of every trial's network (default: 8).
    #[arg(long)]
    pub channels: Option<usize>,
    /// Cells per stage (N) of every trial's network (default: 1).
    #[arg(long)]
    pub cells: Option<usize>,
    /// Images per step (default: 64).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Device: cpu (burn's flex backend, the default) or wgpu.
    #[arg(long, value_parser = kind::<DeviceChoice>(&["cpu", "wgpu"]))]
    pub device: Option<DeviceChoice>,
    /// Train on at most this many images (validation images are never trained on).
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Score every trial on at most this many validation images and report it on at most
    /// this many test images (a fixed, seeded subset), to keep a search on a large data set
    /// fast; the winner can be retrained and tested in full with `nasbo train`.
    #[arg(long, value_name = "N")]
    pub eval_limit: Option<usize>,
    /// Give up a trial after this many seconds (it becomes a failed trial).
    #[arg(long)]
    pub time_limit_s: Option<f64>,
}

impl TrainFlags {
    /// The trainer's settings the flags give.
    pub fn spec(&self) -> TrainSpec {
        TrainSpec {
            data_dir: self.data_dir.clone(),
            epochs: self.epochs,
            channels: self.channels,
            cells: self.cells,
            batch_size: self.batch_size,
            device: self.device,
            train_limit: self.train_limit,
            eval_limit: self.eval_limit,
            time_limit_s: self.time_limit_s,
        }
    }
}

/// The flags of the command evaluator (`nasbo search --evaluator command`).
#[derive(Debug, Clone, Default, Args)]
pub struct CommandFlags {
    /// Your trainer's command line, run under `sh -c` for every trial, e.g.
    /// 'python train.py --arch {arch} --seed {seed} --out {trial_dir}'. Placeholders, each
    /// replaced by its value quoted for the shell (do not quote them yourself): {arch} (the
    /// architecture's text form, as in the journal), {trial} (its number), {seed} (its
    /// evaluation seed), {trial_dir} (its folder, beside the journal: trial 3 of run.jsonl
    /// runs in run.trials/3/, created first); the same values are in NASBO_ARCH, NASBO_TRIAL, NASBO_SEED and
    /// NASBO_TRIAL_DIR. Its stdout and stderr are written to stdout.log and stderr.log in the
    /// trial's folder. Its last non-empty stdout line must be one JSON object:
    /// {"objective": 91.3, "reported": {"test_acc": 93.9}, "cost_s": 12.0} (objective: the
    /// value searched on, maximised; reported and cost_s optional, cost_s defaulting to the
    /// wall time), or with several --objective flags {"metrics": {"valid_acc": 91.3,
    /// "latency_ms": 3.1}}. A non-zero exit, a missing or malformed result or a non-finite
    /// value makes a failed trial whose reason holds the last lines of stderr.
    #[arg(long, value_name = "COMMAND", allow_hyphen_values = true)]
    pub command: Option<String>,
    /// Kill a trial's command (its whole process group) after this many seconds; the trial
    /// fails.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub trial_timeout_s: Option<f64>,
}

/// Options of workers on a shared study (`nasbo worker`, `nasbo search --workers`).
#[derive(Debug, Clone, Args)]
pub struct WorkerFlags {
    /// A pending trial whose worker has been silent this long (killed, its machine lost) is
    /// handed to the next worker that asks (default 60). Part of the study's settings.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub heartbeat_s: Option<f64>,
    /// How many times a silent worker's trial is handed out again before it is recorded as
    /// failed with the reason (default 2). Part of the study's settings.
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,
}

/// The per-command settings beside the shared ones.
/// What a search runs, as `nasbo search` and `nasbo worker` both take it: the study's
/// settings, the evaluator, the strategy, the seed and the evaluators' options.
#[derive(Debug, Clone, Args)]
pub struct RunFlags {
    /// The study's settings.
    #[command(flatten)]
    pub spec: SpecFlags,

    /// What scores an architecture: table (a lookup in the benchmark table, the default),
    /// train (a real training run) or command (your own trainer run for every trial: see
    /// --command).
    #[arg(long, value_parser = kind::<EvaluatorKind>(&["table", "train", "command"]))]
    pub evaluator: Option<EvaluatorKind>,

    /// The search strategy: bo (Bayesian optimisation, the default; ParEGO with several
    /// objectives), random, re (regularized evolution), ls (local search), reinforce, or ehvi
    /// (expected hypervolume improvement, several objectives only).
    #[arg(long, value_parser = kind::<StrategyKind>(STRATEGIES))]
    pub strategy: Option<StrategyKind>,

    /// Seed of the search: the same seed gives the same trajectory (default: 0).
    #[arg(long)]
    pub seed: Option<u64>,

    /// Options of `--evaluator train`.
    #[command(flatten, next_help_heading = "Training evaluator (--evaluator train)")]
    pub train: TrainFlags,

    /// Options of `--evaluator command`.
    #[command(flatten, next_help_heading = "Command evaluator (--evaluator command)")]
    pub command: CommandFlags,
}

impl RunFlags {
    /// The study these flags (with the workers' options and `--config`) define.
    pub fn spec(&self, worker: &WorkerFlags) -> Result<StudySpec> {
        self.spec.spec(Extra {
            strategy: self.strategy,
            seed: self.seed,
            evaluator: self.evaluator,
            train: self.train.spec(),
            command: self.command.command.clone(),
            trial_timeout_s: self.command.trial_timeout_s,
            heartbeat_s: worker.heartbeat_s,
            max_retries: worker.max_retries,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// `--strategy`.
    pub strategy: Option<StrategyKind>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--evaluator`.
    pub evaluator: Option<EvaluatorKind>,
    /// The training flags.
    pub train: TrainSpec,
    /// `--command`.
    pub command: Option<String>,
    /// `--trial-timeout-s`.
    pub trial_timeout_s: Option<f64>,
    /// `--heartbeat-s`.
    pub heartbeat_s: Option<f64>,
    /// `--max-retries`.
    pub max_retries: Option<u32>,
}

impl SpecFlags {
    /// The study these flags and their `--config` file define.
    pub fn spec(&self, extra: Extra) -> Result<StudySpec> {
        let o = &self.objectives;
        let flags = StudySpec {
            space: self.space,
            space_file: self.space_file.clone(),
            benchmark: self.benchmark.clone(),
            dataset: self.dataset.clone(),
            budget: self.budget,
            budget_seconds: self.budget_seconds,
            fidelity: self.fidelity,
            fidelities: self.fidelities.clone(),
            fidelity_columns: self.fidelity_columns.clone(),
            fidelity_costs: self.fidelity_costs.clone(),
            noise: self.noise,
            objective: parse_all(&o.objective)?,
            constraint: parse_all(&o.constraint)?,
            metrics_table: o.metrics_table.clone(),
            reference_point: o.reference_point.clone(),
            report: o.report.clone(),
            cost: o.cost.clone(),
            strategy: extra.strategy,
            seed: extra.seed,
            evaluator: extra.evaluator,
            train: extra.train,
            command: extra.command,
            trial_timeout_s: extra.trial_timeout_s,
            heartbeat_s: extra.heartbeat_s,
            max_retries: extra.max_retries,
            ..StudySpec::default()
        };
        let config = match &self.config {
            Some(path) => {
                missing_input("--config", path)?;
                StudySpec::read(path)?
            }
            None => StudySpec::default(),
        };
        let mut spec = flags.over(config);
        default_table(&mut spec);
        spec.validate()?;
        check_inputs(&spec)?;
        Ok(spec)
    }
}

/// Every input file the spec names exists: a missing one is a usage error, found before any
/// work, that shows the absolute path tried and what `NASBO_DATA` would give.
fn check_inputs(spec: &StudySpec) -> Result<()> {
    if let Some(path) = &spec.space_file {
        missing_input("--space-file", path)?;
    }
    if let Some(path) = &spec.benchmark {
        missing_input("--benchmark", path).map_err(|e| {
            let hint = match data_env() {
                Some(dir) => format!(
                    "NASBO_DATA is {}, whose NAS-Bench-201 table is {}",
                    dir.display(),
                    nasbo_experiment::tables::nb201_table_in(&dir).display()
                ),
                None => "set NASBO_DATA to the data folder (the one holding nb201/) and leave \
                         out --benchmark to search its NAS-Bench-201 table"
                    .into(),
            };
            usage(format!("{e}; {hint}"))
        })?;
    }
    for path in &spec.metrics_table {
        missing_input("--metrics-table", path)?;
    }
    Ok(())
}

/// A usage error if `path`, given by `flag`, does not exist; it shows the absolute path a
/// relative one was taken as (relative paths are read from the current folder).
pub fn missing_input(flag: &str, path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let shown = match std::path::absolute(path) {
        Ok(abs) if path.is_relative() => format!(
            "{} (that is {}, from the current folder)",
            path.display(),
            abs.display()
        ),
        _ => path.display().to_string(),
    };
    Err(usage(format!("{flag}: no such file: {shown}")))
}

/// A NAS-Bench-201 table search with no `--benchmark` reads `$NASBO_DATA`'s table.
fn default_table(spec: &mut StudySpec) {
    let nb201 = spec.space_file.is_none() && spec.space.is_none_or(|s| s == SpaceKind::Nb201);
    if nb201 && spec.benchmark.is_none() && spec.evaluator() == EvaluatorKind::Table {
        spec.benchmark = data_env().map(|d| nasbo_experiment::tables::nb201_table_in(&d));
    }
}

/// The data folder named by `NASBO_DATA`, if set: the binary reads the environment, the
/// libraries never do.
pub fn data_env() -> Option<PathBuf> {
    std::env::var_os(nasbo_train::data::DATA_ENV).map(PathBuf::from)
}

/// The settings a study spec has, which are also the flags of the study commands.
const SETTINGS: &[&str] = &[
    "space",
    "space-file",
    "benchmark",
    "evaluator",
    "dataset",
    "strategy",
    "budget",
    "budget-seconds",
    "fidelity",
    "fidelities",
    "fidelity-columns",
    "fidelity-costs",
    "noise",
    "seed",
    "objective",
    "constraint",
    "metrics-table",
    "reference-point",
    "report",
    "cost",
    "epochs",
    "channels",
    "cells",
    "batch-size",
    "train-limit",
    "eval-limit",
    "time-limit-s",
    "command",
    "trial-timeout-s",
    "cost-s",
    "reported",
];

/// The hint the binary adds to an error that names settings (`budget-seconds`, or
/// `evaluator = "train"`): the flags that give them. Library errors name settings by their
/// config keys; this is where the command line's words come in.
pub fn settings_hint(message: &str) -> Option<String> {
    if message.contains("no benchmark table") {
        return Some(
            "pass --benchmark PATH, or set NASBO_BENCHMARK to it, or NASBO_DATA to the folder \
             that holds nb201/nb201_cifar10.csv.gz"
                .into(),
        );
    }
    let mut flags: Vec<String> = Vec::new();
    for quoted in message.split('`').skip(1).step_by(2) {
        let (key, value) = match quoted.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
            None => (quoted.trim(), None),
        };
        if SETTINGS.contains(&key) {
            let flag = match value {
                Some(v) => format!("--{key} {v}"),
                None => format!("--{key}"),
            };
            if !flags.contains(&flag) {
                flags.push(flag);
            }
        }
    }
    (!flags.is_empty()).then(|| {
        format!(
            "on the command line: {} (or the same keys in a --config file)",
            flags.join(", ")
        )
    })
}

/// Every text of a repeated flag parsed, a bad one a usage error. Parsed here rather than by
/// clap, whose message would echo a value of any length in full (three times).
fn parse_all<T>(texts: &[String]) -> Result<Vec<T>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    texts
        .iter()
        .map(|text| {
            text.parse()
                .map_err(|e: T::Err| nasbo_experiment::spec::usage(e.to_string()))
        })
        .collect()
}

/// A budget in architectures: a whole number, at least 1.
fn architectures(text: &str) -> std::result::Result<usize, String> {
    match text.trim().parse::<i128>() {
        Ok(n) if n >= 1 => {
            usize::try_from(n).map_err(|_| format!("at most {} architectures", usize::MAX))
        }
        Ok(_) => Err("a budget is a number of architectures to evaluate, at least 1".into()),
        Err(_) => Err("expected a whole number of architectures to evaluate, at least 1".into()),
    }
}
