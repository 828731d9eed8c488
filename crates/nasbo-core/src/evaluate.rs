//! The interface through which an architecture gets a score.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The outcome of evaluating one architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Evaluation {
    /// The evaluation finished.
    Ok {
        /// The value the search optimises (for example validation accuracy in percent).
        objective: f64,
        /// Values reported alongside but never searched on (for example `test_acc`).
        reported: BTreeMap<String, f64>,
        /// What the evaluation cost, in seconds (real or simulated).
        cost_s: f64,
    },
    /// The evaluation failed (diverged, timed out, crashed); the search goes on.
    Failed {
        /// Why it failed.
        reason: String,
        /// Seconds spent before it failed.
        cost_s: f64,
    },
}

impl Evaluation {
    /// Seconds the evaluation cost.
    pub fn cost_s(&self) -> f64 {
        match self {
            Evaluation::Ok { cost_s, .. } | Evaluation::Failed { cost_s, .. } => *cost_s,
        }
    }
}

/// Scores architectures: a tabular benchmark, a real training run, or anything else.
///
/// Strategies never see an evaluator: the runner calls it and records the outcome.
pub trait Evaluator<A> {
    /// Evaluates `arch`. `seed` selects the randomness of a stochastic evaluation.
    fn evaluate(&mut self, arch: &A, seed: u64) -> Evaluation;

    /// Evaluates `arch` as trial `trial` of its study (0-based: the journal's `trial`); the
    /// search loop calls this. The default forgets the number and calls
    /// [`Evaluator::evaluate`]; an evaluator that keeps files per trial (a folder named by the
    /// trial) uses it.
    fn evaluate_trial(&mut self, arch: &A, trial: usize, seed: u64) -> Evaluation {
        let _ = trial;
        self.evaluate(arch, seed)
    }

    /// The name of the value searched on, as written in summaries (`valid_acc`).
    fn objective_name(&self) -> &str;

    /// Whether a larger objective is better.
    fn maximize(&self) -> bool {
        true
    }
}
