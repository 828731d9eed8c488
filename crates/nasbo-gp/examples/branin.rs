//! Minimises the Branin function with the ask/tell BO loop.
//!
//! `cargo run --release -p nasbo-gp --example branin -- [SEED]`

#[path = "support/demo.rs"]
mod demo;

use nasbo_gp::bo::ContinuousBoConfig;
use std::f64::consts::PI;
use std::process::ExitCode;

fn branin(x1: f64, x2: f64) -> f64 {
    let b = 5.1 / (4.0 * PI * PI);
    let c = 5.0 / PI;
    let t = 1.0 / (8.0 * PI);
    (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}

fn main() -> ExitCode {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let problem = demo::Problem {
        name: "Branin",
        bounds: &[(-5.0, 10.0), (0.0, 15.0)],
        optimum: 0.397_887_357_729_738,
        tolerance: 1e-2,
        budget: 40,
    };
    let config = ContinuousBoConfig {
        n_initial: 6,
        seed,
        ..ContinuousBoConfig::default()
    };
    demo::run(&problem, config, |x| branin(x[0], x[1]))
}
