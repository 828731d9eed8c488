//! A study: the append-only list of trials of one search.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The state of a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Evaluated; `objective` holds the value searched on.
    Ok,
    /// The evaluation failed; `reason` says why.
    Failed,
    /// Asked but not yet told (ask/tell with an external trainer).
    Pending,
}

/// One trial: an architecture, how it went, and what it cost.
///
/// This is also the line format of the journal (`"trial"`, `"arch"`, `"status"`,
/// `"objective"`, `"reported"`, `"cost_s"`, `"seed"`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial<A> {
    /// 0-based position in the study.
    pub trial: usize,
    /// The architecture (for NB201, the official cell string).
    pub arch: A,
    /// Whether the evaluation finished.
    pub status: Status,
    /// The value searched on; `None` unless `status` is `ok`.
    pub objective: Option<f64>,
    /// Values reported but never searched on (for example `test_acc`).
    #[serde(default)]
    pub reported: BTreeMap<String, f64>,
    /// Seconds the evaluation cost (real or simulated).
    pub cost_s: f64,
    /// The run's seed.
    pub seed: u64,
    /// The seed handed to the evaluator for this trial.
    #[serde(default)]
    pub eval_seed: u64,
    /// Unix time (seconds) when the trial started.
    #[serde(default)]
    pub started_at: f64,
    /// Unix time (seconds) when the trial finished.
    #[serde(default)]
    pub finished_at: f64,
    /// Why the trial failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether the trial meets the search's constraints; absent when there are none. An
    /// infeasible trial is never the incumbent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feasible: Option<bool>,
    /// In a multi-objective search: the hypervolume of the feasible Pareto front of every
    /// trial so far, this one included (with the search's fixed reference point).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypervolume: Option<f64>,
    /// In a study that workers share: who holds (or last held) the trial, when it last said
    /// it was alive, and how many times it was handed out. Absent in a single search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// In a benchmark with simulated workers (`nasbo bench --workers N`): which simulated
    /// worker evaluated the trial, and when on the simulated clock. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<SimClock>,
    /// The trial (its number, this one or an earlier one) that the strategy recommends once
    /// this trial is known: a model's estimate of the best evaluated architecture (BO's
    /// posterior mean with `incumbent = "posterior"`), which under a noisy objective can differ
    /// from the best observed value. Absent where the strategy recommends the best observed,
    /// which is then the incumbent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended: Option<usize>,
}

/// When a trial ran on the simulated clock of a benchmark with several simulated workers: each
/// trial occupies its worker for the evaluation's cost (`cost_s`), and the search learns the
/// result at `end_s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SimClock {
    /// The simulated worker, 0-based.
    pub worker: usize,
    /// Simulated seconds since the run began when the trial started.
    pub start_s: f64,
    /// Simulated seconds since the run began when the trial finished (`start_s + cost_s`).
    pub end_s: f64,
}

/// Which worker evaluates a pending trial of a shared study, and since when it is silent.
///
/// A worker heartbeats while it evaluates; a pending trial whose `heartbeat_at` is older than
/// the study's grace period is handed to the next worker that asks (its `attempt` counting
/// up), until the study's retries are spent and it is recorded as failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    /// The worker (`host:pid:n`); empty when the trial was released (Ctrl-C) and waits for
    /// the next ask.
    pub worker: String,
    /// Unix time (seconds) of the holder's last heartbeat.
    pub heartbeat_at: f64,
    /// How many times the trial has been handed out (1 for the first).
    pub attempt: u32,
}

/// The trials of one search, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Study<A> {
    trials: Vec<Trial<A>>,
    maximize: bool,
}

impl<A: Clone> Study<A> {
    /// An empty study; `maximize` says whether a larger objective is better.
    pub fn new(maximize: bool) -> Study<A> {
        Study {
            trials: Vec::new(),
            maximize,
        }
    }

    /// A study from trials already recorded.
    pub fn from_trials(trials: Vec<Trial<A>>, maximize: bool) -> Study<A> {
        Study { trials, maximize }
    }

    /// Whether a larger objective is better.
    pub fn maximize(&self) -> bool {
        self.maximize
    }

    /// All trials, in order.
    pub fn trials(&self) -> &[Trial<A>] {
        &self.trials
    }

    /// Number of trials.
    pub fn len(&self) -> usize {
        self.trials.len()
    }

    /// Whether there is no trial yet.
    pub fn is_empty(&self) -> bool {
        self.trials.is_empty()
    }

    /// Appends a trial.
    pub fn push(&mut self, trial: Trial<A>) {
        self.trials.push(trial);
    }

    /// Mutable access to a trial (to complete a pending one).
    pub fn trial_mut(&mut self, index: usize) -> Option<&mut Trial<A>> {
        self.trials.get_mut(index)
    }

    /// Total cost of all trials, in seconds.
    pub fn total_cost_s(&self) -> f64 {
        self.trials.iter().map(|t| t.cost_s).sum()
    }

    /// Whether `a` is a better objective than `b`.
    pub fn better(&self, a: f64, b: f64) -> bool {
        if self.maximize {
            a > b
        } else {
            a < b
        }
    }

    /// The incumbent after the last trial (see [`Study::incumbents`]).
    pub fn best(&self) -> Option<&Trial<A>> {
        self.incumbents().last().copied().flatten()
    }

    /// The incumbent after each trial: `None` until the first successful one. It is the trial
    /// the strategy recommended then ([`Trial::recommended`], when that names a finished
    /// feasible trial), else the best finished feasible trial so far (the earliest wins ties).
    pub fn incumbents(&self) -> Vec<Option<&Trial<A>>> {
        let usable = |t: &Trial<A>| {
            (t.status == Status::Ok && t.feasible != Some(false))
                .then_some(t.objective)
                .flatten()
        };
        let mut best: Option<&Trial<A>> = None;
        self.trials
            .iter()
            .map(|t| {
                if let Some(v) = usable(t) {
                    if best.is_none_or(|b| self.better(v, b.objective.unwrap_or(f64::NAN))) {
                        best = Some(t);
                    }
                }
                t.recommended
                    .and_then(|r| self.trials.get(r))
                    .filter(|r| usable(r).is_some())
                    .or(best)
            })
            .collect()
    }
}

impl<A> Trial<A> {
    /// The same trial with another architecture representation.
    pub fn with_arch<B>(&self, arch: B) -> Trial<B> {
        Trial {
            trial: self.trial,
            arch,
            status: self.status,
            objective: self.objective,
            reported: self.reported.clone(),
            cost_s: self.cost_s,
            seed: self.seed,
            eval_seed: self.eval_seed,
            started_at: self.started_at,
            finished_at: self.finished_at,
            reason: self.reason.clone(),
            feasible: self.feasible,
            hypervolume: self.hypervolume,
            lease: self.lease.clone(),
            clock: self.clock,
            recommended: self.recommended,
        }
    }
}
