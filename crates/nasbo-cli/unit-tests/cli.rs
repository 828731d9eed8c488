//! Tests of the command-line definition, compiled into the binary's unit tests (`mod tests`
//! in main.rs): clap's own consistency checks, and every command written in the README, the
//! `--help` examples and the benchmark READMEs parses, so the docs cannot drift from the CLI.

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

/// Where a shell command ends: at an unquoted `` ` ``, `)`, `|`, `;`, `#`, `>` or `&` (`&&`).
fn command_end(text: &str) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if matches!(c, '`' | ')' | '|' | ';' | '#' | '>' | '&') => return i,
            None => {}
        }
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
        "examples/cluster/slurm.sh",
    ] {
        let Ok(text) = std::fs::read_to_string(root.join(doc)) else {
            continue;
        };
        if doc.ends_with(".sh") {
            texts.push((doc.to_string(), text));
            continue;
        }
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
