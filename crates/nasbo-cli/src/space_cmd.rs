//! `nasbo space`: look at one architecture of a space.

use anyhow::Result;
use clap::{Args, Subcommand};
use nasbo_core::cost::Nb201Macro;
use nasbo_core::nb201::Cell;
use serde_json::json;

/// Arguments of `nasbo space`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  nasbo space nb201 info 6111
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
            let cell: Cell = match cell.trim().parse::<usize>() {
                Ok(index) => Cell::from_official_index(index)?,
                Err(_) => cell.parse()?,
            };
            if classes == 0 || input_size == 0 {
                anyhow::bail!("--classes and --input-size must be positive");
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
