//! `nasbo train`: train one architecture of any space in full, with checkpoints; everything
//! that trains lives in nasbo-train.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use nasbo_core::declared::DeclaredSpace;
use nasbo_core::nasnet::Genotype;
use nasbo_core::nb201::Cell;
use nasbo_core::SearchSpace;
use nasbo_experiment::scoring::{SPLIT_SEED, VALID_FRACTION};
use nasbo_experiment::spec::{usage, SpaceKind};
use nasbo_train::data::{self, DatasetName, SplitConfig, Splits};
use nasbo_train::{
    differences, DeviceChoice, LatencyConfig, LayerChain, NetSizes, NetSpec, NetTrainer, Progress,
    TrainConfig, TrainableArch,
};

use crate::flags::{data_env, kind};
use serde::Serialize;

/// `nasbo train`: trains one architecture in full and writes its weights and a report.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Examples:
  # retrain a search's winner quickly on 2 CPU cores: a small network, 4,000 images,
  # 5 epochs; about 1 min
  nasbo train --arch '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|' --dataset fashion-mnist --channels 8 --cells 1 --epochs 5 --train-limit 4000 --eval-limit 2000 --out runs/winner

  # continue it after a kill (or a stop at --max-hours): the same command with --resume
  # (killed 30 s in: about 25 s)
  nasbo train --arch '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|' --dataset fashion-mnist --channels 8 --cells 1 --epochs 5 --train-limit 4000 --eval-limit 2000 --out runs/winner --resume

  # a NASNet genotype, as `nasbo search --space nasnet` writes it; about 3 s
  nasbo train --space nasnet --arch 'normal:sep_conv_3x3~0+identity~1|max_pool_3x3~2+conv_1x1~0;reduce:avg_pool_3x3~0+sep_conv_3x3~1|identity~2+max_pool_3x3~0' --dataset digits --channels 8 --cells 1 --epochs 3 --out runs/nasnet-winner

  # an architecture of a declared chain space (datasets/declared/chain.toml), as its journal
  # writes it; about 1 s
  nasbo train --space-file datasets/declared/chain.toml --arch 'first=conv(kernel=3, channels=16),reduce=maxpool(kernel=2),depth=1,block_0=sepconv(kernel=3, channels=32)' --dataset digits --channels 8 --epochs 3 --out runs/chain-winner

