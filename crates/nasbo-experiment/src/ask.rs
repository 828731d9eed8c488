//! Ask and tell: a study evaluated by a trainer nasbo does not run (a PyTorch script, a cluster
//! job). The study is the JSONL journal `search` writes, its first line carrying the spec;
//! asked trials are `pending` until told, and enter the model at its own prediction meanwhile.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nasbo_core::journal::{read_journal, JournalLock, TrialLine};
use nasbo_core::nb201::Cell;
use nasbo_search::runner::eval_seed;
use nasbo_search::{Journal, Observation, Status, Trial};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::registry::make_strategy;
use crate::space::{AnySpace, SpaceVisitor, StudySpace};
use crate::spec::{differences, usage, EvaluatorKind, StudySpec};

/// The trials and recorded spec of a study (none for a study not yet created).
fn load(study: &Path) -> Result<(Vec<TrialLine>, Option<serde_json::Value>)> {
    if !study.exists() {
        return Ok((Vec::new(), None));
    }
    let contents = read_journal::<String>(study)?;
    Ok((contents.trials, contents.header))
}

/// The spec an ask records: the evaluator is the asker's own.
fn ask_record(spec: &StudySpec) -> serde_json::Value {
    StudySpec {
        evaluator: Some(EvaluatorKind::External),
        ..spec.clone()
    }
    .record()
}

/// Proposes the next architecture of the study at `study` (created with `spec` if it does not
/// exist; otherwise `spec` must be the study's own, or the ask is refused with what differs),
/// records it as pending and returns `{"trial", "arch", "seed"}` (and `index` for NB201 cells,
/// `about` where the space describes it). With `reask`, the oldest pending trial is handed out
/// again instead, for a worker that died.
pub fn ask(
    study: &Path,
    spec: &StudySpec,
    reask: bool,
    lock_timeout: Duration,
) -> Result<serde_json::Value> {
    if spec.objective.len() > 1 || !spec.constraint.is_empty() {
        return Err(usage(
            "ask and tell search on the one objective told; several objectives or constraints \
             need `search` with a table or the training evaluator",
        ));
    }
    AnySpace::from_spec(spec)?.visit(AskOn {
        study,
        spec,
        reask,
        lock_timeout,
    })
}

struct AskOn<'a> {
    study: &'a Path,
    spec: &'a StudySpec,
    reask: bool,
    lock_timeout: Duration,
}

impl SpaceVisitor for AskOn<'_> {
    type Output = Result<serde_json::Value>;

    fn visit<S: StudySpace>(self, space: S) -> Result<serde_json::Value>
    where
        S::Arch: 'static,
    {
        let AskOn {
            study,
            spec,
            reask,
            lock_timeout,
        } = self;
        let record = ask_record(spec);
        let seed = spec.seed();
        let lock = JournalLock::acquire(study, lock_timeout)?;
        let (mut lines, recorded) = load(study)?;
        match &recorded {
            Some(recorded) => {
                let diff = differences(&record, recorded);
                if !diff.is_empty() {
                    return Err(usage(format!(
                        "{} is a study of another setting; this ask differs in {}. Ask with the \
                         study's own settings, or start another study",
                        study.display(),
                        diff.join("; ")
                    )));
                }
            }
            None => {
                if let Some(t) = lines.iter().find(|t| t.seed != seed) {
                    return Err(usage(format!(
                        "{}: trial {} was asked with seed {}, not {seed}",
                        study.display(),
                        t.trial,
                        t.seed,
                    )));
                }
            }
        }
        if reask {
            if let Some(t) = lines.iter().find(|t| t.status == Status::Pending) {
                return Ok(
                    json!({"trial": t.trial, "arch": t.arch, "seed": t.eval_seed, "reasked": true}),
                );
            }
        }
        let mut strategy = make_strategy(spec.strategy(), spec, &space, None)?;
        let mut history = Vec::with_capacity(lines.len());
        for t in &lines {
            let arch = space
                .parse_arch(&t.arch)
                .with_context(|| format!("{}: trial {}", study.display(), t.trial))?;
            let obs = Observation::of(&t.with_arch(arch), true);
            if !obs.pending {
                strategy.tell(&space, &obs);
            }
            history.push(obs);
        }
        // One random stream per ask, derived from the study's seed and its length.
        let mut rng = ChaCha8Rng::seed_from_u64(eval_seed(seed, lines.len()) ^ 0xA5A5_5A5A);
        let Some(arch) = strategy.ask(&space, &history, &mut rng)? else {
            bail!("the space is exhausted: every architecture has been asked");
        };
        let trial = Trial {
            trial: lines.len(),
            arch: space.format_arch(&arch),
            status: Status::Pending,
            objective: None,
            reported: BTreeMap::new(),
            cost_s: 0.0,
            seed,
            eval_seed: eval_seed(seed, lines.len()),
            started_at: now(),
            finished_at: 0.0,
            reason: None,
            feasible: None,
            hypervolume: None,
            clock: None,
            recommended: None,
            lease: None,
        };
        lines.push(trial.clone());
        // The study keeps the spec it was created with (a newer nasbo's record differs only
        // in what it does not compare).
        Journal::rewrite_with_header(&lock, recorded.as_ref().unwrap_or(&record), &lines)?;
        let mut answer = json!({"trial": trial.trial, "arch": trial.arch, "seed": trial.eval_seed});
        if let Some(about) = space.describe(&arch) {
            answer["about"] = about.into();
        }
        if let Ok(cell) = trial.arch.parse::<Cell>() {
            answer["index"] = cell.official_index().into();
        }
        Ok(answer)
    }
}

