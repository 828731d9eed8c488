//! `nasbo worker`, `nasbo search --workers N` and `nasbo export`: many trainings at once on
//! one shared study (the logic is `nasbo_experiment::worker`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use nasbo_core::{Budget, JournalError};
use nasbo_experiment::spec::usage;
use nasbo_experiment::store::StudyLocation;
use nasbo_experiment::worker::{self, WorkerJob, WorkerOutcome};
use nasbo_experiment::StudySpec;

use crate::flags::{data_env, RunFlags, WorkerFlags};
use crate::progress::SearchProgress;
use crate::search_cmd::{lock_timeout, SearchArgs};

/// Arguments of `nasbo worker`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  # on one machine: four workers on one journal, each running your trainer on its own GPU
  # (with examples/command-trainer's mlp.toml and train.py as space.toml and train.py: about 2 min)
  for gpu in 0 1 2 3; do CUDA_VISIBLE_DEVICES=$gpu nasbo worker --study runs/study.jsonl --space-file space.toml --evaluator command --command 'python3 train.py --arch {arch} --out {trial_dir}' --budget 64 & done; wait

  # on many machines: the same command on each, against one PostgreSQL study
  nasbo worker --study 'postgres://nasbo@db-host:5432/nasbo?study=cifar-bo' --space-file space.toml --evaluator command --command 'python3 train.py --arch {arch} --out {trial_dir}' --budget 200

  # look at it as a journal: every tool that reads journals reads it
  nasbo export --study 'postgres://nasbo@db-host:5432/nasbo?study=cifar-bo' --out runs/cifar-bo.jsonl

The first worker creates the study with its settings (space, strategy and its settings,
objectives, evaluator, budget, seed, --heartbeat-s, --max-retries); a worker with other
settings is refused and told what differs. Each worker asks for a trial (proposed from every
trial so far, the others' pending ones included), evaluates it, tells the result, and exits 0
once the budget is spent and no trial is pending. A killed worker's trial is handed to another
worker after --heartbeat-s of silence; Ctrl-C hands it back at once. Workers need nothing but
this binary and the study's location.")]
pub struct WorkerArgs {
    /// The study: a journal's path (workers on one machine), or
    /// `postgres://USER@HOST:PORT/DB?study=NAME` (workers on many machines; nasbo creates its
    /// tables).
    #[arg(long, value_name = "LOCATION")]
    pub study: String,

    /// The study's settings, evaluator, strategy, seed and the evaluators' options.
    #[command(flatten)]
    pub run: RunFlags,

    /// Options of workers.
    #[command(flatten, next_help_heading = "Workers")]
    pub worker: WorkerFlags,

    /// Workers in this process, as threads (default 1).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: u16,

    /// How long to wait for another worker holding a journal's lock before giving up.
    #[arg(
        long,
        default_value_t = 30.0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub lock_timeout_s: f64,

    /// Never draw a progress bar or write per-trial lines.
    #[arg(long)]
    pub quiet: bool,

    /// Print only the summary's JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `nasbo export`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Example:
  nasbo export --study 'postgres://nasbo@localhost:5432/nasbo?study=cifar-bo' --out runs/cifar-bo.jsonl")]
pub struct ExportArgs {
    /// The study: a journal's path or `postgres://USER@HOST:PORT/DB?study=NAME`.
    #[arg(long, value_name = "LOCATION")]
    pub study: String,
    /// The journal to write (the format `nasbo search` writes).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    pub overwrite: bool,
    /// How long to wait for a worker holding the study's lock.
    #[arg(
        long,
        default_value_t = 30.0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub lock_timeout_s: f64,
}

/// Runs `nasbo worker`.
pub fn run(args: WorkerArgs) -> Result<ExitCode> {
    let spec = args.run.spec(&args.worker)?;
    let location = StudyLocation::parse(&args.study)?;
    let options = Shown {
        quiet: args.quiet,
        json: args.json,
        retrain: None,
    };
    run_workers(
        &spec,
        &location,
        usize::from(args.workers),
        args.lock_timeout_s,
        options,
    )
}

/// `nasbo search --workers N`: a new study at --out (or a continued one with --resume)
/// shared by N worker threads.
pub fn search_with_workers(args: &SearchArgs, spec: &StudySpec, n: usize) -> Result<ExitCode> {
    let out = &args.out;
    if out.exists() && !args.resume {
        if !args.overwrite {
            return Err(anyhow::Error::from(JournalError::Exists { path: out.clone() })
                .context("pass --resume to continue it, --overwrite to start it again, or choose another --out"));
        }
        std::fs::remove_file(out).map_err(|error| JournalError::Io {
            path: out.clone(),
            error,
        })?;
    }
    if args.resume && !out.exists() {
        return Err(usage(format!(
            "cannot resume {}: it does not exist",
            out.display()
        )));
    }
    let location = StudyLocation::Journal(out.clone());
    let options = Shown {
        quiet: args.quiet,
        json: args.json,
        retrain: args.final_epochs.map(|e| (e, args.final_top)),
    };
    run_workers(spec, &location, n, args.lock_timeout_s, options)
}

#[derive(Debug, Clone, Copy)]
struct Shown {
    quiet: bool,
    json: bool,
    /// `--final-epochs` and `--final-top` of `nasbo search --workers`.
    retrain: Option<(usize, usize)>,
}

fn run_workers(
    spec: &StudySpec,
    location: &StudyLocation,
    threads: usize,
    lock_timeout_s: f64,
    shown: Shown,
) -> Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // Ctrl-C: every worker hands back its trial (or finishes a training) and exits; a
        // second Ctrl-C exits at once (the trials are handed out again after --heartbeat-s).
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    }
    let data = data_env();
    let job = WorkerJob {
        spec,
        location,
        data: data.as_deref(),
        stop,
        lock_timeout: lock_timeout(lock_timeout_s)?,
        threads,
    };
    let (len, seconds) = match spec.budget() {
        Budget::Queries(n) => (n as u64, false),
        Budget::Seconds(s) => (s.ceil() as u64, true),
    };
    let log = !shown.quiet && !std::io::stderr().is_terminal();
    let progress = SearchProgress::new(len, seconds, shown.quiet, log);
    let outcome = worker::work(&job, &progress);
    progress.finish();
    print_outcome(outcome?, spec, location, shown)
}