The full NAS-Bench-201 recipe (C=16, N=5, 200 epochs) needs a GPU (--device wgpu, built with the
wgpu feature): after the first epoch nasbo estimates the rest and stops past --max-hours.")]
pub struct TrainArgs {
    /// The architecture, in its space's text form (as `nasbo search` writes it): an NB201 cell
    /// (`|nor_conv_3x3~0|+|…|+|…|`), a NASNet genotype (`normal:…;reduce:…`, with --space
    /// nasnet) or an architecture of the --space-file space.
    #[arg(long, value_name = "ARCH")]
    pub arch: String,
    /// The space of --arch: nb201 (the default) or nasnet.
    #[arg(long, value_parser = kind::<SpaceKind>(&["nb201", "nasnet"]), conflicts_with = "space_file")]
    pub space: Option<SpaceKind>,
    /// A declared space whose architectures are chains of layers (see
    /// datasets/declared/README.md): --arch is one of its architectures.
    #[arg(long, value_name = "FILE")]
    pub space_file: Option<PathBuf>,
    /// Data set: fashion-mnist, digits, cifar10 or cifar100.
    #[arg(long, default_value = "fashion-mnist")]
    pub dataset: DatasetName,
    /// Folder with the data set (or its parent); else $NASBO_DATA, else Debian's location.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Channels of the first stage (C; a chain's stem).
    #[arg(long, default_value_t = 16)]
    pub channels: usize,
    /// Cells per stage (N; NB201 and NASNet).
    #[arg(long, default_value_t = 5)]
    pub cells: usize,
    /// Epochs (the NAS-Bench-201 recipe trains 200).
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Seed of the weights, the shuffling and the augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Device: cpu (burn's flex backend) or wgpu.
    #[arg(long, default_value = "cpu", value_parser = kind::<DeviceChoice>(&["cpu", "wgpu"]))]
    pub device: DeviceChoice,
    /// Output folder: checkpoint/, model.bpk and report.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from the checkpoint in --out (the same settings: the learning-rate schedule
    /// spans all the epochs).
    #[arg(long)]
    pub resume: bool,
    /// Train on at most this many images (a fixed, seeded subset; validation images are never
    /// trained on): a quick retraining of a search's winner on a small machine.
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
    /// Validate and test on at most this many images each (fixed, seeded subsets).
    #[arg(long, value_name = "N")]
    pub eval_limit: Option<usize>,
    /// Stop after the first epoch if the whole training is estimated to take longer than this
    /// many hours (the checkpoint is kept: raise the bound and --resume). On 2 CPU cores the
    /// defaults (C=16, N=5, 200 epochs, full Fashion-MNIST) take days.
    #[arg(long, default_value_t = 12.0, value_name = "HOURS")]
    pub max_hours: f64,
    /// Never draw a progress bar or write per-epoch lines (errors are still written).
    #[arg(long)]
    pub quiet: bool,
    /// Print the report (report.json's content) as one JSON object on stdout instead of the
    /// line for people.
    #[arg(long)]
    pub json: bool,
    /// Write report.json without printing its line on stdout (the search's retraining of its
    /// winners prints its own).
    #[arg(skip)]
    pub no_result_line: bool,
}

/// What `nasbo train` writes to `report.json`.
#[derive(Debug, Serialize)]
struct Report<'a, N> {
    space: &'a str,
    arch: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arch_index: Option<usize>,
    dataset: &'a str,
    trained_on: String,
    valid_split: String,
    test_split: String,
    seed: u64,
    device: &'a str,
    net: &'a N,
    train: &'a TrainConfig,
    valid_acc: f64,
    test_acc: Option<f64>,
    params: u64,
    params_m: f64,
    flops_m: f64,
    latency_ms_b1: Option<f64>,
    latency_ms_b64: Option<f64>,
    train_s: f64,
    epochs: &'a [nasbo_train::EpochReport],
}

/// The architecture to train, parsed in its space.
enum Arch {
    Nb201(Cell),
    Nasnet(Genotype),
    Chain {
        space: String,
        text: String,
        chain: LayerChain,
    },
}

impl Arch {
    /// Parses `--arch` in the space the flags name; a malformed architecture is a usage error.
    fn parse(args: &TrainArgs) -> anyhow::Result<Arch> {
        let bad = |e: &dyn std::fmt::Display| usage(format!("--arch: {e}"));
        if let Some(path) = &args.space_file {
            crate::flags::missing_input("--space-file", path)?;
            let space = DeclaredSpace::from_path(path)?;
            space.check_trainable()?;
            let arch = space.parse_arch(&args.arch).map_err(|e| bad(&e))?;
            let chain = LayerChain(space.layer_chain(&arch)?);
            return Ok(Arch::Chain {
                space: space.name().to_string(),
                text: space.format_arch(&arch),
                chain,
            });
        }
        Ok(match args.space.unwrap_or(SpaceKind::Nb201) {
            SpaceKind::Nb201 => Arch::Nb201(args.arch.parse().map_err(|e| bad(&e))?),
            SpaceKind::Nasnet => Arch::Nasnet(args.arch.parse().map_err(|e| bad(&e))?),
        })
    }
}

