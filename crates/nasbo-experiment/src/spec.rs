//! [`StudySpec`]: everything that defines a study, built the same way by every command from its
//! flags and a TOML config file (flags win, unknown keys are errors), recorded in the study's
//! journal and compared when a study is continued.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nasbo_core::nasnet::NasnetSpace;
use nasbo_core::{Budget, Constraint, Objective};
use nasbo_search::{AshaConfig, BoConfig, EvolutionConfig, ReinforceConfig};
use nasbo_train::DeviceChoice;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A mistake in the settings (a flag, a config file, a value given), found before any work: a
/// binary exits with 2 for it (1 for failures while working). Messages name settings by their
/// config keys (`budget-seconds`), which are also the command line's flags.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A [`UsageError`] as an `anyhow` error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Search spaces built into nasbo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpaceKind {
    /// NAS-Bench-201 cells: 6 edges × 5 operations (15,625 cells).
    Nb201,
    /// NASNet cells: a normal and a reduction cell.
    Nasnet,
}

/// What scores an architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvaluatorKind {
    /// A lookup in a complete table (`benchmark`).
    Table,
    /// A real training run (burn).
    Train,
    /// The user's own trainer, through ask and tell.
    External,
    /// The user's own trainer run as a shell command for every trial (`command`).
    Command,
}

/// Search strategies nasbo knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    /// Bayesian optimisation (ParEGO with several objectives).
    Bo,
    /// Uniform random search without replacement.
    Random,
    /// Regularized evolution.
    Re,
    /// Local search.
    Ls,
    /// REINFORCE.
    Reinforce,
    /// Expected hypervolume improvement (several objectives only).
    Ehvi,
    /// Asynchronous successive halving over the `fidelities`, new architectures at random.
    Asha,
    /// Asynchronous successive halving over the `fidelities`, new architectures proposed by
    /// BO fitted to the cheapest fidelity.
    AshaBo,
    /// Multi-fidelity BO over the `fidelities`: one model of every fidelity (the cheapest
    /// BO's GP, each one above it a scaled copy of the one below plus a GP of the gap) and a
    /// cost-aware choice between a new architecture at the cheapest fidelity and taking an
    /// evaluated one a fidelity up.
    MfBo,
}

impl StrategyKind {
    /// Every strategy, in the order benchmarks list them.
    pub const ALL: [StrategyKind; 9] = [
        StrategyKind::Bo,
        StrategyKind::Random,
        StrategyKind::Re,
        StrategyKind::Ls,
        StrategyKind::Reinforce,
        StrategyKind::Ehvi,
        StrategyKind::Asha,
        StrategyKind::AshaBo,
        StrategyKind::MfBo,
    ];

    /// The strategies a benchmark compares when none are named.
    pub fn defaults(multi_objective: bool) -> Vec<StrategyKind> {
        use StrategyKind::*;
        if multi_objective {
            vec![Bo, Ehvi, Re, Random]
        } else {
            vec![Bo, Random, Re, Ls, Reinforce]
        }
    }

    /// The name in configs, on the command line and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Bo => "bo",
            StrategyKind::Random => "random",
            StrategyKind::Re => "re",
            StrategyKind::Ls => "ls",
            StrategyKind::Reinforce => "reinforce",
            StrategyKind::Ehvi => "ehvi",
            StrategyKind::Asha => "asha",
            StrategyKind::AshaBo => "asha-bo",
            StrategyKind::MfBo => "mf-bo",
        }
    }
}

/// The settings of the training evaluator (a config's `[train]` table); unset values take the
/// defaults of [`TrainSpec`]'s accessors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainSpec {
    /// Folder with the data set (or its parent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Epochs per trial (default 2).
    pub epochs: Option<usize>,
    /// Channels of the first stage (default 8).
    pub channels: Option<usize>,
    /// Cells per stage (default 1).
    pub cells: Option<usize>,
    /// Images per step (default 64).
    pub batch_size: Option<usize>,
    /// Device (default cpu).
    pub device: Option<DeviceChoice>,
    /// Train on at most this many images.
    pub train_limit: Option<usize>,
    /// Validate and test on at most this many images each.
    pub eval_limit: Option<usize>,
    /// Give up a trial after this many seconds.
    pub time_limit_s: Option<f64>,
}

