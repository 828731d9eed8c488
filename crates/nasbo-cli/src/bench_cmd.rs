//! `nasbo bench`: many search runs (strategies × seeds) on a tabular benchmark, summarised as
//! tables of test regret and regret curves (the harness is `nasbo_experiment::bench`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use nasbo_experiment::bench::{bench, BenchPlan};
use nasbo_experiment::StrategyKind;

use crate::flags::{kind, Extra, SpecFlags, STRATEGIES};
use crate::progress::BenchProgress;

/// Arguments of `nasbo bench`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  # every strategy, 100 seeds, 150 queries each, on NAS-Bench-201 CIFAR-10; about 4 min on 2 cores
  nasbo bench --benchmark nb201_cifar10.csv.gz --seeds 100 --budget 150 --out c10

  # two strategies only, 20 seeds, one run at a time; about 1 s
  nasbo bench --benchmark nb201_cifar10.csv.gz --strategies random,re --seeds 20 --jobs 1 --out q

  # the NAS-Bench-201 paper's protocol: 12,000 simulated training seconds per run; about 90 s
  nasbo bench --benchmark nb201_cifar10.csv.gz --budget-seconds 12000 --out c10-12000s

  # asynchronous search: BO, RE and random with 1, 4 and 8 simulated workers, each trial taking
  # its 200-epoch training time from the table; adds wall.md and regret-wall.svg; about 12 min
  # on 2 cores
  nasbo bench --benchmark nb201_cifar10.csv.gz --strategies bo,re,random --workers 1,4,8 \
      --seeds 100 --budget 150 --out c10-async

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
  journals/       one journal per run, {strategy}-s{seed}.jsonl (the format of `nasbo search`);
                  {strategy}-w{N}-s{seed}.jsonl with N simulated workers, each trial recording
                  its worker and its start and end on the simulated clock (field \"clock\")
  wall.md, wall.csv, regret-wall.svg
                  with --workers: regret by simulated wall-clock (also appended to summary.md),
                  and when each strategy reaches the first one's final mean regret
  bench.json      the setting (dataset, budget, table optimum) that the journals belong to

The search is on the validation split ({dataset}_valid_acc_200); test accuracy
({dataset}_test_acc_200) is only reported. Regret = the table's best test accuracy − the
incumbent's test accuracy (percentage points); the incumbent is the best-validation cell so far.

Rerunning into the same --out continues: finished runs are read from their journals, unfinished
ones are resumed, missing ones are run; more seeds or strategies can be added this way. A
different dataset, budget or table is refused (use another --out, or --overwrite).")]
pub struct BenchArgs {
    /// The settings every run shares (`--config` takes `nasbo search`'s file: its `strategy`
    /// is the strategy compared when --strategies is not given, its `seed` the first seed, and
    /// each run of a strategy is exactly the run `nasbo search --config FILE --seed S` makes).
    #[command(flatten)]
    pub spec: SpecFlags,

    /// Strategies to compare, comma-separated (bo, random, re, ls, reinforce, ehvi); every
    /// single-objective strategy when omitted (bo, ehvi, re, random with several objectives).
    #[arg(long, value_parser = kind::<StrategyKind>(STRATEGIES), value_delimiter = ',', value_name = "LIST")]
    pub strategies: Vec<StrategyKind>,

    /// Simulated workers, comma-separated: each strategy runs with each number (`1,4,8`). N
    /// workers evaluate N trials at once on a simulated clock, each trial taking its cost from
    /// the table (an event queue, nothing sleeps); a free worker asks while the others' trials
    /// are pending (BO believes them at its model's mean). Trials count in the order they end;
    /// a --budget-seconds budget is wall-clock. Default 1: the sequential search.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub workers: Vec<usize>,

    /// Runs per strategy, with seeds first-seed, first-seed + 1, ...
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub seeds: usize,

    /// The first seed (default: the config's `seed`, else 0).
    #[arg(long, value_name = "SEED")]
    pub first_seed: Option<u64>,

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
}

/// Runs `nasbo bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let spec = args.spec.spec(Extra::default())?;
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
    let command: Vec<String> = std::env::args().skip(1).collect();
    let plan = BenchPlan {
        spec: &spec,
        strategies: args.strategies.clone(),
        workers: args.workers.clone(),
        seeds: args.seeds,
        first_seed: args.first_seed.unwrap_or(spec.seed()),
        out: &args.out,
        import: &args.import,
        jobs: args.jobs,
        overwrite: args.overwrite,
        stop,
        command: command.join(" "),
    };
    let progress = BenchProgress::new(args.quiet);
    let outcome = bench(&plan, &progress);
    progress.finish();
    let outcome = outcome?;
    print!("{}", outcome.markdown);
    if let Some(hv) = &outcome.hypervolume {
        print!("\n{hv}");
    }
    eprintln!("wrote {}", outcome.written.join(", "));
    Ok(())
}
