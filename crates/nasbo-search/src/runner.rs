//! The search loop: ask, evaluate, record, until the budget is spent.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use nasbo_core::Budget;
use nasbo_core::{Evaluation, Evaluator, SearchSpace};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::journal::TrialLine;
use crate::{Journal, Observation, Result, SearchError, Status, Strategy, Study, Trial};

/// Watches a search: progress bars, logs, live plots.
pub trait Observer<A> {
    /// Called after each new trial is recorded (not for trials replayed on resume).
    fn on_trial(&mut self, trial: &Trial<A>, study: &Study<A>);
}

/// Runs one search: owns the strategy's random stream, the study and its journal.
#[allow(missing_debug_implementations)]
pub struct Runner<'a, S: SearchSpace> {
    space: &'a S,
    budget: Budget,
    seed: u64,
    rng: ChaCha8Rng,
    study: Study<S::Arch>,
    journal: Option<Journal>,
    replay: Vec<Trial<S::Arch>>,
    observers: Vec<Box<dyn Observer<S::Arch> + 'a>>,
    stop: Option<Arc<AtomicBool>>,
    visible: Vec<String>,
    annotator: Option<Box<dyn Annotator<S::Arch> + 'a>>,
}

/// Completes a trial before it is recorded: feasibility under constraints, the hypervolume so
/// far. Called for new trials only (replayed ones keep what their journal says).
pub trait Annotator<A> {
    /// Fills in `trial`'s derived fields; `study` holds the trials before it.
    fn annotate(&mut self, trial: &mut Trial<A>, study: &Study<A>);
}

