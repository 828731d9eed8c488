//! Workers on a shared study: each loops ask → evaluate → tell until the study's budget is
//! spent. Any number of them, in threads of one process (`nasbo search --workers N`) or in
//! processes on any machines (`nasbo worker --study LOCATION`), share one [`Store`].
//!
//! - The first worker creates the study with its spec (budget, heartbeat and retries
//!   included); a later one with another spec is refused, saying what differs.
//! - Asking is one exclusive step on the store: the proposal is made from every trial so far,
//!   pending ones included (each strategy treats them as it does in ask/tell: BO believes its
//!   own prediction for them), and recorded as pending with the asker's lease. Two workers
//!   never receive the same trial.
//! - While it evaluates, a worker heartbeats. A pending trial whose worker has been silent for
//!   `heartbeat-s` is handed to the next worker that asks, up to `max-retries` times, then
//!   recorded as failed with the reason. Ctrl-C releases a worker's trial for the next ask.
//! - When the budget is all handed out, a worker waits for the trials still pending (it
//!   takes over any whose worker dies) and exits once none is.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use nasbo_core::journal::{JournalLock, TrialLine};
use nasbo_core::{Budget, Evaluation, Lease};
use nasbo_search::moo::MoAnnotator;
use nasbo_search::runner::eval_seed;
use nasbo_search::{Annotator, Journal, Observation, Status, Study, Trial};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::registry::make_strategy;
use crate::scoring::Scoring;
use crate::search::{scoring_of, summarise, Reporter, TrialNews};
use crate::space::{AnySpace, SpaceVisitor, StudySpace};
use crate::spec::{differences, usage, EvaluatorKind, StudySpec};
use crate::store::{Store, StudyLocation, StudyState};

/// The record of a shared study: the spec's record plus what every worker must agree on
/// (the budget, the heartbeat grace period, the retries).
pub fn study_record(spec: &StudySpec) -> serde_json::Value {
    let mut record = spec.record();
    let object = record.as_object_mut().expect("a record is an object");
    match spec.budget() {
        Budget::Queries(n) => object.insert("budget".into(), json!(n)),
        Budget::Seconds(s) => object.insert("budget-seconds".into(), json!(s)),
    };
    object.insert("heartbeat-s".into(), json!(spec.heartbeat_s()));
    object.insert("max-retries".into(), json!(spec.max_retries()));
    record
}

/// Workers to run on one study.
#[derive(Debug, Clone)]
pub struct WorkerJob<'a> {
    /// The study's spec.
    pub spec: &'a StudySpec,
    /// Where the study lives.
    pub location: &'a StudyLocation,
    /// The data folder that datasets are looked for in when the spec names none.
    pub data: Option<&'a Path>,
    /// Set to stop: each worker finishes (or releases) its trial and exits.
    pub stop: Arc<AtomicBool>,
    /// How long to wait for the journal's lock.
    pub lock_timeout: Duration,
    /// Workers in this process (threads), at least 1.
    pub threads: usize,
}

/// How the workers of one process ended.
#[derive(Debug, Clone)]
pub struct WorkerOutcome {
    /// The study's summary lines for people (when it is complete).
    pub lines: Vec<String>,
    /// The summary as one JSON object.
    pub summary: serde_json::Value,
    /// Whether the workers were stopped before the study was complete.
    pub interrupted: bool,
    /// Trials in the study.
    pub trials: usize,
    /// Trials these workers evaluated.
    pub evaluated: usize,
    /// When every trial failed: the first one's reason.
    pub all_failed: Option<String>,
}

/// Runs `job.threads` workers on the study until its budget is spent (or `job.stop`).
pub fn work(job: &WorkerJob<'_>, reporter: &dyn Reporter) -> Result<WorkerOutcome> {
    if job.spec.evaluator() == EvaluatorKind::External {
        return Err(usage(
            "workers evaluate trials themselves: give them an evaluator (table, train or \
             command); for your own trainer without nasbo use `nasbo ask` and `nasbo tell`",
        ));
    }
    if job.threads == 0 {
        return Err(usage("`workers` must be at least 1"));
    }
    let results: Vec<Result<WorkerOutcome>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..job.threads)
            .map(|index| {
                scope.spawn(move || {
                    let out = AnySpace::from_spec(job.spec)?.visit(WorkOn {
                        job,
                        reporter,
                        index,
                    });
                    if out.is_err() {
                        // One worker's failure (a refused spec, a store that fails) stops
                        // the others after their trials.
                        job.stop.store(true, Ordering::SeqCst);
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| bail!("a worker thread panicked"))
            })
            .collect()
    });
    let mut evaluated = 0;
    let mut last = None;
    for result in results {
        let outcome = result?;
        evaluated += outcome.evaluated;
        // Every worker that ended normally saw the complete study; keep one summary.
        if last
            .as_ref()
            .is_none_or(|l: &WorkerOutcome| l.interrupted && !outcome.interrupted)
        {
            last = Some(outcome);
        }
    }
    let mut outcome = last.expect("at least one worker");
    outcome.evaluated = evaluated;
    Ok(outcome)
}

