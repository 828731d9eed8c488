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
///   nasbo search --evaluator train --dataset fashion-mnist --epochs 2 --channels 8 --cells 1 --train-limit 4000 --eval-limit 2000 --budget 20 --out fmnist.jsonl
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
    let result = match cli.command {
        Command::Search(args) => return finish(search_cmd::run(args)),
        Command::Space(args) => space_cmd::run(args),
        Command::Train(args) => train_cmd::run(args),
        Command::Ask(args) => ask_tell_cmd::ask(args),
        Command::Tell(args) => ask_tell_cmd::tell(args),
        Command::Bench(args) => bench_cmd::run(args),
    };
    finish(result.map(|()| ExitCode::SUCCESS))
}

/// The exit code of a command: its own on success; 2 for a usage error (a bad option, config
/// or value, reported before any work), 1 for a failure while working.
fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            let usage = err.downcast_ref::<search_cmd::UsageError>().is_some()
                || err.downcast_ref::<nasbo_core::ConfigError>().is_some()
                || err.downcast_ref::<nasbo_core::SpecError>().is_some();
            if usage {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// Splits one shell command into words: quotes and backslash escapes, no expansion.
    fn shell_words(text: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut in_word = false;
        let mut chars = text.chars();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some('"'), '\\') => word.extend(chars.next()),
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, '\\') => {
                    word.extend(chars.next());
                    in_word = true;
                }
                (None, c) if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                (None, c) => {
                    word.push(c);
                    in_word = true;
                }
            }
        }
        if in_word {
            words.push(word);
        }
        words
    }

    /// Where a shell command ends: at an unquoted `` ` ``, `)`, `|`, `;`, `#`, `>` or `&&`.
    fn command_end(text: &str) -> usize {
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for (i, c) in text.char_indices() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '\'' || c == '"' => quote = Some(c),
                None if matches!(c, '`' | ')' | '|' | ';' | '#' | '>') => return i,
                None if c == '&' && prev == '&' => return i - 1,
                None => {}
            }
            prev = c;
        }
        text.len()
    }

    /// Every `nasbo` command in the documentation's shell blocks and in every `--help`'s
    /// examples, as the words after `nasbo`, with where it was found.
    fn documented_commands() -> Vec<(String, Vec<String>)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut texts = Vec::new();
        for doc in [
            "README.md",
            "datasets/README.md",
            "datasets/declared/README.md",
            "benchmarks/README.md",
        ] {
            let Ok(text) = std::fs::read_to_string(root.join(doc)) else {
                continue;
            };
            // Only the shell blocks: commands in prose are fragments.
            let mut in_shell = false;
            let mut block = String::new();
            for line in text.lines() {
                if line.trim_start().starts_with("```") {
                    in_shell = !in_shell && matches!(line.trim(), "```sh" | "```bash");
                } else if in_shell {
                    block.push_str(line);
                    block.push('\n');
                }
            }
            texts.push((doc.to_string(), block));
        }
        // Wide enough that no example is wrapped.
        let mut cli = super::Cli::command()
            .term_width(10_000)
            .max_term_width(10_000);
        let mut help = vec![(
            "nasbo --help".to_string(),
            cli.render_long_help().to_string(),
        )];
        for sub in cli.get_subcommands_mut() {
            *sub = sub.clone().term_width(10_000).max_term_width(10_000);
            let name = format!("nasbo {} --help", sub.get_name());
            help.push((name, sub.render_long_help().to_string()));
        }
        // In the help, the examples are the indented lines that start with a command.
        for (_, text) in &mut help {
            *text = text
                .lines()
                .filter(|l| {
                    let t = l.trim_start();
                    l.starts_with(' ') && (t.starts_with("nasbo ") || t.contains("=$(nasbo "))
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        let mut out = Vec::new();
        for (place, text) in texts.iter().chain(&help) {
            // Join backslash-continued lines first.
            let joined = text.replace("\\\n", " ");
            for line in joined.lines() {
                let mut rest = line;
                while let Some(at) = rest.find("nasbo ") {
                    let before = &rest[..at];
                    let invoked = before.is_empty()
                        || before.ends_with(' ')
                        || before.ends_with('/')
                        || before.ends_with('(')
                        || before.ends_with('`');
                    let tail = &rest[at + "nasbo ".len()..];
                    rest = tail;
                    if !invoked || before.ends_with("cargo install ") {
                        continue;
                    }
                    let words = shell_words(&tail[..command_end(tail)]);
                    let Some(first) = words.first() else { continue };
                    let known = super::Cli::command()
                        .get_subcommands()
                        .any(|s| s.get_name() == first);
                    // `nasbo ask` alone is prose naming a command; a documented command has
                    // arguments.
                    if known && words.len() > 1 {
                        out.push((place.clone(), words));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_documented_command_parses() {
        let commands = documented_commands();
        assert!(
            commands.len() >= 20,
            "found only {} commands",
            commands.len()
        );
        let mut bad = Vec::new();
        for (place, words) in &commands {
            let argv = std::iter::once("nasbo".to_string()).chain(words.iter().cloned());
            if let Err(e) = super::Cli::try_parse_from(argv) {
                if !matches!(
                    e.kind(),
                    clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                ) {
                    bad.push(format!("{place}: nasbo {}\n{e}", words.join(" ")));
                }
            }
        }
        assert!(
            bad.is_empty(),
            "documented commands that do not parse:\n{}",
            bad.join("\n")
        );
    }
}
