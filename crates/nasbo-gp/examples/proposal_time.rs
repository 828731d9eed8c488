//! Times one BO proposal as nasbo-search makes it: a warm-started refit after a new observation
//! plus log-EI on a candidate matrix.
//!
//! `cargo run --release -p nasbo-gp --example proposal_time -- [N] [D] [CANDIDATES] [MAX_ITERS]`

#[path = "support/cpu.rs"]
mod cpu;

use linfa::prelude::*;
use nasbo_gp::acquisition::{Acquisition, LogExpectedImprovement};
use nasbo_gp::{Direction, Gp};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn main() {
    let nums: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = nums.first().copied().unwrap_or(150);
    let d = nums.get(1).copied().unwrap_or(30);
    let m = nums.get(2).copied().unwrap_or(2000);
    let iters = nums.get(3).copied().unwrap_or(10) as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let f = |r: ndarray::ArrayView1<f64>| {
        (3.0 * r[0]).sin() + r.iter().map(|v| v * v).sum::<f64>() / d as f64
    };
    let x = Array2::<f64>::from_shape_fn((n + 1, d), |_| rng.gen_range(0.0..1.0));
    let y: Array1<f64> = x.rows().into_iter().map(f).collect();
    let cand = Array2::<f64>::from_shape_fn((m, d), |_| rng.gen_range(0.0..1.0));
    let head = x.slice_axis(ndarray::Axis(0), (..n).into()).to_owned();
    let t = Instant::now();
    let cold = Gp::params()
        .restarts(3)
        .fit(&Dataset::new(
            head,
            y.slice_axis(ndarray::Axis(0), (..n).into()).to_owned(),
        ))
        .unwrap();
    let cold_s = t.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    for _ in 0..5 {
        let c = cpu::cpu_seconds();
        let t = Instant::now();
        let gp = Gp::params()
            .restarts(1)
            .max_iters(iters)
            .initial_hyperparameters(cold.hyperparameters().clone())
            .fit(&Dataset::new(x.clone(), y.clone()))
            .unwrap();
        let best = y.fold(f64::MIN, |a, &b| a.max(b));
        let scores =
            LogExpectedImprovement::new(best, Direction::Maximize).evaluate(&gp, cand.view());
        assert!(scores.iter().all(|s| s.is_finite()));
        times.push(t.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (c, cpu::cpu_seconds()) {
            cpu_times.push(b - a);
        }
    }
    times.sort_by(f64::total_cmp);
    let cpu_mean = cpu_times.iter().sum::<f64>() / cpu_times.len().max(1) as f64;
    println!(
        "{{\"n\":{},\"d\":{d},\"candidates\":{m},\"max_iters\":{iters},\"cold_fit_s\":{cold_s:.4},\"proposal_median_s\":{:.5},\"proposal_mean_cpu_s\":{cpu_mean:.3}}}",
        n + 1,
        times[2]
    );
}