/// Runs `nasbo train`.
// `..SplitConfig::default()` keeps this compiling when the split gains settings.
#[allow(clippy::needless_update)]
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    for (flag, value) in [
        ("--train-limit", args.train_limit),
        ("--eval-limit", args.eval_limit),
    ] {
        if value == Some(0) {
            return Err(usage(format!("{flag} must be at least 1 image (got 0)")));
        }
    }
    if args.max_hours.is_nan() || args.max_hours <= 0.0 {
        return Err(usage(format!(
            "--max-hours must be a positive number of hours (got {})",
            args.max_hours
        )));
    }
    // The architecture first: a typo is reported before the data set is read.
    let arch = Arch::parse(&args)?;
    let ds = data::load_with(
        args.dataset,
        args.data_dir.as_deref(),
        data_env().as_deref(),
    )?;
    let splits = ds.split(&SplitConfig {
        valid_fraction: VALID_FRACTION,
        train_limit: args.train_limit,
        valid_limit: args.eval_limit,
        test_limit: args.eval_limit,
        seed: SPLIT_SEED,
        ..SplitConfig::default()
    })?;
    let sizes = NetSizes {
        channels: args.channels,
        cells_per_stage: args.cells,
        classes: splits.train.classes,
        input_size: splits.train.side,
        input_channels: splits.train.channels,
    };
    match arch {
        Arch::Nb201(cell) => train(
            cell.net_spec(&sizes),
            Named {
                space: "nb201",
                arch: &cell.to_string(),
                index: Some(cell.official_index()),
                cells: true,
            },
            &args,
            &splits,
        ),
        Arch::Nasnet(g) => train(
            g.net_spec(&sizes),
            Named {
                space: "nasnet",
                arch: &g.to_string(),
                index: None,
                cells: true,
            },
            &args,
            &splits,
        ),
        Arch::Chain { space, text, chain } => train(
            chain.net_spec(&sizes),
            Named {
                space: &space,
                arch: &text,
                index: None,
                cells: false,
            },
            &args,
            &splits,
        ),
    }
}

/// How an architecture is named in messages and the report.
struct Named<'a> {
    space: &'a str,
    /// Its text form.
    arch: &'a str,
    /// Its official index (NB201).
    index: Option<usize>,
    /// Whether its network stacks cells (`--cells` applies).
    cells: bool,
}

