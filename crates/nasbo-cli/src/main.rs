//! `nasbo`: neural architecture search that trains as few networks as possible.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod ask_tell_cmd;
mod bench_cmd;
mod final_cmd;
mod flags;
mod progress;
mod search_cmd;
mod space_cmd;
mod train_cmd;
mod worker_cmd;

#[cfg(not(any(feature = "cpu", feature = "wgpu")))]
compile_error!(
    "nasbo needs a training backend: build with the `cpu` feature (the default) or `wgpu`"
);

/// Neural architecture search with Bayesian optimisation.
///
/// Search a space of architectures (NAS-Bench-201 cells, NASNet cells, or a space declared in a
/// TOML file) for the best network with as few evaluations as possible, on one objective or
/// several (accuracy, FLOPs, parameters, latency) under constraints. Evaluations come from a
/// tabular benchmark (answers in microseconds, for comparing strategies), from real training
/// runs (burn), or from your own trainer through `nasbo ask` / `nasbo tell`.
///
/// Examples:
///   # 150 queries of random search on the NAS-Bench-201 table (CIFAR-10); about 1 s
///   nasbo search --benchmark nb201_cifar10.csv.gz --strategy random --budget 150 --out run.jsonl
///
///   # 20 small networks trained on 4,000 Fashion-MNIST images, 2 epochs each; about 5 min on 2 cores
///   nasbo search --evaluator train --dataset fashion-mnist --epochs 2 --channels 8 --cells 1 --train-limit 4000 --eval-limit 2000 --budget 20 --out fmnist.jsonl
///
///   # two objectives: validation accuracy and latency on a Pixel 3; about 7 s
///   nasbo search --benchmark nb201_cifar10.csv.gz --objective valid_acc:max --objective help_pixel3_ms:min --out mo.jsonl
///
///   # one cell's index, canonical form, params and FLOPs; about 1 s
///   nasbo space nb201 info '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'
#[derive(Debug, Parser)]
#[command(name = "nasbo", version = nasbo_experiment::VERSION, about, long_about, max_term_width = 100)]
#[command(verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Threads that train on the CPU (burn's flex backend; `bench` has its own --jobs).
    /// Default: every core, or RAYON_NUM_THREADS. On a machine shared with other jobs, give
    /// each its share.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Search a space for the best architecture and write a journal of every trial.
    Search(search_cmd::SearchArgs),
    /// Compare search strategies over many seeds on a tabular benchmark: regret tables and curves.
    Bench(bench_cmd::BenchArgs),
    /// Propose the next architecture for an external trainer; records it as pending in the
    /// study and prints it as JSON.
    Ask(ask_tell_cmd::AskArgs),
    /// Record the result of a trial handed out by `nasbo ask`.
    Tell(ask_tell_cmd::TellArgs),
    /// Train one architecture in full on a real dataset (checkpoint every epoch, --resume), and
    /// write its weights and a JSON report (accuracies, params, FLOPs, latency).
    Train(train_cmd::TrainArgs),
    /// Join a shared study as one worker: ask, evaluate, tell until its budget is spent.
    /// Start any number, on any machines, against one journal or PostgreSQL study.
    Worker(worker_cmd::WorkerArgs),
    /// Write any study (a journal or a PostgreSQL study) as a journal file.
    Export(worker_cmd::ExportArgs),
    /// Inspect a search space: one architecture's index, canonical form and cost.
    Space(space_cmd::SpaceArgs),
}

/// Exits quietly when the reader of our output goes away (`nasbo ... | head`): Rust ignores
/// SIGPIPE, so a write to a closed pipe fails, and `println!` panics on it. Every other panic
/// keeps the default report.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        // The first use of rayon's global pool fixes its size: set it before any work.
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(n))
            .build_global()
        {
            eprintln!("warning: --threads {n} not applied: {e}");
        }
    }
    let result = match cli.command {
        Command::Search(args) => return finish(search_cmd::run(args)),
        Command::Worker(args) => return finish(worker_cmd::run(args)),
        Command::Export(args) => worker_cmd::export(args),
        Command::Space(args) => space_cmd::run(args),
        Command::Train(args) => train_cmd::run(args),
        Command::Ask(args) => ask_tell_cmd::ask(args),
        Command::Tell(args) => ask_tell_cmd::tell(args),
        Command::Bench(args) => bench_cmd::run(args),
    };
    finish(result.map(|()| ExitCode::SUCCESS))
}

/// The exit code of a command: its own on success; 2 for a usage error (a bad option, config
/// or value, reported before any work), 130 for an interrupted benchmark, 1 for a failure
/// while working.
fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            let usage = err.downcast_ref::<nasbo_experiment::UsageError>().is_some()
                || err.downcast_ref::<nasbo_core::ConfigError>().is_some()
                || err.downcast_ref::<nasbo_core::SpecError>().is_some();
            if usage {
                if let Some(hint) = flags::settings_hint(&format!("{err:#}")) {
                    eprintln!("hint: {hint}");
                }
                ExitCode::from(2)
            } else if err
                .downcast_ref::<nasbo_experiment::bench::Interrupted>()
                .is_some()
            {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

// The binary's own tests (the CLI definition, every documented command parses) live in
// unit-tests/, outside the shipped source.
#[cfg(test)]
#[path = "../unit-tests/cli.rs"]
mod tests;