impl TrainSpec {
    /// Fills every unset value from `other`.
    pub fn or(self, other: TrainSpec) -> TrainSpec {
        TrainSpec {
            data_dir: self.data_dir.or(other.data_dir),
            epochs: self.epochs.or(other.epochs),
            channels: self.channels.or(other.channels),
            cells: self.cells.or(other.cells),
            batch_size: self.batch_size.or(other.batch_size),
            device: self.device.or(other.device),
            train_limit: self.train_limit.or(other.train_limit),
            eval_limit: self.eval_limit.or(other.eval_limit),
            time_limit_s: self.time_limit_s.or(other.time_limit_s),
        }
    }

    /// Checks the values given: counts of at least 1, a finite positive time limit.
    pub fn validate(&self) -> Result<()> {
        let counts = [
            ("epochs", self.epochs, "epoch"),
            ("channels", self.channels, "channel"),
            ("cells", self.cells, "cell per stage"),
            ("batch-size", self.batch_size, "image per step"),
            ("train-limit", self.train_limit, "image"),
            ("eval-limit", self.eval_limit, "image"),
        ];
        for (key, value, unit) in counts {
            if value == Some(0) {
                return Err(usage(format!("`{key}` must be at least 1 {unit} (got 0)")));
            }
        }
        if let Some(t) = self.time_limit_s.filter(|t| !(t.is_finite() && *t > 0.0)) {
            return Err(usage(format!(
                "`time-limit-s` must be a finite number of seconds > 0 (got {t})"
            )));
        }
        Ok(())
    }

    /// Sets the defaults of every unset value (the data folder stays unset: it is looked up).
    pub fn with_defaults(self) -> TrainSpec {
        TrainSpec {
            epochs: self.epochs.or(Some(2)),
            channels: self.channels.or(Some(8)),
            cells: self.cells.or(Some(1)),
            batch_size: self.batch_size.or(Some(64)),
            device: self.device.or(Some(DeviceChoice::Cpu)),
            ..self
        }
    }
}

/// Everything that defines a study: the space, the evaluator and its table or training
/// settings, the objectives and constraints, the strategy and all strategies' settings, the
/// budget and the seed. Its TOML form is a config file (kebab-case keys, the strategies'
/// settings in `[bo]`, `[re]`, `[reinforce]`, the trainer's in `[train]`, NASNet's in
/// `[nasnet]`); unknown keys are errors that name their line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct StudySpec {
    /// A built-in space (default nb201).
    pub space: Option<SpaceKind>,
    /// A space declared in a TOML file.
    pub space_file: Option<PathBuf>,
    /// The NASNet space's settings.
    pub nasnet: Option<NasnetSpace>,
    /// The table (CSV, gzipped or plain) of the table evaluator.
    pub benchmark: Option<PathBuf>,
    /// What scores an architecture (default: the table).
    pub evaluator: Option<EvaluatorKind>,
    /// The dataset (default cifar10).
    pub dataset: Option<String>,
    /// The strategy (default bo).
    pub strategy: Option<StrategyKind>,
    /// Architectures to evaluate (default 150, unless `budget-seconds` is set).
    pub budget: Option<usize>,
    /// Simulated (or real) seconds of evaluation to spend instead of a number of queries.
    pub budget_seconds: Option<f64>,
    /// NAS-Bench-201's epochs searched on and charged per query: 12 or 200.
    pub fidelity: Option<u32>,
    /// Several fidelities at once (NAS-Bench-201: `[12, 200]` epochs): every strategy
    /// evaluates new architectures at the first, and `asha`/`asha-bo`/`mf-bo` take the
    /// promising ones to the next. Empty: one fidelity (`fidelity`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fidelities: Vec<u32>,
    /// With `fidelities` on a declared space's table: the column searched on at each level
    /// below the top, cheapest first (the top level's is the `objective`'s column; a list of
    /// every level, the top's last, is accepted too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fidelity_columns: Vec<String>,
    /// With `fidelities` on a declared space's table: the cost column of each level, cheapest
    /// first. Without them, `cost` is the cost of one unit of a level (seconds per epoch) and
    /// a query is charged it times its level; without either, a query costs its level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fidelity_costs: Vec<String>,
    /// Standard deviation of seeded Gaussian noise added to a table's searched value (the
    /// objective's own units; reported values stay exact). Unset: no noise.
    pub noise: Option<f64>,
    /// The seed (default 0).
    pub seed: Option<u64>,
    /// The objectives, the first searched on.
    pub objective: Vec<Objective>,
    /// Constraints the returned architecture must meet.
    pub constraint: Vec<Constraint>,
    /// Tables of further metrics over the same architectures.
    pub metrics_table: Vec<PathBuf>,
    /// The hypervolume's reference point in the objectives' own units.
    pub reference_point: Vec<f64>,
    /// Columns of a declared space's table reported with each trial, the first for regret.
    pub report: Vec<String>,
    /// The column of a declared space's table that holds an evaluation's cost in seconds.
    pub cost: Option<String>,
    /// The command evaluator's command line, with placeholders `{arch}`, `{trial}`, `{seed}`,
    /// `{trial_dir}` (see [`crate::command`]).
    pub command: Option<String>,
    /// The command evaluator gives up a trial (killing its processes) after this many seconds.
    pub trial_timeout_s: Option<f64>,
    /// Workers on a shared study: a pending trial whose worker has been silent this many
    /// seconds is handed out again (default 60).
    pub heartbeat_s: Option<f64>,
    /// Workers on a shared study: how many times a silent worker's trial is handed out again
    /// before it is recorded as failed (default 2).
    pub max_retries: Option<u32>,
    /// The training evaluator's settings.
    pub train: TrainSpec,
    /// Bayesian optimisation's settings.
    pub bo: BoConfig,
    /// Regularized evolution's settings.
    pub re: EvolutionConfig,
    /// REINFORCE's settings.
    pub reinforce: ReinforceConfig,
    /// Successive halving's settings (`asha`, `asha-bo`).
    pub asha: AshaConfig,
}