/// Trains `net`, the network of the architecture `named`, as `args` say.
fn train<N: NetSpec>(
    net: N,
    named: Named<'_>,
    args: &TrainArgs,
    splits: &Splits,
) -> anyhow::Result<()> {
    let Named {
        space,
        arch,
        index: arch_index,
        cells,
    } = named;
    net.check()
        .with_context(|| format!("cannot build a network of {arch}"))?;
    let device = args.device.autodiff_device()?;
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        ..TrainConfig::default()
    };
    let ckpt = args.out.join("checkpoint");
    let mut trainer = if ckpt.join("checkpoint.json").is_file() {
        if !args.resume {
            bail!(
                "{} holds a checkpoint: pass --resume to continue it, or choose another --out",
                args.out.display()
            );
        }
        let meta = NetTrainer::<N>::read_checkpoint_meta(&ckpt).with_context(|| {
            format!(
                "the checkpoint in {} is not of a {space} network like {arch}",
                ckpt.display()
            )
        })?;
        let mut differ = differences(&net, &meta.net);
        if meta.seed != args.seed {
            differ.push(format!("seed: {} (checkpoint: {})", args.seed, meta.seed));
        }
        if !differ.is_empty() {
            bail!(
                "the checkpoint in {} trained another network: {}; resume it with its own \
                 settings, or choose another --out",
                ckpt.display(),
                differ.join(", ")
            );
        }
        let t = NetTrainer::resume(&ckpt, config.clone(), &device)?;
        if !args.quiet {
            eprintln!("resuming after epoch {}", t.epochs_done());
        }
        t
    } else {
        NetTrainer::new(net.clone(), config.clone(), args.seed, &device)?
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let shape = if cells {
        format!("C={} N={}", args.channels, args.cells)
    } else {
        format!("stem C={}", args.channels)
    };
    if !args.quiet {
        eprintln!(
            "training {arch} on {} ({} train / {} valid / {} test images), {shape}, {} \
             parameters, on {}",
            args.dataset,
            splits.train.len(),
            splits.valid.len(),
            splits.test.len(),
            net.cost().params,
            args.device
        );
    }
    let t0 = Instant::now();
    while !trainer.finished() {
        let epoch = trainer.epochs_done();
        let bar = if args.quiet {
            ProgressBar::hidden()
        } else {
            epoch_bar(epoch, args.epochs)
        };
        let report = trainer.run_epoch(splits, &mut |p| match p {
            Progress::Step {
                step, steps, loss, ..
            } => {
                bar.set_length(steps as u64);
                bar.set_position(step as u64);
                bar.set_message(format!("loss {loss:.3}"));
            }
            Progress::Epoch(_) => {}
        })?;
        bar.finish_and_clear();
        let left_s = report.train_s * (args.epochs - (report.epoch + 1)) as f64;
        if !args.quiet {
            eprintln!(
                "epoch {:>3}/{}: loss {:.4}, train {:.2}%, valid {:.2}%, {:.1} s (about {} left)",
                report.epoch + 1,
                args.epochs,
                report.train_loss,
                report.train_acc,
                report.valid_acc,
                report.train_s,
                duration_words(left_s)
            );
        }
        trainer.save_checkpoint(&ckpt)?;
        if left_s > args.max_hours * 3600.0 {
            bail!(
                "the remaining {} epochs would take about {} at {:.0} s an epoch, more than \
                 --max-hours {}: train fewer epochs, a smaller network (--channels, --cells) or \
                 fewer images (--train-limit), or raise --max-hours and --resume (the checkpoint \
                 in {} is kept)",
                args.epochs - (report.epoch + 1),
                duration_words(left_s),
                report.train_s,
                args.max_hours,
                ckpt.display()
            );
        }
    }
    let train_s = t0.elapsed().as_secs_f64();
    let latency = LatencyConfig::default();
    let outcome = nasbo_train::finish(
        &trainer,
        Some(&latency),
        splits,
        trainer.history().to_vec(),
        train_s,
    )?;
    let weights = args.out.join("model.bpk");
    trainer.save_weights(&weights)?;
    let report = Report {
        space,
        arch,
        arch_index,
        dataset: args.dataset.name(),
        trained_on: format!(
            "{} images: the official training set less the validation part",
            splits.train.len()
        ),
        valid_split: format!(
            "{} images held out of the official training set (split seed {SPLIT_SEED})",
            splits.valid.len()
        ),
        test_split: format!("official test set, {} images", splits.test.len()),
        seed: args.seed,
        device: args.device.name(),
        net: &net,
        train: &config,
        valid_acc: outcome.valid_acc,
        test_acc: outcome.test_acc,
        params: outcome.params,
        params_m: outcome.params as f64 / 1e6,
        flops_m: outcome.flops as f64 / 1e6,
        latency_ms_b1: outcome.latency_ms_small,
        latency_ms_b64: outcome.latency_ms_large,
        train_s,
        epochs: trainer.history(),
    };
    write_json(&args.out.join("report.json"), &report)?;
    if args.no_result_line {
        return Ok(());
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "valid {:.2}%  test {:.2}%  ({:.3} M params, {:.1} M FLOPs, {:.2} ms/image at batch 1); wrote {}",
        outcome.valid_acc,
        outcome.test_acc.unwrap_or(f64::NAN),
        outcome.params as f64 / 1e6,
        outcome.flops as f64 / 1e6,
        outcome.latency_ms_small.unwrap_or(f64::NAN),
        args.out.display()
    );
    Ok(())
}

fn epoch_bar(epoch: usize, epochs: usize) -> ProgressBar {
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps {msg} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("epoch {}/{}", epoch + 1, epochs));
    bar
}

fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// A duration for people: `42 s`, `3 min 5 s`, `2 h 10 min`.
pub fn duration_words(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}