/// What a trainer tells of one asked trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Tell {
    /// The trial number `ask` gave.
    pub trial: usize,
    /// The value searched on, or why the evaluation failed.
    pub outcome: std::result::Result<f64, String>,
    /// Values reported but never searched on.
    pub reported: BTreeMap<String, f64>,
    /// What the evaluation cost, in seconds.
    pub cost_s: f64,
}

impl Tell {
    /// Checks that a journal can hold what is told: finite numbers, a cost of at least 0.
    pub fn validate(&self) -> Result<()> {
        if let Some(v) = self.outcome.as_ref().ok().filter(|v| !v.is_finite()) {
            return Err(usage(format!(
                "the `objective` must be a finite number, got {v}"
            )));
        }
        if !(self.cost_s.is_finite() && self.cost_s >= 0.0) {
            return Err(usage(format!(
                "the `cost-s` must be a finite number of seconds, at least 0, got {}",
                self.cost_s
            )));
        }
        if let Some((k, v)) = self.reported.iter().find(|(_, v)| !v.is_finite()) {
            return Err(usage(format!(
                "every `reported` value must be a finite number, got {k} = {v}"
            )));
        }
        Ok(())
    }
}

/// Records the result of a pending trial (under the study's lock; the journal refuses a number
/// that is not finite or a negative cost before anything is written).
pub fn tell(study: &Path, told: &Tell, lock_timeout: Duration) -> Result<()> {
    told.validate()?;
    let lock = JournalLock::acquire(study, lock_timeout)?;
    if !study.exists() {
        return Err(usage(format!(
            "{} does not exist: a study is created by its first ask",
            study.display()
        )));
    }
    let (mut lines, header) = load(study)?;
    let n = lines.len();
    let Some(trial) = lines.get_mut(told.trial) else {
        return Err(usage(format!(
            "{} has {n} trial(s) (0..{}); there is no trial {}",
            study.display(),
            n.saturating_sub(1),
            told.trial
        )));
    };
    if trial.status != Status::Pending {
        let status = if trial.status == Status::Ok {
            "finished"
        } else {
            "failed"
        };
        return Err(usage(format!(
            "trial {} is already {status}: only pending trials can be told",
            told.trial
        )));
    }
    match &told.outcome {
        Err(reason) => {
            trial.status = Status::Failed;
            trial.reason = Some(reason.clone());
        }
        Ok(v) => {
            trial.status = Status::Ok;
            trial.objective = Some(*v);
        }
    }
    trial.reported = told.reported.clone();
    trial.cost_s = told.cost_s;
    trial.finished_at = now();
    match header {
        Some(header) => Journal::rewrite_with_header(&lock, &header, &lines)?,
        None => Journal::rewrite_locked(&lock, &lines)?,
    }
    Ok(())
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
