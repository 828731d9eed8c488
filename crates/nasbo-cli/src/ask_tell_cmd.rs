//! `nasbo ask` / `nasbo tell`: search with a trainer nasbo does not run itself (a PyTorch
//! script, a cluster job). The study file is the same JSONL journal `nasbo search` writes;
//! asked trials are recorded as `pending` until told.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use nasbo_core::nb201::Cell;
use nasbo_search::journal::{read_lines, JournalLock, TrialLine, DEFAULT_LOCK_TIMEOUT};
use nasbo_search::runner::eval_seed;
use nasbo_search::{Journal, Observation, Status, Trial};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::search_cmd::{SearchConfig, StrategyKind, StrategySettings};
use crate::spaces::{make_strategy, CliSpace, SpaceVisitor};

/// Arguments of `nasbo ask`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Example loop with an external trainer:
  trial=$(nasbo ask --study study.jsonl --strategy bo --seed 0)
  # ... train the cell in $trial's \"arch\" with your own script ...
  nasbo tell --study study.jsonl --trial 12 --objective 91.3 --reported '{\"test_acc\": 93.9}'

Your own space and settings (the same config file `nasbo search --config` reads):
  nasbo ask --study study.jsonl --space-file my_space.toml --config search.toml

Several workers may ask before any tells: pending trials enter the model at its own prediction
(Kriging believer), so a batch never repeats itself. The study remembers the space, strategy,
settings and seed of its first ask (in its first line); an ask with different ones is refused
and told what differs.")]
pub struct AskArgs {
    /// The study (JSONL journal); created if it does not exist.
    #[arg(long, value_name = "PATH")]
    pub study: PathBuf,
    /// The search space.
    #[command(flatten)]
    pub space: crate::spaces::SpaceArgs,
    /// A TOML file in `nasbo search --config`'s format: `space`, `space-file`, `[nasnet]`,
    /// `strategy`, `seed` and the strategies' settings (`[bo]`, `[re]`, `[reinforce]`) are used;
    /// flags win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The strategy that proposes (default: bo).
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyKind>,
    /// Seed of the study (every ask on one study must use the same seed; default: 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Hand out the oldest pending trial again (for a worker that died) instead of a new one.
    #[arg(long)]
    pub reask: bool,
}

/// Arguments of `nasbo tell`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  # trial 3 reached 91.3 % validation accuracy (93.9 % test) in 620 s of training
  nasbo tell --study study.jsonl --trial 3 --objective 91.3 --reported '{\"test_acc\": 93.9}' --cost-s 620

  # trial 4 crashed
  nasbo tell --study study.jsonl --trial 4 --failed 'CUDA out of memory'")]
pub struct TellArgs {
    /// The study (JSONL journal).
    #[arg(long, value_name = "PATH")]
    pub study: PathBuf,
    /// The trial number printed by `nasbo ask`.
    #[arg(long)]
    pub trial: usize,
    /// The value searched on (larger is better, e.g. validation accuracy in percent).
    #[arg(
        long,
        required_unless_present = "failed",
        allow_negative_numbers = true
    )]
    pub objective: Option<f64>,
    /// Values reported but never searched on, as a JSON object of numbers.
    #[arg(long, default_value = "{}", value_name = "JSON")]
    pub reported: String,
    /// What the evaluation cost, in seconds (finite, at least 0).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub cost_s: f64,
    /// Record the trial as failed, with this reason.
    #[arg(long, conflicts_with = "objective", value_name = "REASON")]
    pub failed: Option<String>,
}

/// The study's lock for one ask or tell: an OS advisory lock (released by the kernel if the
/// process dies), waited for up to the default timeout.
fn lock_study(study: &Path) -> Result<JournalLock> {
    Ok(JournalLock::acquire(study, DEFAULT_LOCK_TIMEOUT)?)
}

fn load(study: &Path) -> Result<Vec<TrialLine>> {
    if !study.exists() {
        return Ok(Vec::new());
    }
    let (lines, _) = read_lines::<String>(study)?;
    Ok(lines)
}

/// What defines an ask/tell study: recorded in its first line, compared on every ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct AskSpec {
    space: String,
    strategy: String,
    seed: u64,
    settings: serde_json::Value,
}

impl AskSpec {
    /// What differs from `other`, one `key: ours vs theirs` per difference.
    fn differences(&self, recorded: &AskSpec) -> Vec<String> {
        let mut out = Vec::new();
        if self.space != recorded.space {
            out.push(format!("space: {} (study: {})", self.space, recorded.space));
        }
        if self.strategy != recorded.strategy {
            out.push(format!(
                "strategy: {} (study: {})",
                self.strategy, recorded.strategy
            ));
        }
        if self.seed != recorded.seed {
            out.push(format!("seed: {} (study: {})", self.seed, recorded.seed));
        }
        if self.settings != recorded.settings {
            out.push(format!(
                "settings: {} (study: {})",
                self.settings, recorded.settings
            ));
        }
        out
    }
}