struct WorkOn<'a, 'j> {
    job: &'a WorkerJob<'j>,
    reporter: &'a dyn Reporter,
    index: usize,
}

impl SpaceVisitor for WorkOn<'_, '_> {
    type Output = Result<WorkerOutcome>;

    fn visit<S: StudySpace>(self, space: S) -> Result<WorkerOutcome>
    where
        S::Arch: 'static,
    {
        let loading = Instant::now();
        let scoring = scoring_of(
            &space,
            self.job.spec,
            &trials_anchor(self.job.location),
            self.job.data,
            &self.job.stop,
        )?;
        let load_s = loading.elapsed().as_secs_f64();
        // Only the first worker speaks of the constraints' share of the space.
        let note = |line: &str| {
            if self.index == 0 {
                self.reporter.note(line)
            }
        };
        let filtered = match &scoring.resolved {
            Some(r) => r.filtered(&space, &note)?,
            None => None,
        };
        match filtered {
            Some(filtered) => Worker::new(self, &filtered, scoring)?.run(load_s),
            None => Worker::new(self, &space, scoring)?.run(load_s),
        }
    }
}

/// The path whose `.trials` folder holds a command evaluator's trial folders: the journal's,
/// or for a database study `<study>.trials` in the current folder.
fn trials_anchor(location: &StudyLocation) -> PathBuf {
    match location {
        StudyLocation::Journal(p) => p.clone(),
        StudyLocation::Postgres { study, .. } => PathBuf::from(format!("{study}.jsonl")),
    }
}

/// What one ask decided.
enum Step {
    /// Evaluate this trial.
    Run(Box<TrialLine>),
    /// Nothing to hand out now, but trials are pending elsewhere: wait for them.
    Wait,
    /// The study is complete.
    Done,
}

struct Worker<'a, 'j, S: StudySpace>
where
    S::Arch: 'static,
{
    on: WorkOn<'a, 'j>,
    space: &'a S,
    scoring: Scoring<S::Arch>,
    annotator: Option<MoAnnotator<S::Arch>>,
    visible: Vec<String>,
    objective_name: String,
    maximize: bool,
    record: serde_json::Value,
    id: String,
    place: String,
}

