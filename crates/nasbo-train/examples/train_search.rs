//! A random search that really trains every cell, through [`TrainEvaluator`]: a stand-in for
//! `nasbo search --evaluator train` until the CLI wires it, and the source of the figures in
//! `benchmarks/train/RESULTS.md`.
//!
//! `NASBO_DATA=… cargo run --release -p nasbo-train --example train_search -- [trials 20]
//!  [epochs 2] [channels 8] [cells 1] [seed 0]`

use std::time::Instant;

use nasbo_core::nb201::Nb201Space;
use nasbo_core::{Evaluation, Evaluator, SearchSpace};
use nasbo_train::data::{self, DatasetName, SplitConfig};
use nasbo_train::{DeviceChoice, LatencyConfig, TrainConfig, TrainEvalConfig, TrainEvaluator};
use rand::SeedableRng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = |i: usize, default: u64| -> u64 {
        std::env::args()
            .nth(i)
            .map_or(default, |s| s.parse().expect("a number"))
    };
    let (trials, epochs, channels, cells, seed) =
        (arg(1, 20), arg(2, 2), arg(3, 8), arg(4, 1), arg(5, 0));
    let splits = data::load(DatasetName::FashionMnist, None)?.split(&SplitConfig::default())?;
    println!(
        "fashion-mnist: {} train / {} valid / {} test images; C={channels} N={cells}, {epochs} epochs, batch 64",
        splits.train.len(),
        splits.valid.len(),
        splits.test.len()
    );
    let mut ev = TrainEvaluator::new(
        splits,
        TrainEvalConfig {
            channels: channels as usize,
            cells_per_stage: cells as usize,
            train: TrainConfig {
                epochs: epochs as usize,
                batch_size: 64,
                ..TrainConfig::default()
            },
            device: DeviceChoice::Cpu,
            latency: Some(LatencyConfig::default()),
        },
    )?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let t0 = Instant::now();
    let mut best: Option<(f64, f64, String)> = None;
    for t in 0..trials {
        let cell = Nb201Space.sample(&mut rng);
        match ev.evaluate(&cell, seed + t) {
            Evaluation::Ok {
                objective,
                reported,
                cost_s,
            } => {
                println!(
                    "{t:>3} {cell} valid {objective:5.1} test {:5.1} params {:.4} M lat b1 {:.2} ms b64 {:.1} ms, {cost_s:.1} s",
                    reported["test_acc"], reported["params_m"], reported["latency_ms_b1"], reported["latency_ms_b64"]
                );
                if best.as_ref().is_none_or(|b| objective > b.0) {
                    best = Some((objective, reported["test_acc"], cell.to_string()));
                }
            }
            Evaluation::Failed { reason, cost_s } => {
                println!("{t:>3} {cell} failed after {cost_s:.1} s: {reason}")
            }
        }
    }
    let (v, te, cell) = best.ok_or("no trial succeeded")?;
    println!(
        "best by validation: {cell} valid {v:.2}% test {te:.2}%; {trials} trials in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
