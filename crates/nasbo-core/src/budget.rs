//! When a search stops: after a number of trials, or once their cost reaches a time budget.

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// When a search stops.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Budget {
    /// After this many trials.
    Queries(usize),
    /// Once the trials' total cost reaches this many seconds (the trial that crosses the line
    /// still counts, as in the NAS-Bench-201 paper's protocol).
    Seconds(f64),
}

impl Budget {
    /// Checks that the budget allows at least one trial.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match *self {
            Budget::Queries(0) => Err(ConfigError(
                "the budget must allow at least one query (got 0)".into(),
            )),
            Budget::Seconds(s) if !(s > 0.0 && s.is_finite()) => Err(ConfigError(format!(
                "the time budget must be a positive, finite number of seconds (got {s})"
            ))),
            _ => Ok(()),
        }
    }

    /// Whether a study of `trials` trials costing `cost_s` seconds has spent the budget.
    pub fn spent(&self, trials: usize, cost_s: f64) -> bool {
        match *self {
            Budget::Queries(n) => trials >= n,
            Budget::Seconds(s) => cost_s >= s,
        }
    }
}
