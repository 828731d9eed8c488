//! `nasbo ask` / `nasbo tell`: search with a trainer nasbo does not run itself (a PyTorch
//! script, a cluster job); the study logic is `nasbo_experiment::ask`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use nasbo_experiment::ask::{self, Tell};
use nasbo_experiment::spec::usage;
use nasbo_experiment::StrategyKind;

use crate::flags::{kind, Extra, SpecFlags, STRATEGIES};
use crate::search_cmd::lock_timeout;

/// Arguments of `nasbo ask`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Example loop with an external trainer:
  # ask for a trial (about 1 s)
  trial=$(nasbo ask --study study.jsonl --strategy bo --seed 0)
  # ... train the cell in $trial's \"arch\" with your own script, then tell its result (about 1 s)
  nasbo tell --study study.jsonl --trial 12 --objective 91.3 --reported '{\"test_acc\": 93.9}'

Your own space and settings (the same config file `nasbo search --config` reads):
  # the first ask creates the study; about 1 s
  nasbo ask --study study.jsonl --space-file my_space.toml --config search.toml

Several workers may ask before any tells: pending trials enter the model at its own prediction
(Kriging believer), so a batch never repeats itself. The study remembers the space, strategy,
settings and seed of its first ask (in its first line); an ask with different ones is refused
and told what differs.")]
pub struct AskArgs {
    /// The study (JSONL journal); created if it does not exist.
    #[arg(long, value_name = "PATH")]
    pub study: PathBuf,
    /// The study's settings (`nasbo search`'s; the evaluator is your own trainer).
    #[command(flatten)]
    pub spec: SpecFlags,
    /// The strategy that proposes: bo (the default), random, re, ls or reinforce.
    #[arg(long, value_parser = kind::<StrategyKind>(STRATEGIES))]
    pub strategy: Option<StrategyKind>,
    /// Seed of the study (every ask on one study must use the same seed; default: 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Hand out the oldest pending trial again (for a worker that died) instead of a new one.
    #[arg(long)]
    pub reask: bool,
    /// How long to wait for another process asking or telling on the same study.
    #[arg(
        long,
        default_value_t = 10.0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub lock_timeout_s: f64,
}

/// Arguments of `nasbo tell`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  # trial 3 reached 91.3 % validation accuracy (93.9 % test) in 620 s of training; about 1 s
  nasbo tell --study study.jsonl --trial 3 --objective 91.3 --reported '{\"test_acc\": 93.9}' --cost-s 620

  # trial 4 crashed; about 1 s
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
    /// How long to wait for another process asking or telling on the same study.
    #[arg(
        long,
        default_value_t = 10.0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub lock_timeout_s: f64,
}

/// Runs `nasbo ask`.
pub fn ask(args: AskArgs) -> Result<()> {
    let spec = args.spec.spec(Extra {
        strategy: args.strategy,
        seed: args.seed,
        ..Extra::default()
    })?;
    let answer = ask::ask(
        &args.study,
        &spec,
        args.reask,
        lock_timeout(args.lock_timeout_s)?,
    )?;
    println!("{answer}");
    Ok(())
}

/// Runs `nasbo tell`.
pub fn tell(args: TellArgs) -> Result<()> {
    let reported: BTreeMap<String, f64> = serde_json::from_str(&args.reported).map_err(|e| {
        usage(format!(
            "--reported must be a JSON object of numbers, like '{{\"test_acc\": 93.1}}', got `{}` ({e})",
            args.reported
        ))
    })?;
    let outcome = match (args.failed, args.objective) {
        (Some(reason), _) => Err(reason),
        (None, Some(v)) if v.is_finite() => Ok(v),
        // clap requires --objective unless --failed is given: `v` is a number that is not finite.
        (None, v) => {
            return Err(usage(format!(
                "--objective must be a finite number, got {}; use --failed REASON for a \
                 failed trial",
                v.map_or_else(|| "none".to_string(), |v| v.to_string())
            )))
        }
    };
    let told = Tell {
        trial: args.trial,
        outcome,
        reported,
        cost_s: args.cost_s,
    };
    ask::tell(&args.study, &told, lock_timeout(args.lock_timeout_s)?)
        .with_context(|| format!("cannot record trial {}", args.trial))?;
    eprintln!("recorded trial {} in {}", args.trial, args.study.display());
    Ok(())
}
