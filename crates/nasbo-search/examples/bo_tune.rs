//! Compares BO settings on the NAS-Bench-201 table: mean ± standard error of test regret at
//! several budgets, median queries to the best-validation cell, and time per proposal.
//!
//! cargo run --release -p nasbo-search --example bo_tune -- TABLE SEEDS BUDGET 'encoding=path' 'encoding=one-hot,kernel=matern52' ...
//!
//! Each setting is a comma-separated list of `key=value` pairs of the `[bo]` config table.

#[path = "support/settings.rs"]
mod settings;

use std::time::Instant;

use nasbo_bench::{Dataset, Nb201Benchmark};
use nasbo_core::nb201::{Cell, Nb201Space};
use nasbo_search::bo::nb201_features;
use nasbo_search::{BayesOpt, Budget, Runner};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = Nb201Benchmark::load(&args[0], Dataset::Cifar10).unwrap();
    let seeds: u64 = args[1].parse().unwrap();
    let budget: usize = args[2].parse().unwrap();
    let best_valid = bench.optimum().best_valid.0;
    for setting in &args[3..] {
        let config = settings::parse(setting);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
        let started = Instant::now();
        let results: Vec<(Vec<f64>, usize, usize)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let config = config.clone();
                    let bench = bench.clone();
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        for seed in (t..seeds).step_by(threads as usize) {
                            let mut strategy = BayesOpt::<Nb201Space>::new(
                                config.clone(),
                                nb201_features(&config),
                            )
                            .unwrap();
                            let mut eval = bench.clone();
                            let study =
                                Runner::new(&Nb201Space, Budget::Queries(budget), seed, true)
                                    .unwrap()
                                    .run(&mut strategy, &mut eval)
                                    .unwrap();
                            let regrets: Vec<f64> = study
                                .incumbents()
                                .iter()
                                .map(|t| bench.test_regret(&t.expect("table never fails").arch))
                                .collect();
                            let hit = study
                                .trials()
                                .iter()
                                .position(|t: &nasbo_search::Trial<Cell>| t.arch == best_valid)
                                .map_or(usize::MAX, |i| i + 1);
                            // The first query one edit or less from the best cell.
                            let near = study
                                .trials()
                                .iter()
                                .position(|t: &nasbo_search::Trial<Cell>| {
                                    t.arch
                                        .ops
                                        .iter()
                                        .zip(best_valid.ops)
                                        .filter(|(a, b)| **a != *b)
                                        .count()
                                        <= 1
                                })
                                .map_or(usize::MAX, |i| i + 1);
                            out.push((regrets, hit, near));
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let wall = started.elapsed().as_secs_f64();
        let mut line = format!("{setting:50}");
        for b in [10, 20, 50, 100, 150, 200, 300] {
            if b > budget {
                break;
            }
            let v: Vec<f64> = results.iter().map(|r| r.0[b - 1]).collect();
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let sd =
                (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
            line += &format!(" @{b}: {mean:.3}±{:.3}", sd / n.sqrt());
        }
        let reached = results.iter().filter(|r| r.1 <= budget).count();
        let stuck: usize = results
            .iter()
            .filter(|r| *r.0.last().unwrap() > 0.5)
            .count();
        type Run = (Vec<f64>, usize, usize);
        let median_of = |pick: &dyn Fn(&Run) -> usize| {
            let mut v: Vec<usize> = results.iter().map(pick).collect();
            v.sort_unstable();
            match v[v.len() / 2] {
                usize::MAX => format!(">{budget}"),
                m => m.to_string(),
            }
        };
        let median = median_of(&|r| r.1);
        let near = median_of(&|r| r.2);
        let ms = wall * 1000.0 * threads as f64 / (seeds as f64 * budget as f64);
        println!("{line}  median-to-best-valid {median}, to one edit of it {near} (reached {reached}, final regret > 0.5: {stuck})  {ms:.1} ms/query");
    }
}
