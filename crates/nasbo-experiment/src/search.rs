//! One search, recorded trial by trial in a journal that carries its spec: started afresh or
//! continued (after a check that the spec is the journal's own), stopped on request.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nasbo_core::JournalError;
use nasbo_search::moo::MoAnnotator;
use nasbo_search::{Journal, Observer, Runner, Status, Study, Trial};
use serde_json::json;

use crate::command::command_scoring;
use crate::registry::make_strategy;
use crate::scoring::Scoring;
use crate::space::{AnySpace, SpaceVisitor, StudySpace};
use crate::spec::{differences, usage, EvaluatorKind, StudySpec};

/// What a long piece of work tells its user while it runs (a binary draws bars or writes log
/// lines from it); every method has a silent default.
pub trait Reporter: Sync {
    /// A line of information (a resumed journal, a constraint's share of the space).
    fn note(&self, _line: &str) {}
    /// A search is about to run; `replayed` trials were already in its journal.
    fn started(&self, _replayed: usize) {}
    /// A search recorded a trial.
    fn trial(&self, _news: &TrialNews) {}
    /// A benchmark is about to run this many runs.
    fn runs(&self, _total: usize) {}
    /// A benchmark finished one of its runs (`label`: strategy and seed).
    fn run_done(&self, _label: &str) {}
}

/// A reporter that says nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {}

/// A trial just recorded, and where the study stands.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialNews {
    /// The trials in the study now.
    pub trials: usize,
    /// The study's total cost (simulated or real seconds).
    pub total_cost_s: f64,
    /// The trial's status.
    pub status: Status,
    /// Its objective.
    pub objective: Option<f64>,
    /// Why it failed.
    pub reason: Option<String>,
    /// The seconds it took.
    pub seconds: f64,
    /// The best objective so far.
    pub best: Option<f64>,
    /// The best trial's reported test accuracy, if it reports one.
    pub best_test: Option<f64>,
}

struct Relay<'r>(&'r dyn Reporter);

impl<A: Clone> Observer<A> for Relay<'_> {
    fn on_trial(&mut self, trial: &Trial<A>, study: &Study<A>) {
        let best = study.best();
        self.0.trial(&TrialNews {
            trials: study.len(),
            total_cost_s: study.total_cost_s(),
            status: trial.status,
            objective: trial.objective,
            reason: trial.reason.clone(),
            seconds: trial.finished_at - trial.started_at,
            best: best.and_then(|b| b.objective),
            best_test: best.and_then(|b| b.reported.get("test_acc").copied()),
        });
    }
}

/// One search to run.
#[derive(Debug, Clone)]
pub struct SearchJob<'a> {
    /// What to search.
    pub spec: &'a StudySpec,
    /// The journal.
    pub journal: &'a Path,
    /// Continue the journal (its spec must be this one, the budget aside).
    pub resume: bool,
    /// Replace the journal if it exists.
    pub overwrite: bool,
    /// The data folder that datasets are looked for in when the spec names none.
    pub data: Option<&'a Path>,
    /// Set to stop after the trial that is running.
    pub stop: Arc<AtomicBool>,
    /// How long to wait for another process that writes the journal.
    pub lock_timeout: Duration,
}

/// How a search ended.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    /// The summary lines for people.
    pub lines: Vec<String>,
    /// The summary as one JSON object.
    pub summary: serde_json::Value,
    /// Whether it was stopped before its budget was spent.
    pub interrupted: bool,
    /// Trials in the study.
    pub trials: usize,
    /// When every trial failed: the first one's reason.
    pub all_failed: Option<String>,
}

/// Runs a search.
pub fn search(job: &SearchJob<'_>, reporter: &dyn Reporter) -> Result<SearchOutcome> {
    AnySpace::from_spec(job.spec)?.visit(SearchOn { job, reporter })
}

struct SearchOn<'a, 'j> {
    job: &'a SearchJob<'j>,
    reporter: &'a dyn Reporter,
}

impl SpaceVisitor for SearchOn<'_, '_> {
    type Output = Result<SearchOutcome>;

    fn visit<S: StudySpace>(self, space: S) -> Result<SearchOutcome>
    where
        S::Arch: 'static,
    {
        let loading = Instant::now();
        let scoring = scoring_of(
            &space,
            self.job.spec,
            self.job.journal,
            self.job.data,
            &self.job.stop,
        )?;
        let load_s = loading.elapsed().as_secs_f64();
        let note = |line: &str| self.reporter.note(line);
        let filtered = match &scoring.resolved {
            Some(r) => r.filtered(&space, &note)?,
            None => None,
        };
        match filtered {
            Some(filtered) => search_in(self.job, self.reporter, &filtered, scoring, load_s),
            None => search_in(self.job, self.reporter, &space, scoring, load_s),
        }
    }
}

