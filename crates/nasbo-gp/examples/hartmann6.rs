//! Minimises the 6-dimensional Hartmann function with the ask/tell BO loop.
//!
//! `cargo run --release -p nasbo-gp --example hartmann6 -- [SEED]`

#[path = "support/demo.rs"]
mod demo;

use nasbo_gp::bo::ContinuousBoConfig;
use std::process::ExitCode;

fn hartmann6(x: &[f64]) -> f64 {
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    -(0..4)
        .map(|i| {
            let s: f64 = (0..6).map(|j| A[i][j] * (x[j] - P[i][j]).powi(2)).sum();
            ALPHA[i] * (-s).exp()
        })
        .sum::<f64>()
}

fn main() -> ExitCode {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let problem = demo::Problem {
        name: "Hartmann6",
        bounds: &[(0.0, 1.0); 6],
        optimum: -3.322_368_011_391_339,
        tolerance: 0.05,
        budget: 200,
    };
    let config = ContinuousBoConfig {
        n_initial: 30,
        xi: 0.01,
        seed,
        ..ContinuousBoConfig::default()
    };
    demo::run(&problem, config, hartmann6)
}
