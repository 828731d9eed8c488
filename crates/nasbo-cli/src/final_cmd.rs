//! Step 4 of the workflow, after `nasbo search --evaluator train`: retrain the best
//! architectures for longer (`--final-epochs E --final-top K`) and report their test accuracy.
//!
//! Each retraining is exactly `nasbo train` with the search's space, data and network settings
//! and E epochs, in `<journal>.final/<rank>/` (checkpoint, weights, `report.json`); a killed
//! retraining continues from its checkpoint when the same command runs again, and a finished
//! one is read back. The results go to `<journal>.final.json`, never into the journal: they
//! are not search trials.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nasbo_core::journal::read_lines;
use nasbo_core::Status;
use nasbo_experiment::spec::usage;
use nasbo_experiment::{EvaluatorKind, StudySpec};
use serde::Serialize;
use serde_json::Value;

use crate::train_cmd::{self, TrainArgs};

/// One retrained architecture.
#[derive(Debug, Clone, Serialize)]
pub struct FinalRecord {
    /// 1 for the search's best.
    pub rank: usize,
    /// The search trial it comes from.
    pub trial: usize,
    /// The architecture.
    pub arch: String,
    /// Its objective in the search (validation accuracy after the search's epochs).
    pub search_objective: f64,
    /// Epochs of the retraining.
    pub epochs: usize,
    /// Validation accuracy after the retraining.
    pub valid_acc: f64,
    /// Test accuracy after the retraining.
    pub test_acc: f64,
    /// Seconds the retraining's epochs took.
    pub train_s: f64,
    /// The retraining's folder (`report.json`, `model.bpk`, `checkpoint/`).
    pub dir: PathBuf,
}

/// `<journal>.final` (the folders) and `<journal>.final.json` (the records).
pub fn paths(journal: &Path) -> (PathBuf, PathBuf) {
    let mut dir = journal.as_os_str().to_owned();
    dir.push(".final");
    let mut file = dir.clone();
    file.push(".json");
    (PathBuf::from(dir), PathBuf::from(file))
}

/// Checks `--final-epochs` and `--final-top` before the search starts: they need the training
/// evaluator and one objective.
pub fn check(spec: &StudySpec, epochs: Option<usize>, top: usize) -> Result<()> {
    let Some(epochs) = epochs else {
        return Ok(());
    };
    if spec.evaluator() != EvaluatorKind::Train {
        return Err(usage(
            "--final-epochs retrains with nasbo's trainer: it needs --evaluator train (with your \
             own trainer, retrain the best trial of the journal yourself)",
        ));
    }
    if spec.objective.len() > 1 {
        return Err(usage(
            "--final-epochs retrains the best trials by the objective: with several objectives, \
             pick architectures from the Pareto front and retrain them with `nasbo train`",
        ));
    }
    if epochs == 0 || top == 0 {
        return Err(usage(format!(
            "--final-epochs and --final-top must be at least 1 (got {epochs} and {top})"
        )));
    }
    Ok(())
}