fn print_outcome(
    outcome: WorkerOutcome,
    spec: &StudySpec,
    location: &StudyLocation,
    shown: Shown,
) -> Result<ExitCode> {
    let mut outcome = outcome;
    if let (Some((epochs, top)), false, None, StudyLocation::Journal(journal)) = (
        shown.retrain,
        outcome.interrupted,
        outcome.all_failed.as_ref(),
        location,
    ) {
        let records = crate::final_cmd::retrain(spec, journal, epochs, top, shown.quiet)?;
        let (_, file) = crate::final_cmd::paths(journal);
        outcome
            .lines
            .extend(crate::final_cmd::lines(&records, &file));
        outcome.summary["final"] = serde_json::to_value(&records)?;
    }
    if outcome.interrupted {
        eprintln!(
            "interrupted after {} trial(s) evaluated here; the study {location} keeps every \
             finished trial, and its workers' pending ones are handed out again: start a worker \
             to continue",
            outcome.evaluated
        );
    }
    if !shown.json {
        for line in &outcome.lines {
            println!("{line}");
        }
        println!("  evaluated here: {}", outcome.evaluated);
    }
    let mut summary = outcome.summary;
    summary["evaluated_here"] = serde_json::json!(outcome.evaluated);
    println!("{summary}");
    if outcome.interrupted {
        return Ok(ExitCode::from(130));
    }
    if let Some(reason) = outcome.all_failed {
        eprintln!("error: every trial failed (the first said: {reason}); see {location}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `nasbo export`.
pub fn export(args: ExportArgs) -> Result<()> {
    let location = StudyLocation::parse(&args.study)?;
    let n = worker::export(
        &location,
        &args.out,
        args.overwrite,
        lock_timeout(args.lock_timeout_s)?,
    )?;
    eprintln!("wrote {n} trial(s) of {location} to {}", args.out.display());
    Ok(())
}
