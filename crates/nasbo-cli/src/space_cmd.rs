//! `nasbo space`: look at one architecture of a space.

use anyhow::Result;
use clap::{Args, Subcommand};
use nasbo_core::cost::Nb201Macro;
use nasbo_core::nb201::Cell;
use nasbo_core::ArchError;
use nasbo_experiment::spec::usage;
use serde_json::json;

/// Arguments of `nasbo space`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  # a cell by its official index; about 1 s
  nasbo space nb201 info 6111

  # a cell by its string, the network sized for 100 classes (CIFAR-100); about 1 s
  nasbo space nb201 info '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|' --classes 100")]
pub struct SpaceArgs {
    #[command(subcommand)]
    space: SpaceCommand,
}

#[derive(Debug, Subcommand)]
enum SpaceCommand {
    /// The NAS-Bench-201 cell space (15,625 cells, 6,466 distinct computations).
    Nb201 {
        #[command(subcommand)]
        action: Nb201Action,
    },
}

#[derive(Debug, Subcommand)]
enum Nb201Action {
    /// Print one JSON object for a cell: official index, canonical form, connectivity, and the
    /// params and FLOPs (millions) of the full network (C=16, N=5).
    ///
    /// Example: nasbo space nb201 info '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|' --classes 100
    Info {
        /// The cell string, e.g. '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
        /// or an official index (0..15624).
        #[arg(allow_hyphen_values = true)]
        cell: String,
        /// Classes of the classifier (10 CIFAR-10, 100 CIFAR-100, 120 ImageNet16-120).
        #[arg(long, default_value_t = 10)]
        classes: usize,
        /// Side of the input images (32 CIFAR, 16 ImageNet16-120).
        #[arg(long, default_value_t = 32)]
        input_size: usize,
    },
}

/// Runs `nasbo space`.
pub fn run(args: SpaceArgs) -> Result<()> {
    match args.space {
        SpaceCommand::Nb201 {
            action:
                Nb201Action::Info {
                    cell,
                    classes,
                    input_size,
                },
        } => {
            let text = cell.trim();
            let cell: Cell = if !text.is_empty()
                && text
                    .trim_start_matches(['-', '+'])
                    .chars()
                    .all(|c| c.is_ascii_digit())
            {
                // An index, however large or negative: out of range, not a malformed cell.
                match text.parse::<usize>() {
                    Ok(index) => {
                        Cell::from_official_index(index).map_err(|e| usage(e.to_string()))?
                    }
                    Err(_) => {
                        return Err(nasbo_experiment::UsageError(format!(
                            "index {text} is out of range: NAS-Bench-201's official indices are \
                             0..15624"
                        ))
                        .into())
                    }
                }
            } else {
                cell.parse().map_err(|e: ArchError| usage(e.to_string()))?
            };
            // The cost model multiplies these: bound them so that it cannot overflow.
            if !(1..=100_000).contains(&classes) || !(1..=4096).contains(&input_size) {
                return Err(nasbo_experiment::UsageError(format!(
                    "--classes must be 1..=100000 and --input-size 1..=4096 (got {classes} and \
                     {input_size})"
                ))
                .into());
            }
            let cost = Nb201Macro::benchmark(classes, input_size).cost(&cell);
            let info = json!({
                "arch": cell.to_string(),
                "index": cell.official_index(),
                "canonical": cell.canonical().to_string(),
                "canonical_index": cell.canonical().official_index(),
                "iso_key": cell.iso_key(),
                "connected": cell.is_connected(),
                "classes": classes,
                "input_size": input_size,
                "params_m": cost.params_m(),
                "flops_m": cost.flops_m(),
            });
            println!("{info}");
            Ok(())
        }
    }
}