/// Retrains the `top` best finished trials of `journal` for `epochs` epochs each.
pub fn retrain(
    spec: &StudySpec,
    journal: &Path,
    epochs: usize,
    top: usize,
    quiet: bool,
) -> Result<Vec<FinalRecord>> {
    let (trials, _) = read_lines::<String>(journal)?;
    let mut ok: Vec<_> = trials
        .iter()
        .filter(|t| t.status == Status::Ok && t.objective.is_some_and(f64::is_finite))
        .collect();
    // Under early stopping (`fidelities`) an architecture is `ARCH@EPOCHS`: a longer training
    // outranks a shorter one, whatever their accuracies, and each architecture counts once, at
    // its highest level.
    let ladder = !spec.fidelities.is_empty();
    let level = |arch: &str| -> u32 {
        match arch.rsplit_once('@') {
            Some((_, l)) if ladder => l.parse().unwrap_or(0),
            _ => 0,
        }
    };
    let inner = |arch: &str| -> String {
        match arch.rsplit_once('@') {
            Some((a, _)) if ladder => a.to_string(),
            _ => arch.to_string(),
        }
    };
    // Validation accuracy is maximised; ties go to the earlier trial.
    ok.sort_by(|a, b| {
        level(&b.arch)
            .cmp(&level(&a.arch))
            .then(
                b.objective
                    .unwrap_or(f64::NAN)
                    .total_cmp(&a.objective.unwrap_or(f64::NAN)),
            )
            .then(a.trial.cmp(&b.trial))
    });
    let mut seen = std::collections::HashSet::new();
    ok.retain(|t| seen.insert(inner(&t.arch)));
    // The strategy's recommendation (BO's posterior-best under `incumbent = "posterior"`) is
    // the search's incumbent: it comes first.
    let last = trials.iter().max_by_key(|t| t.trial);
    if let Some(r) = last.and_then(|t| t.recommended) {
        if let Some(at) = ok.iter().position(|t| t.trial == r) {
            let incumbent = ok.remove(at);
            ok.insert(0, incumbent);
        }
    }
    let (root, file) = paths(journal);
    let train = spec.train_settings();
    let dataset = spec
        .dataset()
        .parse()
        .map_err(|e| usage(format!("--dataset: {e}")))?;
    let mut records = Vec::new();
    for (i, t) in ok.iter().take(top).enumerate() {
        let rank = i + 1;
        let dir = root.join(rank.to_string());
        let report_path = dir.join("report.json");
        let done = report_path.is_file() && same_run(&report_path, &inner(&t.arch), epochs);
        if !done && report_path.is_file() {
            // A finished retraining of another architecture (an earlier search's best).
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        if !done {
            if !quiet {
                eprintln!(
                    "retraining #{rank} of {} (trial {}, {:.2} in the search) for {epochs} \
                     epoch(s) in {}",
                    top.min(ok.len()),
                    t.trial,
                    t.objective.unwrap_or(f64::NAN),
                    dir.display()
                );
            }
            let args = TrainArgs {
                arch: inner(&t.arch),
                space: if spec.space_file.is_some() {
                    None
                } else {
                    spec.space
                },
                space_file: spec.space_file.clone(),
                dataset,
                data_dir: train.data_dir.clone(),
                channels: train.channels.expect("defaulted"),
                cells: train.cells.expect("defaulted"),
                epochs,
                batch_size: train.batch_size.expect("defaulted"),
                seed: spec.seed(),
                device: train.device.expect("defaulted"),
                out: dir.clone(),
                resume: dir.join("checkpoint").is_dir(),
                train_limit: train.train_limit,
                eval_limit: train.eval_limit,
                max_hours: 12.0,
                quiet,
                json: false,
                no_result_line: true,
            };
            train_cmd::run(args)
                .with_context(|| format!("retraining #{rank} ({}) failed", t.arch))?;
        }
        let report: Value = serde_json::from_str(
            &std::fs::read_to_string(&report_path)
                .with_context(|| format!("cannot read {}", report_path.display()))?,
        )
        .with_context(|| format!("{} is not a training report", report_path.display()))?;
        let number = |key: &str| report[key].as_f64().unwrap_or(f64::NAN);
        records.push(FinalRecord {
            rank,
            trial: t.trial,
            arch: t.arch.clone(),
            search_objective: t.objective.unwrap_or(f64::NAN),
            epochs,
            valid_acc: number("valid_acc"),
            test_acc: number("test_acc"),
            train_s: number("train_s"),
            dir,
        });
    }
    let text = serde_json::to_string_pretty(&serde_json::json!({
        "journal": journal,
        "epochs": epochs,
        "top": top,
        "nasbo": nasbo_experiment::VERSION,
        "retrained": records,
    }))
    .expect("records serialise");
    std::fs::write(&file, text + "\n")
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok(records)
}

/// Whether the finished report in a retraining folder is of this architecture and epochs (a
/// later search may rank another architecture first).
fn same_run(report: &Path, arch: &str, epochs: usize) -> bool {
    std::fs::read_to_string(report)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|r| {
            r["arch"].as_str() == Some(arch) && r["train"]["epochs"].as_u64() == Some(epochs as u64)
        })
}

/// The retrained architectures as lines for people.
pub fn lines(records: &[FinalRecord], file: &Path) -> Vec<String> {
    let mut out = vec![format!(
        "retrained the best {} for {} epoch(s) ({}):",
        records.len(),
        records.first().map_or(0, |r| r.epochs),
        file.display()
    )];
    for r in records {
        out.push(format!(
            "  #{} trial {}: search {:.2} → validation {:.2}, test {:.2} ({:.0} s) {}",
            r.rank, r.trial, r.search_objective, r.valid_acc, r.test_acc, r.train_s, r.arch
        ));
    }
    out
}
