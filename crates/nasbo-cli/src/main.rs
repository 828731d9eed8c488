//! `nasbo`: neural architecture search that trains as few networks as possible.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench_cmd;
mod search_cmd;
mod space_cmd;

/// Neural architecture search with Bayesian optimisation.
///
/// Search a space of architectures (NAS-Bench-201 cells) for the best network with as few
/// evaluations as possible. Evaluations come from a tabular benchmark (answers in
/// microseconds, for comparing strategies) or, later, from real training runs.
///
/// Examples:
///
///   nasbo search --benchmark nb201_cifar10.csv.gz --strategy random --budget 150 --out run.jsonl
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
    /// Inspect a search space: one architecture's index, canonical form and cost.
    Space(space_cmd::SpaceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Search(args) => search_cmd::run(args),
        Command::Space(args) => space_cmd::run(args),
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