/// What scores the architectures of a study: its command (with trial folders beside
/// `journal`), its table or its training.
pub(crate) fn scoring_of<S: StudySpace>(
    space: &S,
    spec: &StudySpec,
    journal: &Path,
    data: Option<&Path>,
    stop: &Arc<AtomicBool>,
) -> Result<Scoring<S::Arch>>
where
    S::Arch: 'static,
{
    match spec.evaluator() {
        EvaluatorKind::Command => {
            let own = space.clone();
            command_scoring(spec, journal, stop.clone(), move |a| own.format_arch(a))
        }
        EvaluatorKind::Train => space.trained_at(spec, data, journal),
        _ => space.scoring(spec, data),
    }
}

fn search_in<S: StudySpace>(
    job: &SearchJob<'_>,
    reporter: &dyn Reporter,
    space: &S,
    mut scoring: Scoring<S::Arch>,
    load_s: f64,
) -> Result<SearchOutcome>
where
    S::Arch: 'static,
{
    let spec = job.spec;
    let budget = spec.budget();
    let mut strategy = make_strategy(spec.strategy(), spec, space, scoring.resolved.as_ref())?;
    let objective_name = scoring.evaluator.objective_name().to_string();
    let mut runner = Runner::new(space, budget, spec.seed(), scoring.evaluator.maximize())?;
    if let Some(resolved) = &scoring.resolved {
        let mut annotator = MoAnnotator::new(
            resolved.set.clone(),
            &objective_name,
            resolved.reference.clone(),
        );
        if let Some((_, known)) = resolved.known.clone() {
            annotator = annotator.with_known(Box::new(move |a| known(a)));
        }
        runner = runner
            .show_metrics(resolved.set.metric_names())
            .annotate_with(annotator);
    }
    let record = spec.record();
    let runner = if job.resume {
        let (journal, lines) = Journal::resume_locked(job.journal, job.lock_timeout)
            .context("cannot resume: it needs the journal of an earlier run")?;
        if let Some(recorded) = journal.header() {
            let diff = differences(&record, recorded);
            if !diff.is_empty() {
                return Err(usage(format!(
                    "cannot resume {}: it records a search of another setting; this run differs \
                     in {}. Resume with the journal's own settings, or choose another journal",
                    job.journal.display(),
                    diff.join("; ")
                )));
            }
        }
        reporter.note(&format!(
            "resuming {}: {} finished trial(s) kept",
            job.journal.display(),
            lines.len()
        ));
        runner.resume_from(journal, lines)?
    } else {
        let mut journal = Journal::create_locked(job.journal, job.overwrite, job.lock_timeout)?;
        // The first trial's line records what this search is, for a resume to compare.
        journal.set_header(record)?;
        // A new search continues none of an earlier one's networks.
        let rungs = crate::space::rung_checkpoints(job.journal);
        if rungs.is_dir() {
            std::fs::remove_dir_all(&rungs)
                .with_context(|| format!("cannot clear {}", rungs.display()))?;
        }
        runner.with_journal(journal)
    };
    reporter.started(runner.study().len());
    let started = Instant::now();
    let study = runner
        .observe(Relay(reporter))
        .stop_on(job.stop.clone())
        .run(strategy.as_mut(), scoring.evaluator.as_mut())?;
    let wall_s = started.elapsed().as_secs_f64();
    let interrupted = job.stop.load(Ordering::SeqCst);
    let (mut lines, mut summary) =
        summarise(spec, job.journal, space, &scoring, &study, load_s, wall_s);
    if interrupted {
        summary["interrupted"] = json!(true);
    }
    if let Some(resolved) = scoring.resolved.as_ref().filter(|r| r.set.is_multi()) {
        let (front_lines, front) =
            crate::front::write_front(job.journal, space, resolved, &objective_name, &study)?;
        lines.extend(front_lines);
        summary["front"] = front;
    }
    let all_failed = (!study.is_empty()
        && study.trials().iter().all(|t| t.status == Status::Failed))
    .then(|| {
        study.trials()[0]
            .reason
            .clone()
            .unwrap_or_else(|| "no reason given".into())
    });
    Ok(SearchOutcome {
        lines,
        summary,
        interrupted,
        trials: study.len(),
        all_failed,
    })
}