/// Runs `nasbo ask`.
pub fn ask(mut args: AskArgs) -> Result<()> {
    let config = match &args.config {
        Some(path) => SearchConfig::read(path)?,
        None => SearchConfig::default(),
    };
    args.space.fill_from(
        config.space,
        config.space_file.clone(),
        config.nasnet.clone(),
    );
    let strategy = args
        .strategy
        .or(config.strategy)
        .unwrap_or(StrategyKind::Bo);
    let seed = args.seed.or(config.seed).unwrap_or(0);
    let space = args.space.resolve()?;
    let spec = AskSpec {
        space: args.space.describe(),
        strategy: strategy.name().to_string(),
        seed,
        settings: serde_json::to_value(config.strategies()).expect("settings serialise"),
    };
    space.visit(AskOn {
        args: &args,
        settings: &config.strategies(),
        strategy,
        seed,
        spec,
    })
}

struct AskOn<'a> {
    args: &'a AskArgs,
    settings: &'a StrategySettings,
    strategy: StrategyKind,
    seed: u64,
    spec: AskSpec,
}

impl SpaceVisitor for AskOn<'_> {
    type Output = Result<()>;

    fn visit<S: CliSpace>(self, space: S) -> Result<()>
    where
        S::Arch: 'static,
    {
        let AskOn {
            args,
            settings,
            strategy: kind,
            seed,
            spec,
        } = self;
        let _lock = lock_study(&args.study)?;
        let mut lines = load(&args.study)?;
        match read_spec(&args.study)? {
            Some(recorded) => {
                let diff = spec.differences(&recorded);
                if !diff.is_empty() {
                    bail!(
                        "{} is a study of another setting; this ask differs in {}. Ask with the \
                         study's own options, or start another --study",
                        args.study.display(),
                        diff.join("; ")
                    );
                }
            }
            None => {
                if let Some(t) = lines.iter().find(|t| t.seed != seed) {
                    bail!(
                        "{}: trial {} was asked with seed {}, not {seed}",
                        args.study.display(),
                        t.trial,
                        t.seed,
                    );
                }
            }
        }
        if args.reask {
            if let Some(t) = lines.iter().find(|t| t.status == Status::Pending) {
                println!(
                    "{}",
                    json!({"trial": t.trial, "arch": t.arch, "seed": t.eval_seed, "reasked": true})
                );
                return Ok(());
            }
        }
        let mut strategy = make_strategy(kind, settings, &space, None)?;
        let mut history = Vec::with_capacity(lines.len());
        for t in &lines {
            let arch = space
                .parse_arch(&t.arch)
                .with_context(|| format!("{}: trial {}", args.study.display(), t.trial))?;
            let obs = Observation::of(&t.with_arch(arch), true);
            if !obs.pending {
                strategy.tell(&space, &obs);
            }
            history.push(obs);
        }
        // One random stream per ask, derived from the study's seed and its length.
        let mut rng = ChaCha8Rng::seed_from_u64(eval_seed(seed, lines.len()) ^ 0xA5A5_5A5A);
        let Some(arch) = strategy.ask(&space, &history, &mut rng)? else {
            bail!("the space is exhausted: every architecture has been asked");
        };
        let trial = Trial {
            trial: lines.len(),
            arch: space.format_arch(&arch),
            status: Status::Pending,
            objective: None,
            reported: BTreeMap::new(),
            cost_s: 0.0,
            seed,
            eval_seed: eval_seed(seed, lines.len()),
            started_at: now(),
            finished_at: 0.0,
            reason: None,
            feasible: None,
            hypervolume: None,
        };
        lines.push(trial.clone());
        write_study(&args.study, &lines, &spec)?;
        let mut answer = json!({"trial": trial.trial, "arch": trial.arch, "seed": trial.eval_seed});
        if let Some(about) = space.describe(&arch) {
            answer["about"] = about.into();
        }
        if let Some(index) = nb201_index(&trial.arch) {
            answer["index"] = index.into();
        }
        println!("{answer}");
        Ok(())
    }
}

/// The official index of a NAS-Bench-201 cell string, if it is one.
fn nb201_index(arch: &str) -> Option<usize> {
    arch.parse::<Cell>().ok().map(|c| c.official_index())
}

