//! The search loop: ask, evaluate, record, until the budget is spent.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use nasbo_core::Budget;
use nasbo_core::{Evaluation, Evaluator, SearchSpace, SimClock};
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
    workers: usize,
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
            workers: 1,
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

    /// Simulates `n` workers that evaluate trials at once (a benchmark on a table): each trial
    /// occupies its worker for the evaluation's cost on a simulated clock (an event queue, no
    /// sleeping); a free worker asks the strategy while the others' trials are pending, and the
    /// strategy learns each result when its trial ends. Trials are recorded in the order they
    /// end, each with its [`SimClock`]. A query budget counts trials asked; a seconds budget is
    /// simulated wall-clock (no trial starts after it). With `n = 1` the search is the usual
    /// sequential one. A simulated run cannot be resumed from its journal (it is cheap to rerun).
    pub fn simulate_workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// The journal's path (empty without one), for error messages.
    fn journal_path(&self) -> std::path::PathBuf {
        self.journal
            .as_ref()
            .map(|j| j.path().to_path_buf())
            .unwrap_or_default()
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
        if self.workers > 1 {
            return self.run_simulated(strategy, evaluator);
        }
        let maximize = self.study.maximize();
        let objective_name = &evaluator.objective_name().to_string();
        let mut history: Vec<Observation<S::Arch>> = Vec::new();
        let mut seen: HashSet<S::Arch> = HashSet::new();
        for recorded in std::mem::take(&mut self.replay) {
            let proposal = strategy.ask(self.space, &history, &mut self.rng)?;
            if proposal.as_ref() != Some(&recorded.arch) {
                let path = self.journal_path();
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
            let trial = trial_of(
                index,
                arch,
                outcome,
                self.seed,
                eval_seed,
                started_at,
                finished_at,
            );
            let mut trial = trial;
            if let Some(annotator) = &mut self.annotator {
                annotator.annotate(&mut trial, &self.study);
            }
            let obs = Observation::with_metrics(&trial, maximize, &self.visible, objective_name);
            strategy.tell(self.space, &obs);
            history.push(obs);
            // History and study are in the same order here: an index of one is a trial number.
            trial.recommended = strategy.recommend(self.space, &history);
            if let Some(journal) = &mut self.journal {
                journal.append(&trial.with_arch(self.space.format_arch(&trial.arch)))?;
            }
            self.study.push(trial);
            let last = self.study.trials().last().expect("just pushed");
            for observer in &mut self.observers {
                observer.on_trial(last, &self.study);
            }
        }
        Ok(self.study)
    }

    /// [`Runner::run`] with [`Runner::simulate_workers`] above 1.
    fn run_simulated<St, E>(
        mut self,
        strategy: &mut St,
        evaluator: &mut E,
    ) -> Result<Study<S::Arch>>
    where
        St: Strategy<S> + ?Sized,
        E: Evaluator<S::Arch> + ?Sized,
    {
        if !self.replay.is_empty() {
            let path = self.journal_path();
            return Err(SearchError::ResumeMismatch {
                path,
                message: "a run with simulated workers cannot be resumed: delete its journal and \
                          run it again"
                    .into(),
            });
        }
        struct Running<A> {
            worker: usize,
            asked: usize,
            arch: A,
            outcome: Evaluation,
            eval_seed: u64,
            start_s: f64,
            end_s: f64,
        }
        let maximize = self.study.maximize();
        let objective_name = &evaluator.objective_name().to_string();
        // Every proposal in the order it was asked (as a shared study's workers see it): a
        // pending observation is completed in place when its trial ends, so the history only
        // ever grows at its end (strategies fold it in incrementally).
        let mut history: Vec<Observation<S::Arch>> = Vec::new();
        let mut seen: HashSet<S::Arch> = HashSet::new();
        let mut running: Vec<Running<S::Arch>> = Vec::new();
        // Workers free to start a trial, with the simulated time they became free.
        let mut free: Vec<(usize, f64)> = (0..self.workers).rev().map(|w| (w, 0.0)).collect();
        let mut asked = 0usize;
        // The trial number of each asked proposal, once its trial is recorded.
        let mut number_of_asked: Vec<Option<usize>> = Vec::new();
        let mut exhausted = false;
        loop {
            while let Some(&(worker, now_s)) = free.last() {
                let stopped = self.stop.as_ref().is_some_and(|f| f.load(Ordering::SeqCst));
                let open = match self.budget {
                    Budget::Queries(n) => asked < n,
                    Budget::Seconds(s) => now_s < s,
                };
                if stopped || exhausted || !open {
                    break;
                }
                let Some(arch) = strategy.ask(self.space, &history, &mut self.rng)? else {
                    exhausted = true;
                    break;
                };
                if !seen.insert(arch.clone()) {
                    return Err(SearchError::Strategy {
                        strategy: strategy.name().into(),
                        message: format!(
                            "proposed {} a second time",
                            self.space.format_arch(&arch)
                        ),
                    });
                }
                free.pop();
                let eval_seed = eval_seed(self.seed, asked);
                let outcome = evaluator.evaluate_trial(&arch, asked, eval_seed);
                let end_s = now_s + outcome.cost_s().max(0.0);
                history.push(Observation {
                    arch: arch.clone(),
                    value: None,
                    pending: true,
                    metrics: Vec::new(),
                });
                running.push(Running {
                    worker,
                    asked,
                    arch,
                    outcome,
                    eval_seed,
                    start_s: now_s,
                    end_s,
                });
                asked += 1;
            }
            // The next trial to end (the earliest asked among ties).
            let Some(next) = running
                .iter()
                .enumerate()
                .min_by(|(_, a), (_, b)| a.end_s.total_cmp(&b.end_s).then(a.asked.cmp(&b.asked)))
                .map(|(i, _)| i)
            else {
                break;
            };
            let done = running.swap_remove(next);
            let index = self.study.len();
            let started_at = now();
            let mut trial = trial_of(
                index,
                done.arch,
                done.outcome,
                self.seed,
                done.eval_seed,
                started_at,
                started_at,
            );
            trial.clock = Some(SimClock {
                worker: done.worker,
                start_s: done.start_s,
                end_s: done.end_s,
            });
            if let Some(annotator) = &mut self.annotator {
                annotator.annotate(&mut trial, &self.study);
            }
            let obs = Observation::with_metrics(&trial, maximize, &self.visible, objective_name);
            history[done.asked] = obs.clone();
            strategy.tell(self.space, &obs);
            if number_of_asked.len() <= done.asked {
                number_of_asked.resize(done.asked + 1, None);
            }
            number_of_asked[done.asked] = Some(index);
            // The strategy recommends a finished observation: one whose trial is recorded.
            trial.recommended = strategy
                .recommend(self.space, &history)
                .and_then(|i| number_of_asked.get(i).copied().flatten());
            if let Some(journal) = &mut self.journal {
                journal.append(&trial.with_arch(self.space.format_arch(&trial.arch)))?;
            }
            self.study.push(trial);
            let last = self.study.trials().last().expect("just pushed");
            for observer in &mut self.observers {
                observer.on_trial(last, &self.study);
            }
            free.push((done.worker, done.end_s));
            // Free workers start in the order they became free (the lowest worker first).
            free.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        }
        Ok(self.study)
    }
}

/// The trial of an evaluation's outcome.
fn trial_of<A>(
    index: usize,
    arch: A,
    outcome: Evaluation,
    seed: u64,
    eval_seed: u64,
    started_at: f64,
    finished_at: f64,
) -> Trial<A> {
    let (status, objective, reported, cost_s, reason) = match outcome {
        Evaluation::Ok {
            objective,
            reported,
            cost_s,
        } => (Status::Ok, Some(objective), reported, cost_s, None),
        Evaluation::Failed { reason, cost_s } => (
            Status::Failed,
            None,
            Default::default(),
            cost_s,
            Some(reason),
        ),
    };
    Trial {
        trial: index,
        arch,
        status,
        objective,
        reported,
        cost_s,
        seed,
        eval_seed,
        started_at,
        finished_at,
        reason,
        feasible: None,
        hypervolume: None,
        lease: None,
        clock: None,
        recommended: None,
    }
}
