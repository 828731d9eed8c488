//! `nasbo`: neural architecture search that trains as few networks as possible.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod ask_tell_cmd;
mod bench_cmd;
mod declared_table;
mod front;
mod objectives;
mod search_cmd;
mod space_cmd;
mod spaces;
mod train_cmd;

/// The nasbo that ran: version and the commit it was built from, recorded in every output.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("NASBO_COMMIT"), ")");

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
///
///   nasbo search --benchmark nb201_cifar10.csv.gz --strategy random --budget 150 --out run.jsonl
///
///   nasbo search --evaluator train --dataset fashion-mnist --budget 20 --out fmnist.jsonl
///
///   nasbo search --benchmark nb201_cifar10.csv.gz --objective valid_acc:max --objective help_pixel3_ms:min --out mo.jsonl
///
///   nasbo space nb201 info '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'
#[derive(Debug, Parser)]
#[command(name = "nasbo", version, about, long_about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    /// Inspect a search space: one architecture's index, canonical form and cost.
    Space(space_cmd::SpaceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Search(args) => search_cmd::run(args),
        Command::Space(args) => space_cmd::run(args),
        Command::Train(args) => train_cmd::run(args),
        Command::Ask(args) => ask_tell_cmd::ask(args),
        Command::Tell(args) => ask_tell_cmd::tell(args),
        Command::Bench(args) => bench_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