impl StudySpec {
    /// Reads a config file; errors name the file, the line and what is wrong.
    pub fn read(path: &Path) -> Result<StudySpec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            usage(format!(
                "invalid config {}: {}",
                path.display(),
                e.to_string().trim_end()
            ))
        })
    }

    /// This spec (the command line's) over `config` (a file's): every unset value is taken
    /// from `config`. The budget is taken as a pair, so a flag `budget` replaces a file's
    /// `budget-seconds`; the space likewise (`space` or `space-file`). Strategy settings have
    /// no flags: they come from `config`. The file's command evaluator settings are dropped
    /// when the flags name another evaluator.
    pub fn over(self, config: StudySpec) -> StudySpec {
        let other_evaluator = self.evaluator.is_some_and(|e| e != EvaluatorKind::Command);
        let (config_command, config_timeout) = if other_evaluator {
            (None, None)
        } else {
            (config.command, config.trial_timeout_s)
        };
        let (budget, budget_seconds) = if self.budget.is_none() && self.budget_seconds.is_none() {
            (config.budget, config.budget_seconds)
        } else {
            (self.budget, self.budget_seconds)
        };
        let (space, space_file) = if self.space.is_none() && self.space_file.is_none() {
            (config.space, config.space_file)
        } else {
            (self.space, self.space_file)
        };
        StudySpec {
            space,
            space_file,
            nasnet: self.nasnet.or(config.nasnet),
            benchmark: self.benchmark.or(config.benchmark),
            evaluator: self.evaluator.or(config.evaluator),
            dataset: self.dataset.or(config.dataset),
            strategy: self.strategy.or(config.strategy),
            budget,
            budget_seconds,
            fidelity: self.fidelity.or(config.fidelity),
            fidelities: first_set(self.fidelities, config.fidelities),
            fidelity_columns: first_set(self.fidelity_columns, config.fidelity_columns),
            fidelity_costs: first_set(self.fidelity_costs, config.fidelity_costs),
            noise: self.noise.or(config.noise),
            seed: self.seed.or(config.seed),
            objective: first_set(self.objective, config.objective),
            constraint: first_set(self.constraint, config.constraint),
            metrics_table: first_set(self.metrics_table, config.metrics_table),
            reference_point: first_set(self.reference_point, config.reference_point),
            report: first_set(self.report, config.report),
            cost: self.cost.or(config.cost),
            command: self.command.or(config_command),
            trial_timeout_s: self.trial_timeout_s.or(config_timeout),
            heartbeat_s: self.heartbeat_s.or(config.heartbeat_s),
            max_retries: self.max_retries.or(config.max_retries),
            train: self.train.or(config.train),
            bo: config.bo,
            re: config.re,
            reinforce: config.reinforce,
            asha: config.asha,
        }
    }

    /// Checks what no setting may be, whatever runs it: both spaces at once, both budgets at
    /// once, a negative or non-finite budget.
    pub fn validate(&self) -> Result<()> {
        if self.space.is_some() && self.space_file.is_some() {
            return Err(usage(
                "both `space` and `space-file` are set: keep one (a declared space file replaces \
                 the built-in spaces)",
            ));
        }
        if self.budget.is_some() && self.budget_seconds.is_some() {
            return Err(usage(
                "both `budget` (queries) and `budget-seconds` are set: give one",
            ));
        }
        self.budget().validate().map_err(|e| usage(e.to_string()))?;
        self.bo.validate().map_err(|e| usage(e.to_string()))?;
        self.re.validate().map_err(|e| usage(e.to_string()))?;
        self.reinforce
            .validate()
            .map_err(|e| usage(e.to_string()))?;
        self.train.validate()?;
        self.validate_command()?;
        if let Some(h) = self.heartbeat_s.filter(|h| !(h.is_finite() && *h > 0.0)) {
            return Err(usage(format!(
                "`heartbeat-s` must be a finite number of seconds > 0 (got {h})"
            )));
        }
        if !self.fidelities.is_empty() {
            let f = &self.fidelities;
            if f.len() < 2 || f[0] == 0 || f.windows(2).any(|w| w[0] >= w[1]) {
                return Err(usage(format!(
                    "`fidelities` must list at least two increasing levels, cheapest first \
                     (NAS-Bench-201: 12,200), not {f:?}"
                )));
            }
            if self.asha.eta.is_some_and(|eta| eta < 2) {
                return Err(usage(
                    "`asha.eta` must be at least 2: the best 1/eta of each level go up",
                ));
            }
            if self.fidelity.is_some() {
                return Err(usage(
                    "both `fidelity` and `fidelities` are set: give one (`fidelities` lists \
                     every level, cheapest first)",
                ));
            }
            let declared_table =
                self.space_file.is_some() && self.evaluator() == EvaluatorKind::Table;
            if !declared_table && !self.fidelity_columns.is_empty() {
                return Err(usage(
                    "`fidelity-columns` name the columns of a declared space's table (with \
                     `space-file` and its `benchmark`); NAS-Bench-201's are built in",
                ));
            }
            if !declared_table && !self.fidelity_costs.is_empty() {
                return Err(usage(
                    "`fidelity-costs` name the cost columns of a declared space's table (with \
                     `space-file` and its `benchmark`)",
                ));
            }
            match self.evaluator() {
                EvaluatorKind::Table if self.space_file.is_some() => {
                    self.validate_fidelity_columns()?;
                }
                EvaluatorKind::Table if self.space == Some(SpaceKind::Nasnet) => {
                    return Err(usage(
                        "NASNet has no table: its `fidelities` are early stopping of real \
                         trainings (`evaluator = \"train\"`)",
                    ));
                }
                EvaluatorKind::Table => {}
                EvaluatorKind::Train => {
                    let top = *f.last().expect("two levels") as usize;
                    if let Some(e) = self.train.epochs.filter(|&e| e != top) {
                        return Err(usage(format!(
                            "with `fidelities` the levels are the epochs (a network stopped \
                             early has the first, a promoted one continues to the next): drop \
                             `epochs` ({e}) or make it the top level ({top})"
                        )));
                    }
                    if self.has_objectives() {
                        return Err(usage(
                            "`fidelities` search the validation accuracy alone: drop the \
                             objectives and constraints, or the fidelities",
                        ));
                    }
                }
                _ => {
                    return Err(usage(
                        "`fidelities` need the table or nasbo's trainer (`--evaluator train`): \
                         a command's or your own trainer's fidelities are not built",
                    ));
                }
            }
        }
        if self.fidelities.is_empty()
            && !(self.fidelity_columns.is_empty() && self.fidelity_costs.is_empty())
        {
            return Err(usage(
                "`fidelity-columns` and `fidelity-costs` need the `fidelities` (the levels, \
                 cheapest first, e.g. 12,200)",
            ));
        }
        if let Some(n) = self.noise {
            if !(n.is_finite() && n >= 0.0) {
                return Err(usage(format!(
                    "`noise` must be a finite standard deviation ≥ 0 (got {n})"
                )));
            }
            if self.evaluator() != EvaluatorKind::Table {
                return Err(usage(
                    "`noise` is added to a table's answers: it needs the table evaluator \
                     (a real training is noisy by itself)",
                ));
            }
        }
        Ok(())
    }

    /// Checks the command evaluator's settings: a command (with known placeholders only) if and
    /// only if the evaluator is `command`, a finite positive timeout.
    fn validate_command(&self) -> Result<()> {
        let is_command = self.evaluator() == EvaluatorKind::Command;
        match (&self.command, is_command) {
            (Some(command), true) => {
                crate::command::CommandTemplate::parse(command)?;
            }
            (None, true) => {
                return Err(usage(
                    "`evaluator = \"command\"` needs the `command` to run for every trial, e.g. \
                     `python train.py --arch {arch} --seed {seed} --out {trial_dir}`",
                ))
            }
            (Some(_), false) => {
                return Err(usage(
                    "a `command` is given but the evaluator is not the command evaluator: add \
                     `evaluator = \"command\"`",
                ))
            }
            (None, false) => {}
        }
        if let Some(t) = self.trial_timeout_s {
            if !is_command {
                return Err(usage(
                    "`trial-timeout-s` is a setting of the command evaluator: add \
                     `evaluator = \"command\"` and a `command`",
                ));
            }
            if !(t.is_finite() && t > 0.0) {
                return Err(usage(format!(
                    "`trial-timeout-s` must be a finite number of seconds > 0 (got {t})"
                )));
            }
        }
        Ok(())
    }

    /// The strategy (default bo).
    pub fn strategy(&self) -> StrategyKind {
        self.strategy.unwrap_or(StrategyKind::Bo)
    }

    /// The seed (default 0).
    pub fn seed(&self) -> u64 {
        self.seed.unwrap_or(0)
    }

    /// The evaluator (default: the table).
    pub fn evaluator(&self) -> EvaluatorKind {
        self.evaluator.unwrap_or(EvaluatorKind::Table)
    }

    /// The dataset (default cifar10).
    pub fn dataset(&self) -> &str {
        self.dataset.as_deref().unwrap_or("cifar10")
    }

    /// Seconds of silence after which a worker's trial is handed out again (default 60).
    pub fn heartbeat_s(&self) -> f64 {
        self.heartbeat_s.unwrap_or(60.0)
    }

    /// Times a silent worker's trial is handed out again before it fails (default 2).
    pub fn max_retries(&self) -> u32 {
        self.max_retries.unwrap_or(2)
    }

    /// A declared table's fidelities: one objective and no constraint, a column for each
    /// level below the top (or for every level, the top's the objective's), no cost column
    /// or one per level.
    fn validate_fidelity_columns(&self) -> Result<()> {
        let levels = self.fidelities.len();
        if self.objective.len() > 1 || !self.constraint.is_empty() {
            return Err(usage(
                "`fidelities` search one column: give one `objective` (the top level's \
                 column) and no constraint",
            ));
        }
        let columns = &self.fidelity_columns;
        if columns.is_empty() {
            return Err(usage(format!(
                "with `fidelities` on a declared table, name the column searched on at each \
                 level below the top, cheapest first: `fidelity-columns` ({} column(s) for \
                 {:?}; the top level's is the `objective`)",
                levels - 1,
                &self.fidelities[..levels - 1]
            )));
        }
        let top = self.objective.first().map(|o| o.name.as_str());
        if columns.len() == levels {
            if let Some(top) = top.filter(|&t| t != columns[levels - 1]) {
                return Err(usage(format!(
                    "`fidelity-columns` lists {levels} columns, so its last is the top \
                     level's, which is the `objective` `{top}`, not `{}`",
                    columns[levels - 1]
                )));
            }
        } else if columns.len() != levels - 1 {
            return Err(usage(format!(
                "`fidelity-columns` has {} column(s) for the {levels} `fidelities` {:?}: give \
                 one per level below the top ({}), or one per level",
                columns.len(),
                self.fidelities,
                levels - 1
            )));
        }
        if !self.fidelity_costs.is_empty() && self.fidelity_costs.len() != levels {
            return Err(usage(format!(
                "`fidelity-costs` has {} column(s) for the {levels} `fidelities` {:?}: give \
                 one per level, cheapest first",
                self.fidelity_costs.len(),
                self.fidelities
            )));
        }
        Ok(())
    }

    /// The budget: `budget-seconds` if set, else `budget` queries (default 150).
    pub fn budget(&self) -> Budget {
        match self.budget_seconds {
            Some(s) => Budget::Seconds(s),
            None => Budget::Queries(self.budget.unwrap_or(150)),
        }
    }

    /// The training evaluator's settings with every default filled in; with `fidelities`, its
    /// epochs are the top level (every network follows the full training's schedule).
    pub fn train_settings(&self) -> TrainSpec {
        let mut train = self.train.clone();
        if let Some(&top) = self.fidelities.last() {
            train.epochs = Some(top as usize);
        }
        train.with_defaults()
    }

    /// NAS-Bench-201's epochs searched on: `fidelity`, else 12 under a time budget (the
    /// paper's protocol) and 200 under a budget in queries.
    pub fn epochs(&self) -> u32 {
        self.fidelity.unwrap_or(if self.budget_seconds.is_some() {
            12
        } else {
            200
        })
    }

    /// Whether anything beyond the default single objective was asked for.
    pub fn has_objectives(&self) -> bool {
        !self.objective.is_empty() || !self.constraint.is_empty()
    }

    /// Every metric named by an objective or a constraint, once each.
    pub fn metric_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in self
            .objective
            .iter()
            .map(|o| &o.name)
            .chain(self.constraint.iter().map(|c| &c.metric))
        {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    }

    /// The space in words: `nb201`, `nasnet`, or the declared file's path.
    pub fn space_words(&self) -> String {
        match (&self.space_file, self.space) {
            (Some(path), _) => format!("file {}", path.display()),
            (None, Some(SpaceKind::Nasnet)) => "nasnet".into(),
            (None, _) => "nb201".into(),
        }
    }

    /// The record of this study for its journal: every setting with its default made explicit,
    /// less the budget (a continued study may be given a larger one) and the settings of the
    /// evaluator not used, plus the nasbo that wrote it (never compared).
    pub fn record(&self) -> serde_json::Value {
        let mut spec = self.clone();
        spec.space =
            Some(spec.space.unwrap_or(SpaceKind::Nb201)).filter(|_| spec.space_file.is_none());
        spec.evaluator = Some(spec.evaluator());
        // A command evaluator's data is its own business: a dataset is recorded only if given.
        if spec.evaluator() != EvaluatorKind::Command {
            spec.dataset = Some(spec.dataset().to_string());
        }
        spec.strategy = Some(spec.strategy());
        spec.seed = Some(spec.seed());
        spec.budget = None;
        spec.budget_seconds = None;
        // Recorded by shared studies only (see `worker::study_record`).
        spec.heartbeat_s = None;
        spec.max_retries = None;
        match spec.evaluator() {
            EvaluatorKind::Table => {
                spec.fidelity = spec.fidelities.is_empty().then(|| spec.epochs());
                spec.train = TrainSpec::default();
            }
            kind => {
                spec.train = if kind == EvaluatorKind::Train {
                    spec.train_settings()
                } else {
                    spec.fidelities.clear();
                    TrainSpec::default()
                };
                spec.benchmark = None;
                spec.fidelity = None;
                spec.noise = None;
                spec.cost = None;
                spec.fidelity_columns.clear();
                spec.fidelity_costs.clear();
            }
        }
        if spec.evaluator() != EvaluatorKind::Command {
            spec.command = None;
            spec.trial_timeout_s = None;
        }
        let mut value = serde_json::to_value(&spec).expect("the spec serialises");
        let object = value.as_object_mut().expect("an object");
        object.retain(|_, v| !v.is_null() && *v != json!([]));
        if spec.evaluator() != EvaluatorKind::Train {
            object.remove("train");
        }
        object.insert("spec".into(), json!(SPEC_VERSION));
        object.insert("nasbo".into(), json!(crate::VERSION));
        value
    }
}