impl<'a, 'j, S: StudySpace> Worker<'a, 'j, S>
where
    S::Arch: 'static,
{
    fn new(on: WorkOn<'a, 'j>, space: &'a S, scoring: Scoring<S::Arch>) -> Result<Self> {
        let objective_name = scoring.evaluator.objective_name().to_string();
        let maximize = scoring.evaluator.maximize();
        let (annotator, visible) = match &scoring.resolved {
            Some(resolved) => {
                let mut annotator = MoAnnotator::new(
                    resolved.set.clone(),
                    &objective_name,
                    resolved.reference.clone(),
                );
                if let Some((_, known)) = resolved.known.clone() {
                    annotator = annotator.with_known(Box::new(move |a| known(a)));
                }
                (Some(annotator), resolved.set.metric_names())
            }
            None => (None, Vec::new()),
        };
        Ok(Worker {
            record: study_record(on.job.spec),
            id: worker_id(on.index),
            place: on.job.location.to_string(),
            on,
            space,
            scoring,
            annotator,
            visible,
            objective_name,
            maximize,
        })
    }

    fn run(mut self, load_s: f64) -> Result<WorkerOutcome> {
        let started = Instant::now();
        let spec = self.on.job.spec;
        let heartbeat_s = spec.heartbeat_s();
        // Waiting for others' trials: often enough to take over a dead worker's soon.
        let poll = Duration::from_secs_f64((heartbeat_s / 4.0).clamp(0.05, 2.0));
        // One connection for the worker's steps, one for the heartbeats beside an evaluation.
        let mut store = self.on.job.location.open(self.on.job.lock_timeout)?;
        let mut beats = store.reopen()?;
        let mut evaluated = 0;
        let mut interrupted = false;
        loop {
            if self.on.job.stop.load(Ordering::SeqCst) {
                interrupted = true;
                break;
            }
            match self.ask(store.as_mut())? {
                Step::Done => break,
                Step::Wait => std::thread::sleep(poll),
                Step::Run(trial) => {
                    if self.evaluate(store.as_mut(), beats.as_mut(), *trial)? {
                        evaluated += 1;
                    } else {
                        interrupted = true;
                        break;
                    }
                }
            }
        }
        let state = store.read()?;
        let study = self.study_of(&state.trials, None)?;
        let anchor = PathBuf::from(self.on.job.location.to_string());
        let (mut lines, mut summary) = summarise(
            spec,
            &anchor,
            self.space,
            &self.scoring,
            &study,
            load_s,
            started.elapsed().as_secs_f64(),
        );
        summary["study"] = json!(self.on.job.location.to_string());
        let pending = study
            .trials()
            .iter()
            .filter(|t| t.status == Status::Pending)
            .count();
        if pending > 0 {
            lines.push(format!(
                "  {pending} trial(s) still pending (other workers, or handed out again after \
                 {heartbeat_s} s of silence)"
            ));
            summary["pending"] = json!(pending);
        }
        if interrupted {
            summary["interrupted"] = json!(true);
        }
        let all_failed = (!study.is_empty()
            && study.trials().iter().all(|t| t.status == Status::Failed))
        .then(|| {
            study.trials()[0]
                .reason
                .clone()
                .unwrap_or_else(|| "no reason given".into())
        });
        Ok(WorkerOutcome {
            lines,
            summary,
            interrupted,
            trials: study.len(),
            evaluated,
            all_failed,
        })
    }

    /// The study's trials with parsed architectures (all but `skip`).
    fn study_of(&self, trials: &[TrialLine], skip: Option<usize>) -> Result<Study<S::Arch>> {
        parse_study(self.space, &self.place, trials, skip, self.maximize)
    }

    /// One exclusive step on the store: join (or create) the study, take over a silent
    /// worker's trial, or propose a new one.
    fn ask(&self, store: &mut dyn Store) -> Result<Step> {
        let spec = self.on.job.spec;
        let heartbeat_s = spec.heartbeat_s();
        let max_retries = spec.max_retries();
        let budget = spec.budget();
        let seed = spec.seed();
        let mut step = Step::Wait;
        store.transact(&mut |state: &mut StudyState| {
            step = Step::Wait;
            self.join(state)?;
            let now = now();
            for t in state
                .trials
                .iter_mut()
                .filter(|t| t.status == Status::Pending)
            {
                let (silent, attempts) = match &t.lease {
                    None => (true, 0),
                    Some(l) => (
                        l.worker.is_empty() || now - l.heartbeat_at > heartbeat_s,
                        l.attempt,
                    ),
                };
                if !silent {
                    continue;
                }
                if attempts > max_retries {
                    t.status = Status::Failed;
                    t.finished_at = now;
                    t.reason = Some(format!(
                        "its worker{} stopped sending heartbeats for over {heartbeat_s} s, on \
                         each of {attempts} attempts (max-retries {max_retries})",
                        t.lease
                            .as_ref()
                            .map(|l| format!(" ({})", l.worker))
                            .unwrap_or_default()
                    ));
                    continue;
                }
                if matches!(step, Step::Wait) {
                    t.lease = Some(Lease {
                        worker: self.id.clone(),
                        heartbeat_at: now,
                        attempt: attempts + 1,
                    });
                    step = Step::Run(Box::new(t.clone()));
                }
            }
            if matches!(step, Step::Run(_)) {
                return Ok(());
            }
            let pending = state.trials.iter().any(|t| t.status == Status::Pending);
            let cost: f64 = state.trials.iter().map(|t| t.cost_s).sum();
            if budget.spent(state.trials.len(), cost) {
                step = if pending { Step::Wait } else { Step::Done };
                return Ok(());
            }
            let Some(trial) = self.propose(&state.trials, seed, now)? else {
                step = if pending { Step::Wait } else { Step::Done };
                return Ok(());
            };
            state.trials.push(trial.clone());
            step = Step::Run(Box::new(trial));
            Ok(())
        })?;
        Ok(step)
    }

    /// Creates the study with this worker's record, or checks that it is the study's own.
    fn join(&self, state: &mut StudyState) -> Result<()> {
        match &state.header {
            Some(recorded) => {
                let diff = differences(&self.record, recorded);
                if !diff.is_empty() {
                    return Err(usage(format!(
                        "{} is a study of another setting; this worker differs in {}. Start \
                         workers with the study's own settings, or use another study",
                        self.place,
                        diff.join("; ")
                    )));
                }
            }
            None if !state.trials.is_empty() => {
                return Err(usage(format!(
                    "{} holds trials but records no settings: it is not a study workers can \
                     share",
                    self.place
                )))
            }
            None => state.header = Some(self.record.clone()),
        }
        Ok(())
    }

    /// The strategy's next architecture given every trial so far, as a pending trial leased
    /// to this worker; `None` when the strategy has nothing left.
    fn propose(&self, trials: &[TrialLine], seed: u64, now: f64) -> Result<Option<TrialLine>> {
        let spec = self.on.job.spec;
        let mut strategy = make_strategy(
            spec.strategy(),
            spec,
            self.space,
            self.scoring.resolved.as_ref(),
        )?;
        let mut history = Vec::with_capacity(trials.len());
        for t in trials {
            let arch = self
                .space
                .parse_arch(&t.arch)
                .with_context(|| format!("{}: trial {}", self.place, t.trial))?;
            let obs = Observation::with_metrics(
                &t.with_arch(arch),
                self.maximize,
                &self.visible,
                &self.objective_name,
            );
            if !obs.pending {
                strategy.tell(self.space, &obs);
            }
            history.push(obs);
        }
        // One random stream per ask, from the study's seed and its length.
        let n = trials.len();
        let mut rng = ChaCha8Rng::seed_from_u64(eval_seed(seed, n) ^ 0x0005_EED0_FA5C);
        let Some(arch) = strategy.ask(self.space, &history, &mut rng)? else {
            return Ok(None);
        };
        let text = self.space.format_arch(&arch);
        if trials.iter().any(|t| t.arch == text) {
            bail!(
                "strategy `{}` proposed {text} a second time",
                spec.strategy().name()
            );
        }
        Ok(Some(Trial {
            trial: n,
            arch: text,
            status: Status::Pending,
            objective: None,
            reported: Default::default(),
            cost_s: 0.0,
            seed,
            eval_seed: eval_seed(seed, n),
            started_at: now,
            finished_at: 0.0,
            reason: None,
            feasible: None,
            hypervolume: None,
            clock: None,
            recommended: None,
            lease: Some(Lease {
                worker: self.id.clone(),
                heartbeat_at: now,
                attempt: 1,
            }),
        }))
    }

    /// Evaluates a leased trial, heartbeating meanwhile, and tells the store. Returns `false`
    /// when a stop request interrupted it (the trial is then released for the next ask).
    fn evaluate(
        &mut self,
        store: &mut dyn Store,
        beats: &mut dyn Store,
        leased: TrialLine,
    ) -> Result<bool> {
        let arch = self.space.parse_arch(&leased.arch)?;
        let heartbeat_s = self.on.job.spec.heartbeat_s();
        let every = Duration::from_secs_f64((heartbeat_s / 4.0).clamp(0.02, 15.0));
        let (trial, id) = (leased.trial, self.id.clone());
        let (done, wait) = mpsc::channel::<()>();
        let evaluator = &mut self.scoring.evaluator;
        let started_at = now();
        let outcome = std::thread::scope(|scope| {
            scope.spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(every) {
                    // A failed heartbeat (the database restarting) is tried again next time;
                    // the trial is only lost after `heartbeat-s` of them.
                    if let Ok(false) = beats.heartbeat(trial, &id, now()) {
                        break;
                    }
                }
            });
            let outcome = evaluator.evaluate_trial(&arch, trial, leased.eval_seed);
            drop(done);
            outcome
        });
        let finished_at = now();
        if self.on.job.stop.load(Ordering::SeqCst) && matches!(outcome, Evaluation::Failed { .. }) {
            self.release(store, trial)?;
            return Ok(false);
        }
        let mut told = leased.with_arch(arch);
        told.started_at = started_at;
        told.finished_at = finished_at;
        match outcome {
            Evaluation::Ok {
                objective,
                reported,
                cost_s,
            } => {
                told.status = Status::Ok;
                told.objective = Some(objective);
                told.reported = reported;
                told.cost_s = cost_s;
            }
            Evaluation::Failed { reason, cost_s } => {
                told.status = Status::Failed;
                told.reason = Some(reason);
                told.cost_s = cost_s;
            }
        }
        self.tell(store, told)?;
        Ok(true)
    }

    /// Records a finished trial, unless another worker finished it first (after this one was
    /// presumed dead): the first result stays.
    fn tell(&mut self, store: &mut dyn Store, mut told: Trial<S::Arch>) -> Result<()> {
        let mut news = None;
        store.transact(&mut |state: &mut StudyState| {
            news = None;
            let Some(current) = state.trials.get(told.trial) else {
                bail!("the study lost trial {}", told.trial);
            };
            if current.status != Status::Pending {
                return Ok(());
            }
            if let Some(annotator) = &mut self.annotator {
                let before = parse_study(
                    self.space,
                    &self.place,
                    &state.trials,
                    Some(told.trial),
                    self.maximize,
                )?;
                annotator.annotate(&mut told, &before);
            }
            if let Some(lease) = &mut told.lease {
                lease.worker = self.id.clone();
                lease.heartbeat_at = told.finished_at;
            }
            let line = told.with_arch(self.space.format_arch(&told.arch));
            state.trials[told.trial] = line;
            news = Some(news_of(self.maximize, &state.trials, told.trial));
            Ok(())
        })?;
        match news {
            Some(news) => self.on.reporter.trial(&news),
            None => self.on.reporter.note(&format!(
                "trial {} was finished by another worker meanwhile; its result stays",
                told.trial
            )),
        }
        Ok(())
    }

    /// Hands a trial back (Ctrl-C): the next ask takes it, without counting an attempt.
    fn release(&self, store: &mut dyn Store, trial: usize) -> Result<()> {
        let id = &self.id;
        store.transact(&mut |state: &mut StudyState| {
            if let Some(t) = state.trials.get_mut(trial) {
                if let Some(lease) = t
                    .lease
                    .as_mut()
                    .filter(|l| l.worker == *id && t.status == Status::Pending)
                {
                    lease.worker.clear();
                    lease.heartbeat_at = 0.0;
                    lease.attempt = lease.attempt.saturating_sub(1);
                }
            }
            Ok(())
        })
    }
}

