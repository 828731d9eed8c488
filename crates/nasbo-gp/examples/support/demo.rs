//! The ask/tell driver shared by the BO examples.

use nasbo_gp::bo::{ContinuousBo, ContinuousBoConfig};
use nasbo_gp::Direction;
use std::process::ExitCode;

/// A minimisation problem with a known optimum.
pub struct Problem<'a> {
    pub name: &'a str,
    pub bounds: &'a [(f64, f64)],
    pub optimum: f64,
    pub tolerance: f64,
    pub budget: usize,
}

/// Runs BO on `f` until the best value is within the tolerance of the optimum or the budget
/// is spent; prints every evaluation and the outcome.
pub fn run(problem: &Problem, config: ContinuousBoConfig, f: impl Fn(&[f64]) -> f64) -> ExitCode {
    let Problem {
        name,
        bounds,
        optimum,
        tolerance,
        budget,
    } = *problem;
    println!(
        "{name}: known minimum {optimum}, tolerance {tolerance}, budget {budget} evaluations, seed {}",
        config.seed
    );
    let mut bo = ContinuousBo::new(bounds, Direction::Minimize, config).expect("valid bounds");
    for i in 1..=budget {
        let x = bo.ask().expect("proposal");
        let y = f(x.as_slice().expect("contiguous"));
        bo.tell(x.view(), y).expect("finite value");
        let (_, best) = bo.best().expect("observations");
        println!("eval {i:3}: x = {x:.4}  f = {y:10.5}  best = {best:.6}");
        if best - optimum < tolerance {
            println!(
                "reached the optimum within {tolerance} after {i} evaluations (gap {:.2e})",
                best - optimum
            );
            return ExitCode::SUCCESS;
        }
    }
    let (_, best) = bo.best().expect("observations");
    println!(
        "did not reach the optimum within {budget} evaluations: gap {:.3e}",
        best - optimum
    );
    ExitCode::FAILURE
}
