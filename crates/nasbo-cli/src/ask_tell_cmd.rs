//! `nasbo ask` / `nasbo tell`: search with a trainer nasbo does not run itself (a PyTorch
//! script, a cluster job). The study file is the same JSONL journal `nasbo search` writes;
//! asked trials are recorded as `pending` until told.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use nasbo_core::nb201::{Cell, Nb201Space};
use nasbo_core::SearchSpace;
use nasbo_search::journal::{read_lines, TrialLine};
use nasbo_search::runner::eval_seed;
use nasbo_search::{Journal, Observation, Status, Trial};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::search_cmd::{StrategyKind, StrategySettings};
use crate::spaces::make_strategy;

/// Arguments of `nasbo ask`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Example loop with an external trainer:
  trial=$(nasbo ask --study study.jsonl --strategy bo --seed 0)
  # ... train the cell in $trial's \"arch\" with your own script ...
  nasbo tell --study study.jsonl --trial 12 --objective 91.3 --reported '{\"test_acc\": 93.9}'

Several workers may ask before any tells: pending trials enter the model at its own prediction
(Kriging believer), so a batch never repeats itself.")]
pub struct AskArgs {
    /// The study (JSONL journal); created if it does not exist.
    #[arg(long, value_name = "PATH")]
    pub study: PathBuf,
    /// The strategy that proposes.
    #[arg(long, value_enum, default_value_t = StrategyKind::Bo)]
    pub strategy: StrategyKind,
    /// Seed of the study (every ask on one study must use the same seed).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Hand out the oldest pending trial again (for a worker that died) instead of a new one.
    #[arg(long)]
    pub reask: bool,
}

/// Arguments of `nasbo tell`.
#[derive(Debug, Args)]
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
    /// What the evaluation cost, in seconds.
    #[arg(long, default_value_t = 0.0)]
    pub cost_s: f64,
    /// Record the trial as failed, with this reason.
    #[arg(long, conflicts_with = "objective", value_name = "REASON")]
    pub failed: Option<String>,
}

/// An exclusive lock on a study for the duration of one ask or tell.
struct StudyLock(PathBuf);

impl StudyLock {
    fn acquire(study: &Path) -> Result<StudyLock> {
        let path = study.with_extension("jsonl.lock");
        OpenOptions::new().write(true).create_new(true).open(&path).with_context(|| {
            format!("{} exists: another `nasbo ask`/`tell` is running on this study (remove the file if none is)", path.display())
        })?;
        Ok(StudyLock(path))
    }
}

impl Drop for StudyLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn load(study: &Path) -> Result<Vec<TrialLine>> {
    if !study.exists() {
        return Ok(Vec::new());
    }
    let (lines, _) = read_lines::<String>(study)?;
    Ok(lines)
}

/// Runs `nasbo ask`.
pub fn ask(args: AskArgs) -> Result<()> {
    let _lock = StudyLock::acquire(&args.study)?;
    let mut lines = load(&args.study)?;
    if let Some(t) = lines.iter().find(|t| t.seed != args.seed) {
        bail!(
            "{}: trial {} was asked with seed {}, not {}",
            args.study.display(),
            t.trial,
            t.seed,
            args.seed
        );
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
    let space = Nb201Space;
    let mut strategy = make_strategy(args.strategy, &StrategySettings::default(), &space, None)?;
    let mut history = Vec::with_capacity(lines.len());
    for t in &lines {
        let arch: Cell = space.parse_arch(&t.arch)?;
        let obs = Observation::of(&t.with_arch(arch), true);
        if !obs.pending {
            strategy.tell(&space, &obs);
        }
        history.push(obs);
    }
    // One random stream per ask, derived from the study's seed and its length.
    let mut rng = ChaCha8Rng::seed_from_u64(eval_seed(args.seed, lines.len()) ^ 0xA5A5_5A5A);
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
        seed: args.seed,
        eval_seed: eval_seed(args.seed, lines.len()),
        started_at: now(),
        finished_at: 0.0,
        reason: None,
        feasible: None,
        hypervolume: None,
    };
    lines.push(trial.clone());
    Journal::rewrite(&args.study, &lines)?;
    println!(
        "{}",
        json!({"trial": trial.trial, "arch": trial.arch, "index": arch.official_index(), "seed": trial.eval_seed})
    );
    Ok(())
}

/// Runs `nasbo tell`.
pub fn tell(args: TellArgs) -> Result<()> {
    let reported: BTreeMap<String, f64> = serde_json::from_str(&args.reported)
        .with_context(|| format!("--reported must be a JSON object of numbers, like '{{\"test_acc\": 93.1}}', got `{}`", args.reported))?;
    let _lock = StudyLock::acquire(&args.study)?;
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
    Journal::rewrite(&args.study, &lines)?;
    eprintln!("recorded trial {} in {}", args.trial, args.study.display());
    Ok(())
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