/// The spec recorded in a journal's first line, if any (`"study": {...}`).
pub fn recorded_spec(study: &Path) -> Result<Option<serde_json::Value>> {
    if !study.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(study)
        .with_context(|| format!("cannot read {}", study.display()))?;
    let Some(first) = text.lines().next().filter(|l| !l.trim().is_empty()) else {
        return Ok(None);
    };
    // A torn only line: the journal reader says what is wrong.
    let Ok(value) = serde_json::from_str::<serde_json::Value>(first) else {
        return Ok(None);
    };
    Ok(value.get("study").cloned())
}

/// The ask/tell spec recorded in the study's first line, if any.
fn read_spec(study: &Path) -> Result<Option<AskSpec>> {
    match recorded_spec(study)? {
        None => Ok(None),
        Some(spec) => serde_json::from_value(spec).map(Some).with_context(|| {
            format!(
                "{}:1: the recorded study spec is not readable",
                study.display()
            )
        }),
    }
}

/// Writes the study atomically, its first line carrying the spec (old readers ignore it).
fn write_study(study: &Path, lines: &[TrialLine], spec: &AskSpec) -> Result<()> {
    let mut values: Vec<serde_json::Value> = lines
        .iter()
        .map(|t| serde_json::to_value(t).expect("trials serialise"))
        .collect();
    if let Some(first) = values.first_mut() {
        first["study"] = serde_json::to_value(spec).expect("the spec serialises");
    }
    for t in lines {
        check_finite(study, t)?;
    }
    // Write a temporary file, make it durable, then rename it over the study: a crash leaves
    // either the old study or the new one, never a mix.
    let tmp = study.with_extension("jsonl.tmp");
    let mut text = String::new();
    for v in &values {
        text.push_str(&v.to_string());
        text.push('\n');
    }
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, study)
    };
    write().with_context(|| format!("cannot write {}", study.display()))
}

/// Refuses a trial whose numbers a journal cannot hold (NaN, infinite, negative cost).
fn check_finite(study: &Path, t: &TrialLine) -> Result<()> {
    let mut bad = Vec::new();
    if !(t.cost_s.is_finite() && t.cost_s >= 0.0) {
        bad.push(format!("cost_s = {}", t.cost_s));
    }
    if let Some(v) = t.objective.filter(|v| !v.is_finite()) {
        bad.push(format!("objective = {v}"));
    }
    for (k, v) in t.reported.iter().filter(|(_, v)| !v.is_finite()) {
        bad.push(format!("reported {k} = {v}"));
    }
    if !bad.is_empty() {
        bail!(
            "{}: refusing to record trial {} with {}: every number must be finite (costs also \
             non-negative)",
            study.display(),
            t.trial,
            bad.join(", ")
        );
    }
    Ok(())
}

/// Runs `nasbo tell`.
pub fn tell(args: TellArgs) -> Result<()> {
    let reported: BTreeMap<String, f64> = serde_json::from_str(&args.reported)
        .with_context(|| format!("--reported must be a JSON object of numbers, like '{{\"test_acc\": 93.1}}', got `{}`", args.reported))?;
    let lock = lock_study(&args.study)?;
    if !args.study.exists() {
        bail!(
            "{} does not exist: create it with `nasbo ask --study {}`",
            args.study.display(),
            args.study.display()
        );
    }
    let mut lines = load(&args.study)?;
    let n = lines.len();
    let Some(trial) = lines.get_mut(args.trial) else {
        bail!(
            "{} has {n} trial(s) (0..{}); there is no trial {}",
            args.study.display(),
            n.saturating_sub(1),
            args.trial
        );
    };
    if trial.status != Status::Pending {
        let status = if trial.status == Status::Ok {
            "finished"
        } else {
            "failed"
        };
        bail!(
            "trial {} is already {status}: only pending trials can be told",
            args.trial
        );
    }
    match (args.failed, args.objective) {
        (Some(reason), _) => {
            trial.status = Status::Failed;
            trial.reason = Some(reason);
        }
        (None, Some(v)) if v.is_finite() => {
            trial.status = Status::Ok;
            trial.objective = Some(v);
        }
        (None, v) => bail!("--objective must be a finite number, got {v:?}; use --failed REASON for a failed trial"),
    }
    trial.reported = reported;
    trial.cost_s = args.cost_s;
    trial.finished_at = now();
    let spec = read_spec(&args.study)?;
    match spec {
        Some(spec) => write_study(&args.study, &lines, &spec)?,
        // The journal checks every number itself before writing.
        None => Journal::rewrite_locked(&lock, &lines)?,
    }
    eprintln!("recorded trial {} in {}", args.trial, args.study.display());
    Ok(())
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