/// `a` unless it is empty, else `b`.
fn first_set<T>(a: Vec<T>, b: Vec<T>) -> Vec<T> {
    if a.is_empty() {
        b
    } else {
        a
    }
}

/// The settings where `now` differs from `recorded` (both [`StudySpec::record`]s), as
/// `key: now (study: recorded)`; the version that wrote it is not compared. A record written
/// by an older nasbo, which lacks settings that now exist, is compared on the settings it has.
pub fn differences(now: &serde_json::Value, recorded: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let a = now.as_object().unwrap_or(&empty);
    let b = recorded.as_object().unwrap_or(&empty);
    let current = b.get("spec").is_some_and(|v| v == &json!(SPEC_VERSION));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| k.as_str() != "nasbo")
        .filter(|k| current || b.contains_key(k.as_str()))
        .filter_map(|k| {
            let null = serde_json::Value::Null;
            let (x, y) = (a.get(k).unwrap_or(&null), b.get(k).unwrap_or(&null));
            (x != y).then(|| format!("{k}: {x} (study: {y})"))
        })
        .collect()
}

/// The version of the record's layout, stored as its `spec` key.
pub const SPEC_VERSION: u32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StudySpec> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))
    }

    #[test]
    fn flags_win_and_the_budget_is_taken_as_a_pair() {
        let file = parse(
            "budget-seconds = 12000\nseed = 4\nstrategy = \"re\"\nobjective = [\"valid_acc:max\"]\n[train]\nepochs = 3\n",
        )
        .unwrap();
        let flags = StudySpec {
            budget: Some(20),
            strategy: Some(StrategyKind::Bo),
            ..StudySpec::default()
        };
        let spec = flags.over(file);
        assert_eq!(spec.budget(), Budget::Queries(20));
        assert_eq!(spec.strategy(), StrategyKind::Bo);
        assert_eq!(spec.seed(), 4);
        assert_eq!(spec.objective[0].to_string(), "valid_acc:max");
        assert_eq!(spec.train.epochs, Some(3));
        spec.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_errors_at_their_line() {
        let err = parse("budget = 3\n\n[bo]\ninitial = 4\nfoo = 1\n").unwrap_err();
        assert!(err.to_string().contains("line 5"), "{err}");
        let err = parse("objective = [\"valid_acc\"]\n").unwrap_err();
        assert!(err.to_string().contains("direction is missing"), "{err}");
    }

    #[test]
    fn strategy_and_training_settings_are_checked() {
        let spec = parse("[re]\npopulation = 0\n").unwrap();
        let err = spec.validate().unwrap_err();
        assert!(
            err.is::<UsageError>() && err.to_string().contains("re.population"),
            "{err}"
        );
        let partial = parse("[re]\npopulation = 20\n").unwrap();
        assert_eq!(
            partial.re.sample_size,
            EvolutionConfig::default().sample_size
        );
        partial.validate().unwrap();
        let err = parse("[reinforce]\nlearning-rate = nan\n")
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("learning-rate"), "{err}");
        for text in [
            "[train]\ntrain-limit = 0\n",
            "[train]\ncells = 0\n",
            "[train]\ntime-limit-s = nan\n",
        ] {
            let err = parse(text).unwrap().validate().unwrap_err();
            assert!(err.is::<UsageError>(), "{text}: {err}");
        }
    }

    #[test]
    fn conflicting_settings_are_usage_errors() {
        let both = StudySpec {
            space: Some(SpaceKind::Nb201),
            space_file: Some("s.toml".into()),
            ..StudySpec::default()
        };
        assert!(both.validate().unwrap_err().is::<UsageError>());
        let negative = StudySpec {
            budget_seconds: Some(-1.0),
            ..StudySpec::default()
        };
        assert!(negative.validate().unwrap_err().is::<UsageError>());
    }

    #[test]
    fn fidelities_are_checked() {
        let ok = parse("fidelities = [12, 200]\n[asha]\neta = 3\n").unwrap();
        ok.validate().unwrap();
        assert_eq!(ok.asha.eta_for(&ok.fidelities), 3);
        assert_eq!(nasbo_search::AshaConfig::default().eta_for(&[12, 200]), 17);
        // Early stopping of real trainings: the levels are the epochs, the top one the recipe's.
        let train = parse("fidelities = [1, 4]\nevaluator = \"train\"\n").unwrap();
        train.validate().unwrap();
        assert_eq!(train.train_settings().epochs, Some(4));
        let record = train.record();
        assert_eq!(record["fidelities"], serde_json::json!([1, 4]));
        assert_eq!(record["train"]["epochs"], 4);
        for columns in ["[\"v12\"]", "[\"v12\", \"v200\"]"] {
            let declared = parse(&format!(
                "fidelities = [12, 200]\nspace-file = \"s.toml\"\nobjective = [\"v200:max\"]\n\
                 fidelity-columns = {columns}\nfidelity-costs = [\"c12\", \"c200\"]\n"
            ))
            .unwrap();
            declared.validate().unwrap();
            assert_eq!(
                declared.record()["fidelity-costs"],
                serde_json::json!(["c12", "c200"])
            );
        }
        for (text, words) in [
            ("fidelities = [12]\n", "two increasing levels"),
            ("fidelities = [200, 12]\n", "two increasing levels"),
            ("fidelities = [12, 200]\n[asha]\neta = 1\n", "asha.eta"),
            (
                "fidelities = [12, 200]\nfidelity = 12\n",
                "both `fidelity` and `fidelities`",
            ),
            (
                "fidelities = [1, 4]\nevaluator = \"train\"\n[train]\nepochs = 2\n",
                "make it the top level (4)",
            ),
            (
                "fidelities = [1, 4]\nevaluator = \"command\"\ncommand = \"x {arch}\"\n",
                "a command's or your own trainer's fidelities",
            ),
            (
                "fidelities = [12, 200]\nspace = \"nasnet\"\n",
                "NASNet has no table",
            ),
            // A declared table: the columns of the levels below the top, the objective's on top.
            (
                "fidelities = [12, 200]\nspace-file = \"s.toml\"\nobjective = [\"v200:max\"]\n",
                "name the column searched on at each level below the top",
            ),
            (
                "fidelities = [4, 12, 36]\nspace-file = \"s.toml\"\nobjective = [\"v36:max\"]\n\
                 fidelity-columns = [\"v4\"]\n",
                "`fidelity-columns` has 1 column(s) for the 3",
            ),
            (
                "fidelities = [12, 200]\nspace-file = \"s.toml\"\nobjective = [\"v200:max\"]\n\
                 fidelity-columns = [\"v12\", \"v100\"]\n",
                "which is the `objective` `v200`, not `v100`",
            ),
            (
                "fidelities = [12, 200]\nspace-file = \"s.toml\"\nobjective = [\"v200:max\"]\n\
                 fidelity-columns = [\"v12\"]\nfidelity-costs = [\"c12\"]\n",
                "`fidelity-costs` has 1 column(s)",
            ),
            (
                "fidelities = [12, 200]\nspace-file = \"s.toml\"\nobjective = [\"v200:max\", \
                 \"lat:min\"]\nfidelity-columns = [\"v12\"]\n",
                "give one `objective`",
            ),
            (
                "fidelities = [12, 200]\nfidelity-columns = [\"v12\"]\n",
                "NAS-Bench-201's are built in",
            ),
            ("fidelity-costs = [\"c12\"]\n", "need the `fidelities`"),
        ] {
            let err = parse(text).unwrap().validate().unwrap_err();
            assert!(err.is::<UsageError>(), "{text}: {err}");
            assert!(err.to_string().contains(words), "{text}: {err}");
        }
    }

    #[test]
    fn command_settings_are_checked_and_recorded() {
        let spec =
            parse("evaluator = \"command\"\ncommand = \"sh t.sh {arch}\"\ntrial-timeout-s = 5\n")
                .unwrap();
        spec.validate().unwrap();
        let r = spec.record();
        assert_eq!(r["evaluator"], json!("command"));
        assert_eq!(r["command"], json!("sh t.sh {arch}"));
        assert_eq!(r["trial-timeout-s"], json!(5.0));
        assert!(r.get("benchmark").is_none() && r.get("train").is_none());
        assert!(r.get("dataset").is_none(), "{r}");
        for (text, expected) in [
            ("evaluator = \"command\"\n", "needs the `command`"),
            ("command = \"x {arch}\"\n", "not the command evaluator"),
            ("trial-timeout-s = 3\n", "setting of the command evaluator"),
            (
                "evaluator = \"command\"\ncommand = \"x {foo}\"\n",
                "unknown placeholder {foo}",
            ),
            ("evaluator = \"command\"\ncommand = \" \"\n", "empty"),
            (
                "evaluator = \"command\"\ncommand = \"x\"\ntrial-timeout-s = 0\n",
                "finite number of seconds > 0",
            ),
        ] {
            let err = parse(text).unwrap().validate().unwrap_err();
            assert!(
                err.is::<UsageError>() && err.to_string().contains(expected),
                "{text}: {err}"
            );
        }
        // The flags naming another evaluator drop the file's command settings.
        let flags = StudySpec {
            evaluator: Some(EvaluatorKind::Train),
            ..StudySpec::default()
        };
        let spec = flags.over(spec);
        assert_eq!(
            (spec.command.as_deref(), spec.trial_timeout_s),
            (None, None)
        );
        spec.validate().unwrap();
    }

    #[test]
    fn the_record_leaves_out_the_budget_and_the_unused_evaluator() {
        let spec = StudySpec {
            budget: Some(10),
            train: TrainSpec {
                epochs: Some(5),
                ..TrainSpec::default()
            },
            ..StudySpec::default()
        };
        let r = spec.record();
        assert!(r.get("budget").is_none() && r.get("train").is_none());
        assert_eq!(r["strategy"], json!("bo"));
        assert_eq!(r["fidelity"], json!(200));
        let trained = StudySpec {
            evaluator: Some(EvaluatorKind::Train),
            ..spec.clone()
        };
        let t = trained.record();
        assert_eq!(t["train"]["epochs"], json!(5));
        assert_eq!(t["train"]["channels"], json!(8));
        let diff = differences(&t, &r);
        assert!(diff.iter().any(|d| d.starts_with("evaluator:")), "{diff:?}");
        assert!(differences(&r, &spec.clone().record()).is_empty());
    }
}