/// What the reporter hears of trial `index`, just told.
fn news_of(maximize: bool, trials: &[TrialLine], index: usize) -> TrialNews {
    let t = &trials[index];
    let better = |a: f64, b: f64| if maximize { a > b } else { a < b };
    let mut best: Option<&TrialLine> = None;
    for c in trials
        .iter()
        .filter(|c| c.status == Status::Ok && c.objective.is_some() && c.feasible != Some(false))
    {
        if best.is_none_or(|b| better(c.objective.unwrap(), b.objective.unwrap())) {
            best = Some(c);
        }
    }
    TrialNews {
        trials: trials
            .iter()
            .filter(|c| c.status != Status::Pending)
            .count(),
        total_cost_s: trials.iter().map(|c| c.cost_s).sum(),
        status: t.status,
        objective: t.objective,
        reason: t.reason.clone(),
        seconds: t.finished_at - t.started_at,
        best: best.and_then(|b| b.objective),
        best_test: best.and_then(|b| b.reported.get("test_acc").copied()),
    }
}

/// Trials with parsed architectures (all but `skip`) as a study.
fn parse_study<S: StudySpace>(
    space: &S,
    place: &str,
    trials: &[TrialLine],
    skip: Option<usize>,
    maximize: bool,
) -> Result<Study<S::Arch>>
where
    S::Arch: 'static,
{
    let mut out = Vec::with_capacity(trials.len());
    for t in trials.iter().filter(|t| Some(t.trial) != skip) {
        let arch = space
            .parse_arch(&t.arch)
            .with_context(|| format!("{place}: trial {}", t.trial))?;
        out.push(t.with_arch(arch));
    }
    Ok(Study::from_trials(out, maximize))
}

/// This worker's name in leases: host, process and thread.
fn worker_id(index: usize) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let host = if host.is_empty() { "host".into() } else { host };
    format!("{host}:{}:{index}", std::process::id())
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Writes any study as a journal (the format `nasbo search` writes, the study's spec on its
/// first line), so every tool that reads journals reads a database study too. Returns the
/// number of trials written.
pub fn export(
    location: &StudyLocation,
    out: &Path,
    overwrite: bool,
    lock_timeout: Duration,
) -> Result<usize> {
    if location.journal() == Some(out) {
        return Err(usage("--out is the study itself: choose another file"));
    }
    let state = location.open(lock_timeout)?.read()?;
    let Some(header) = state.header else {
        bail!("{location} holds no study yet (its first worker creates it)");
    };
    if out.exists() && !overwrite {
        return Err(usage(format!(
            "{} exists: pass --overwrite to replace it",
            out.display()
        )));
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let lock = JournalLock::acquire(out, lock_timeout)?;
    Journal::rewrite_with_header(&lock, &header, &state.trials)?;
    Ok(state.trials.len())
}
