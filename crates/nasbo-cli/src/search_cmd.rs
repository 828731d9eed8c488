//! `nasbo search`: one search run, recorded trial by trial in a journal.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use nasbo_core::Budget;
use nasbo_experiment::search::{is_existing_journal, search, SearchJob};

use crate::flags::{data_env, RunFlags, WorkerFlags};
use crate::progress::SearchProgress;

/// Arguments of `nasbo search`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  # 150 queries of random search on the NAS-Bench-201 table (CIFAR-10); about 1 s
  nasbo search --benchmark nb201_cifar10.csv.gz --strategy random --budget 150 --seed 0 --out run.jsonl

  # the NAS-Bench-201 paper's protocol: 12,000 simulated training seconds; about 2 s
  nasbo search --benchmark nb201_cifar10.csv.gz --budget-seconds 12000 --out run.jsonl

  # continue a run that was killed: finished trials are kept, the rest is what an
  # uninterrupted run with the same seed would have done (after 60 of 150 trials: about 10 s)
  nasbo search --benchmark nb201_cifar10.csv.gz --budget 150 --seed 0 --out run.jsonl --resume

  # your own trainer as a command, run for every trial (its logs in run.trials/<trial>/);
  # with this example trainer, about 15 s
  nasbo search --space-file examples/command-trainer/mlp.toml --evaluator command --command 'python3 examples/command-trainer/train.py --arch {arch} --seed {seed}' --budget 10 --out run.jsonl

The journal (--out) has one JSON object per trial: trial, arch, status, objective (the value
searched on: validation accuracy), reported (test accuracy, never searched on), cost_s, seed.
Its first line also records the search's settings, which --resume compares.")]
pub struct SearchArgs {
    /// The study's settings, evaluator, strategy, seed and the evaluators' options.
    #[command(flatten)]
    pub run: RunFlags,

    /// Evaluate N trials at once, each in its own worker thread sharing the journal as
    /// `nasbo worker` processes do (asynchronous: a worker asks as soon as its trial ends;
    /// BO proposes with the others' trials pending). For trainings that do not use every core
    /// each (a command on its own GPU, a remote job). Without it, one trial at a time.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,

    /// Options of workers (with --workers).
    #[command(flatten, next_help_heading = "Workers (--workers, nasbo worker)")]
    pub worker: WorkerFlags,

    /// After the search (--evaluator train), retrain the best --final-top architectures for
    /// this many epochs each, with the search's network and data settings (step 4 of the
    /// workflow: `nasbo train` on each, in OUT.final/RANK/), and report their validation
    /// and test accuracy in the summary and in OUT.final.json (never in the journal: they
    /// are not search trials). Running the same command again (with --resume) reads finished
    /// retrainings back and continues a killed one from its checkpoint.
    #[arg(
        long,
        value_name = "E",
        help_heading = "Training evaluator (--evaluator train)"
    )]
    pub final_epochs: Option<usize>,

    /// How many of the search's best architectures --final-epochs retrains.
    #[arg(
        long,
        value_name = "K",
        default_value_t = 1,
        requires = "final_epochs",
        help_heading = "Training evaluator (--evaluator train)"
    )]
    pub final_top: usize,

    /// The journal to write (JSON lines, one per trial, fsynced after each).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Continue the run recorded in --out (same settings and seed as the original run).
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,

    /// Replace --out if it exists.
    #[arg(long)]
    pub overwrite: bool,

    /// How long to wait for another process writing the same journal before giving up.
    #[arg(
        long,
        default_value_t = 10.0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub lock_timeout_s: f64,

    /// Never draw a progress bar or write per-trial lines.
    #[arg(long)]
    pub quiet: bool,

    /// Print only the summary's JSON object on stdout (for scripts; `jq .best_arch`), without
    /// the lines for people before it.
    #[arg(long)]
    pub json: bool,
}

/// The lock wait a flag gives, checked.
pub fn lock_timeout(seconds: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        nasbo_experiment::spec::usage(format!(
            "--lock-timeout-s must be a number of seconds, at least 0 (got {seconds})"
        ))
    })
}

/// Runs `nasbo search`.
pub fn run(args: SearchArgs) -> Result<ExitCode> {
    let spec = args.run.spec(&args.worker)?;
    crate::final_cmd::check(&spec, args.final_epochs, args.final_top)?;
    if let Some(workers) = args.workers {
        return crate::worker_cmd::search_with_workers(&args, &spec, usize::from(workers));
    }
    if args.worker.heartbeat_s.is_some() || args.worker.max_retries.is_some() {
        return Err(nasbo_experiment::spec::usage(
            "--heartbeat-s and --max-retries are settings of workers: add --workers N",
        ));
    }
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
    let data = data_env();
    let job = SearchJob {
        spec: &spec,
        journal: &args.out,
        resume: args.resume,
        overwrite: args.overwrite,
        data: data.as_deref(),
        stop,
        lock_timeout: lock_timeout(args.lock_timeout_s)?,
    };
    let (len, seconds) = match spec.budget() {
        Budget::Queries(n) => (n as u64, false),
        Budget::Seconds(s) => (s.ceil() as u64, true),
    };
    let log = !args.quiet && !std::io::stderr().is_terminal();
    let progress = SearchProgress::new(len, seconds, args.quiet, log);
    let outcome = search(&job, &progress).map_err(|e| {
        if is_existing_journal(&e) {
            e.context("pass --resume to continue it, --overwrite to start it again, or choose another --out")
        } else {
            e
        }
    });
    progress.finish();
    let outcome = outcome?;
    if outcome.interrupted {
        eprintln!(
            "interrupted: {} trial(s) are safe in {}; continue with --resume",
            outcome.trials,
            args.out.display()
        );
    }
    let mut summary = outcome.summary.clone();
    let mut lines = outcome.lines.clone();
    if let (Some(epochs), false, None) = (
        args.final_epochs,
        outcome.interrupted,
        outcome.all_failed.as_ref(),
    ) {
        let records =
            crate::final_cmd::retrain(&spec, &args.out, epochs, args.final_top, args.quiet)?;
        let (_, file) = crate::final_cmd::paths(&args.out);
        lines.extend(crate::final_cmd::lines(&records, &file));
        summary["final"] = serde_json::to_value(&records)?;
    }
    if !args.json {
        for line in &lines {
            println!("{line}");
        }
    }
    println!("{summary}");
    if outcome.interrupted {
        return Ok(ExitCode::from(130));
    }
    if let Some(reason) = outcome.all_failed {
        eprintln!(
            "error: every trial failed (the first said: {reason}); see {}",
            args.out.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
