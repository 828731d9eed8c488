//! Times one BO proposal (fit + acquisition maximisation) at a given history size.
//! cargo run --release -p nasbo-search --example bo_time -- TABLE N 'encoding=one-hot'

use std::time::Instant;

use nasbo_bench::{Dataset, Nb201Benchmark};
use nasbo_core::nb201::Nb201Space;
use nasbo_core::{Evaluation, Evaluator, SearchSpace};
use nasbo_search::bo::nb201_features;
use nasbo_search::{BayesOpt, BoConfig, Observation};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut bench = Nb201Benchmark::load(&args[0], Dataset::Cifar10).unwrap();
    let n: usize = args[1].parse().unwrap();
    for setting in &args[2..] {
        let mut text = String::new();
        for kv in setting.split(',').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap();
            let q = if v.parse::<f64>().is_ok() || v == "true" || v == "false" {
                v.to_string()
            } else {
                format!("\"{v}\"")
            };
            text += &format!("{k} = {q}\n");
        }
        let config: BoConfig = toml::from_str(&text).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let history: Vec<Observation<_>> = (0..n)
            .map(|_| {
                let arch = Nb201Space.sample(&mut rng);
                let value = match bench.evaluate(&arch, 0) {
                    Evaluation::Ok { objective, .. } => Some(objective),
                    _ => None,
                };
                Observation {
                    arch,
                    value,
                    pending: false,
                    metrics: Vec::new(),
                }
            })
            .collect();
        let mut bo = BayesOpt::<Nb201Space>::new(config.clone(), nb201_features(&config)).unwrap();
        let (mut fit_s, mut max_s) = (0.0, 0.0);
        let reps = 10;
        for r in 0..reps {
            let t = Instant::now();
            let s = bo.fit(&history, r).unwrap().unwrap();
            fit_s += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let _ = bo.maximise(&Nb201Space, &s, &history, &mut rng).unwrap();
            max_s += t.elapsed().as_secs_f64();
        }
        println!(
            "{setting:40} n={n}: fit {:.1} ms, maximise {:.1} ms",
            fit_s * 1e3 / reps as f64,
            max_s * 1e3 / reps as f64
        );
    }
}
