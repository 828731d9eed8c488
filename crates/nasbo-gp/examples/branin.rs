//! Minimises the Branin function with the ask/tell BO loop.
//!
//! `cargo run --release -p nasbo-gp --example branin -- [SEED]`

use nasbo_gp::bo::{BayesOpt, BoConfig};
use nasbo_gp::Direction;
use std::f64::consts::PI;
use std::process::ExitCode;

fn branin(x1: f64, x2: f64) -> f64 {
    let b = 5.1 / (4.0 * PI * PI);
    let c = 5.0 / PI;
    let t = 1.0 / (8.0 * PI);
    (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}

fn main() -> ExitCode {
    const OPTIMUM: f64 = 0.397_887_357_729_738;
    const TOLERANCE: f64 = 1e-2;
    const BUDGET: usize = 40;
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let config = BoConfig {
        n_initial: 6,
        seed,
        ..BoConfig::default()
    };
    println!("Branin: known minimum {OPTIMUM}, tolerance {TOLERANCE}, budget {BUDGET} evaluations, seed {seed}");
    let mut bo = BayesOpt::new(&[(-5.0, 10.0), (0.0, 15.0)], Direction::Minimize, config)
        .expect("valid bounds");
    for i in 1..=BUDGET {
        let x = bo.ask().expect("proposal");
        let y = branin(x[0], x[1]);
        bo.tell(x.view(), y).expect("finite value");
        let (_, best) = bo.best().expect("observations");
        println!(
            "eval {i:3}: x = [{:8.4}, {:8.4}]  f = {y:10.5}  best = {best:.6}",
            x[0], x[1]
        );
        if best - OPTIMUM < TOLERANCE {
            println!(
                "reached the optimum within {TOLERANCE} after {i} evaluations (gap {:.2e})",
                best - OPTIMUM
            );
            return ExitCode::SUCCESS;
        }
    }
    let (_, best) = bo.best().expect("observations");
    println!(
        "did not reach the optimum within {BUDGET} evaluations: gap {:.3e}",
        best - OPTIMUM
    );
    ExitCode::FAILURE
}