/// The evaluator's seed for a trial: a SplitMix64 hash of the run's seed and the trial number.
pub fn eval_seed(seed: u64, trial: usize) -> u64 {
    let mut z = seed ^ (trial as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl<'a, S: SearchSpace> Runner<'a, S> {
    /// A runner for `space` with the given budget and seed; `maximize` says whether a larger
    /// objective is better.
    pub fn new(space: &'a S, budget: Budget, seed: u64, maximize: bool) -> Result<Runner<'a, S>> {
        budget.validate()?;
        Ok(Runner {
            space,
            budget,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            study: Study::new(maximize),
            journal: None,
            replay: Vec::new(),
            observers: Vec::new(),
            stop: None,
            visible: Vec::new(),
            annotator: None,
        })
    }

    /// Lets strategies see these metrics of each trial besides the objective (see
    /// [`Observation::metrics`]): further objectives, constrained metrics. Never a reported
    /// value that the search must not use (test accuracy).
    pub fn show_metrics(mut self, names: Vec<String>) -> Self {
        self.visible = names;
        self
    }

    /// Completes each new trial with `annotator` before it is journaled.
    pub fn annotate_with(mut self, annotator: impl Annotator<S::Arch> + 'a) -> Self {
        self.annotator = Some(Box::new(annotator));
        self
    }

    /// Writes every trial to `journal`.
    pub fn with_journal(mut self, journal: Journal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Continues a run from the trials of its journal: the strategy is replayed over them
    /// (no evaluation) so that the rest of the run equals an uninterrupted one.
    pub fn resume_from(mut self, journal: Journal, lines: Vec<TrialLine>) -> Result<Self> {
        let path = journal.path().to_path_buf();
        for line in lines {
            if line.seed != self.seed {
                return Err(SearchError::ResumeMismatch {
                    path,
                    message: format!(
                        "trial {} was run with seed {}, not {}",
                        line.trial, line.seed, self.seed
                    ),
                });
            }
            if line.status == Status::Pending {
                // A search never leaves pending trials; an ask/tell study is continued by `ask`.
                break;
            }
            let arch = self.space.parse_arch(&line.arch)?;
            self.replay.push(line.with_arch(arch));
        }
        self.journal = Some(journal);
        Ok(self)
    }

    /// Adds an observer.
    pub fn observe(mut self, observer: impl Observer<S::Arch> + 'a) -> Self {
        self.observers.push(Box::new(observer));
        self
    }

    /// Stops cleanly between trials once `flag` is set (Ctrl-C).
    pub fn stop_on(mut self, flag: Arc<AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }

    /// The study so far.
    pub fn study(&self) -> &Study<S::Arch> {
        &self.study
    }

    /// Runs the search until the budget is spent, the strategy has nothing left, or the stop
    /// flag is set. Returns the study.
    pub fn run<St, E>(mut self, strategy: &mut St, evaluator: &mut E) -> Result<Study<S::Arch>>
    where
        St: Strategy<S> + ?Sized,
        E: Evaluator<S::Arch> + ?Sized,
    {
        let maximize = self.study.maximize();
        let objective_name = &evaluator.objective_name().to_string();
        let mut history: Vec<Observation<S::Arch>> = Vec::new();
        let mut seen: HashSet<S::Arch> = HashSet::new();
        for recorded in std::mem::take(&mut self.replay) {
            let proposal = strategy.ask(self.space, &history, &mut self.rng)?;
            if proposal.as_ref() != Some(&recorded.arch) {
                let path = self
                    .journal
                    .as_ref()
                    .map(|j| j.path().to_path_buf())
                    .unwrap_or_default();
                return Err(SearchError::ResumeMismatch {
                    path,
                    message: format!(
                        "trial {} recorded {} but strategy `{}` with seed {} proposes {}: resume with the options of the original run",
                        recorded.trial,
                        self.space.format_arch(&recorded.arch),
                        strategy.name(),
                        self.seed,
                        proposal.map_or("nothing".into(), |p| self.space.format_arch(&p)),
                    ),
                });
            }
            let obs = Observation::with_metrics(&recorded, maximize, &self.visible, objective_name);
            strategy.tell(self.space, &obs);
            history.push(obs);
            seen.insert(recorded.arch.clone());
            self.study.push(recorded);
        }
        while !self
            .budget
            .spent(self.study.len(), self.study.total_cost_s())
        {
            if self.stop.as_ref().is_some_and(|f| f.load(Ordering::SeqCst)) {
                break;
            }
            let Some(arch) = strategy.ask(self.space, &history, &mut self.rng)? else {
                break;
            };
            if !seen.insert(arch.clone()) {
                return Err(SearchError::Strategy {
                    strategy: strategy.name().into(),
                    message: format!("proposed {} a second time", self.space.format_arch(&arch)),
                });
            }
            let index = self.study.len();
            let eval_seed = eval_seed(self.seed, index);
            let started_at = now();
            let outcome = evaluator.evaluate_trial(&arch, index, eval_seed);
            let finished_at = now();
            let trial = match outcome {
                Evaluation::Ok {
                    objective,
                    reported,
                    cost_s,
                } => Trial {
                    trial: index,
                    arch,
                    status: Status::Ok,
                    objective: Some(objective),
                    reported,
                    cost_s,
                    seed: self.seed,
                    eval_seed,
                    started_at,
                    finished_at,
                    reason: None,
                    feasible: None,
                    hypervolume: None,
                    lease: None,
                },
                Evaluation::Failed { reason, cost_s } => Trial {
                    trial: index,
                    arch,
                    status: Status::Failed,
                    objective: None,
                    reported: Default::default(),
                    cost_s,
                    seed: self.seed,
                    eval_seed,
                    started_at,
                    finished_at,
                    reason: Some(reason),
                    feasible: None,
                    hypervolume: None,
                    lease: None,
                },
            };
            let mut trial = trial;
            if let Some(annotator) = &mut self.annotator {
                annotator.annotate(&mut trial, &self.study);
            }
            if let Some(journal) = &mut self.journal {
                journal.append(&trial.with_arch(self.space.format_arch(&trial.arch)))?;
            }
            let obs = Observation::with_metrics(&trial, maximize, &self.visible, objective_name);
            strategy.tell(self.space, &obs);
            history.push(obs);
            self.study.push(trial);
            let last = self.study.trials().last().expect("just pushed");
            for observer in &mut self.observers {
                observer.on_trial(last, &self.study);
            }
        }
        Ok(self.study)
    }
}
