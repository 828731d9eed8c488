//! What scores the architectures of one search and how its summary speaks of them: a table
//! (with its optimum, for regret) or a real training run.

use std::path::Path;

use anyhow::Result;
use nasbo_core::fidelity::Rung;
use nasbo_core::{Evaluator, SearchSpace};
use nasbo_train::data::{self, DatasetName, SplitConfig};
use nasbo_train::{ContinuedTraining, LatencyConfig, TrainConfig, TrainEvalConfig, TrainEvaluator};

use crate::objectives::{self, Resolved};
use crate::spec::{StudySpec, TrainSpec};
use crate::tables::TableSetup;

/// Seed of the train/validation split: fixed, so every trial and run sees the same split.
pub const SPLIT_SEED: u64 = 0;
/// Fraction of the official training images held out for validation.
pub const VALID_FRACTION: f64 = 0.2;

/// What scores architectures in one search, and how to speak of it in the summary.
pub struct Scoring<A> {
    /// The evaluator.
    pub evaluator: Box<dyn Evaluator<A>>,
    /// What the search runs on (`NAS-Bench-201 cifar10`, `training every cell on digits`).
    pub header: String,
    /// Which values are searched on and which only reported.
    pub protocol: String,
    /// The key of the main reported value in `Trial::reported` (`test_acc`).
    pub reported_key: String,
    /// The table's optimum, where the evaluator is a complete table.
    pub optimum: Option<TableOptimum>,
    /// The objectives and constraints, where the search has more than the default objective.
    pub resolved: Option<Resolved<A>>,
}

impl<A> std::fmt::Debug for Scoring<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scoring")
            .field("header", &self.header)
            .field("protocol", &self.protocol)
            .field("optimum", &self.optimum)
            .finish_non_exhaustive()
    }
}

/// The best a table has, for regret.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOptimum {
    /// The best reported value in the table (test accuracy).
    pub best_report: f64,
    /// The architecture that has it.
    pub best_report_arch: String,
    /// The architecture with the best searched-on value.
    pub best_objective_arch: String,
    /// Its reported value.
    pub best_objective_report: f64,
    /// Whether a larger reported value is better.
    pub maximize: bool,
}

impl TableOptimum {
    /// How far a reported value is from the table's best (≥ 0).
    pub fn regret(&self, report: f64) -> f64 {
        if self.maximize {
            self.best_report - report
        } else {
            report - self.best_report
        }
    }
}

impl<S: SearchSpace> TableSetup<S>
where
    S::Arch: 'static,
{
    /// The scoring of one search on this table.
    pub fn scoring(self) -> Scoring<S::Arch> {
        let optimum = TableOptimum {
            best_report: self.reference,
            best_report_arch: self.reference_arch.clone(),
            best_objective_arch: self.space.format_arch(&self.target),
            best_objective_report: self.target_values.1,
            maximize: self.maximize,
        };
        Scoring {
            evaluator: (self.evaluator)(),
            header: self.header,
            protocol: self.protocol,
            reported_key: self.reported_key,
            optimum: Some(optimum),
            resolved: self.resolved,
        }
    }
}

/// The scoring of the training evaluator for any architecture the trainer can build: every
/// candidate (`what`: cell, genotype) is trained on the spec's dataset.
pub fn train_scoring<A: 'static>(
    spec: &StudySpec,
    data: Option<&Path>,
    what: &str,
    evaluator: impl FnOnce(TrainEvaluator) -> Result<Box<dyn Evaluator<A>>>,
) -> Result<Scoring<A>> {
    let dataset = spec.dataset();
    let train = spec.train_settings();
    Ok(Scoring {
        evaluator: evaluator(train_evaluator(&train, dataset, data)?)?,
        header: format!("training every {what} on {dataset}"),
        protocol: match train.eval_limit {
            Some(n) => format!(
                "searched on validation accuracy ({n} of the 20% of the training images held \
                 out); reported test accuracy ({n} test images)"
            ),
            None => "searched on validation accuracy (20% of the training images held out); \
                     reported test accuracy (test set)"
                .into(),
        },
        reported_key: "test_acc".into(),
        optimum: None,
        resolved: objectives::measured(spec)?,
    })
}

/// The scoring of early-stopped trainings: every architecture trained rung by rung of the
/// spec's `fidelities` (epochs) by a [`ContinuedTraining`] whose checkpoints live in `dir`;
/// `evaluator` adapts it to the space's architectures.
pub fn continued_scoring<A: 'static>(
    spec: &StudySpec,
    data: Option<&Path>,
    what: &str,
    dir: &Path,
    evaluator: impl FnOnce(ContinuedTraining) -> Result<Box<dyn Evaluator<Rung<A>>>>,
) -> Result<Scoring<Rung<A>>> {
    let levels = spec.fidelities.clone();
    let scoring = train_scoring(spec, data, what, |e| {
        let continued = ContinuedTraining::new(e, levels.clone(), dir)?;
        evaluator(continued)
    })?;
    let levels: Vec<String> = levels.iter().map(u32::to_string).collect();
    Ok(Scoring {
        header: format!(
            "{}, stopped early after {} epoch(s) unless promoted (successive halving)",
            scoring.header,
            levels[..levels.len() - 1].join(" or ")
        ),
        resolved: None,
        ..scoring
    })
}

/// An evaluator that trains every proposed architecture on `dataset` (objective: validation
/// accuracy in percent; `test_acc` only reported). The split is fixed; a trial's seed sets its
/// weights and batches. The data is looked for in `train.data_dir` if set (and only there),
/// else under `data` (the binary's `NASBO_DATA`), else where the system keeps it.
// `..SplitConfig::default()` keeps this compiling when the split gains settings.
#[allow(clippy::needless_update)]
pub fn train_evaluator(
    train: &TrainSpec,
    dataset: &str,
    data: Option<&Path>,
) -> Result<TrainEvaluator> {
    let train = train.clone().with_defaults();
    let name: DatasetName = dataset.parse()?;
    let ds = data::load_with(name, train.data_dir.as_deref(), data)?;
    let splits = ds.split(&SplitConfig {
        valid_fraction: VALID_FRACTION,
        train_limit: train.train_limit,
        valid_limit: train.eval_limit,
        test_limit: train.eval_limit,
        seed: SPLIT_SEED,
        ..SplitConfig::default()
    })?;
    let config = TrainEvalConfig {
        channels: train.channels.expect("defaulted"),
        cells_per_stage: train.cells.expect("defaulted"),
        train: TrainConfig {
            epochs: train.epochs.expect("defaulted"),
            batch_size: train.batch_size.expect("defaulted"),
            time_limit_s: train.time_limit_s,
            ..TrainConfig::default()
        },
        device: train.device.expect("defaulted"),
        latency: Some(LatencyConfig::default()),
    };
    Ok(TrainEvaluator::new(splits, config)?)
}