/// The summary of a finished search: lines for people and one JSON object, both in the words
/// of the table searched (its own column names) or of the training.
pub(crate) fn summarise<S: StudySpace>(
    spec: &StudySpec,
    journal: &Path,
    space: &S,
    scoring: &Scoring<S::Arch>,
    study: &Study<S::Arch>,
    load_s: f64,
    wall_s: f64,
) -> (Vec<String>, serde_json::Value)
where
    S::Arch: 'static,
{
    let failed = study
        .trials()
        .iter()
        .filter(|t| t.status == Status::Failed)
        .count();
    let strategy = spec.strategy().name();
    let seed = spec.seed();
    let mut lines = vec![
        format!(
            "nasbo search: {strategy} on {} ({}), seed {seed}",
            scoring.header,
            space.name()
        ),
        format!("  {}", scoring.protocol),
    ];
    let cost = if scoring.optimum.is_some() {
        format!("{:.0} simulated training seconds", study.total_cost_s())
    } else {
        format!("{:.0} s of evaluation", study.total_cost_s())
    };
    lines.push(format!(
        "  {} trial(s), {failed} failed, {cost}; loaded in {load_s:.2} s, search took {wall_s:.2} s",
        study.len(),
    ));
    let mut summary = json!({
        "strategy": strategy,
        "space": space.name(),
        "seed": seed,
        "trials": study.len(),
        "failed": failed,
    });
    let Some(best) = study.best() else {
        lines.push("  no trial succeeded".into());
        return (lines, summary);
    };
    let report = best
        .reported
        .get(&scoring.reported_key)
        .copied()
        .unwrap_or(f64::NAN);
    let extra = space
        .describe(&best.arch)
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    lines.push(format!(
        "  best architecture: {}{extra}",
        space.format_arch(&best.arch)
    ));
    lines.push(format!(
        "    {} {:.4}, {} {report:.4}",
        scoring.evaluator.objective_name(),
        best.objective.unwrap_or(f64::NAN),
        scoring.reported_key
    ));
    summary["best_arch"] = json!(space.format_arch(&best.arch));
    summary["cost_s"] = json!(study.total_cost_s());
    // Name what was searched: a declared space's table, else the dataset.
    match (&spec.space_file, &spec.benchmark, &spec.command) {
        (_, _, Some(command)) => summary["command"] = json!(command),
        (Some(_), Some(table), _) => summary["table"] = json!(table.display().to_string()),
        _ => summary["dataset"] = json!(spec.dataset()),
    }
    summary["nasbo"] = json!(crate::VERSION);
    summary[format!("best_{}", scoring.evaluator.objective_name())] = json!(best.objective);
    summary[format!("best_{}", scoring.reported_key)] = json!(report);
    let regret_key = match scoring.reported_key.strip_suffix("_acc") {
        Some(split) => format!("{split}_regret"),
        None => format!("{}_regret", scoring.reported_key),
    };
    if let Some(opt) = &scoring.optimum {
        lines.push(format!(
            "    {} {:.4} (table optimum: {} {:.4} by {}; the best-objective architecture {} has {:.4})",
            regret_key.replace('_', " "),
            opt.regret(report),
            scoring.reported_key,
            opt.best_report,
            opt.best_report_arch,
            opt.best_objective_arch,
            opt.best_objective_report,
        ));
        summary[regret_key] = json!(opt.regret(report));
    }
    if let Some((early_lines, early)) = early_stopping(space, study) {
        lines.extend(early_lines);
        summary["early_stopping"] = early;
    }
    lines.push(format!("  journal: {}", journal.display()));
    (lines, summary)
}

/// On a ladder of fidelities: how many architectures reached the top level and which were
/// stopped early, with the level (epochs) each got and its objective there.
fn early_stopping<S: StudySpace>(
    space: &S,
    study: &Study<S::Arch>,
) -> Option<(Vec<String>, serde_json::Value)>
where
    S::Arch: 'static,
{
    use std::collections::BTreeMap;
    // Each architecture's highest finished level, in the order they were first evaluated.
    let mut order: Vec<String> = Vec::new();
    let mut reached: BTreeMap<String, (u32, Option<f64>)> = BTreeMap::new();
    let mut top = None;
    for t in study.trials().iter().filter(|t| t.status == Status::Ok) {
        let (inner, level, top_level) = space.fidelity(&t.arch)?;
        top = Some(top_level);
        match reached.get_mut(&inner) {
            Some(r) if r.0 >= level => {}
            Some(r) => *r = (level, t.objective),
            None => {
                order.push(inner.clone());
                reached.insert(inner, (level, t.objective));
            }
        }
    }
    let top = top?;
    let full = reached.values().filter(|r| r.0 == top).count();
    let stopped: Vec<(&String, u32, Option<f64>)> = order
        .iter()
        .filter_map(|a| {
            let (level, objective) = reached[a];
            (level < top).then_some((a, level, objective))
        })
        .collect();
    let mut by_level: BTreeMap<u32, usize> = BTreeMap::new();
    for (_, level, _) in &stopped {
        *by_level.entry(*level).or_default() += 1;
    }
    let after: Vec<String> = by_level
        .iter()
        .map(|(level, n)| format!("{n} after {level}"))
        .collect();
    let lines = vec![format!(
        "  early stopping: {} architecture(s) evaluated, {full} taken to the top level ({top}), \
         {} stopped early ({})",
        reached.len(),
        stopped.len(),
        if after.is_empty() {
            "none".into()
        } else {
            after.join(", ")
        }
    )];
    let json = json!({
        "architectures": reached.len(),
        "full": full,
        "top_level": top,
        "stopped_early": stopped
            .iter()
            .map(|(arch, level, objective)| json!({
                "arch": arch,
                "level": level,
                "objective": objective,
            }))
            .collect::<Vec<_>>(),
    });
    Some((lines, json))
}

/// Whether an error is a journal that exists (the binary suggests how to continue it).
pub fn is_existing_journal(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<JournalError>(),
        Some(JournalError::Exists { .. })
    )
}
