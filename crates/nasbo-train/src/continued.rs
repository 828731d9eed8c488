//! [`ContinuedTraining`]: early stopping of real trainings. An architecture is trained one rung
//! of a fidelity [`Ladder`](nasbo_core::fidelity::Ladder) at a time (its levels are epochs):
//! its first evaluation trains the bottom level's epochs and leaves a checkpoint; when a
//! strategy promotes it (successive halving), the next evaluation continues that checkpoint up
//! to the next level instead of starting over, and is charged only the epochs it adds. An
//! architecture never promoted has been stopped early, after the epochs of its last rung.
//!
//! Every network follows the top level's recipe — its learning rate decays over all the top
//! level's epochs — so a network continued rung by rung to the top ends exactly where one
//! trained straight to the top would (tested), and a cheap rung is the start of the full
//! training, not a shorter training of its own.
//!
//! The checkpoints live in one folder per network under [`ContinuedTraining::dir`] (the
//! search puts it beside its journal), written after every epoch, so a killed search loses at
//! most one epoch of the training that was running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nasbo_core::fidelity::Rung;
use nasbo_core::{Evaluation, Evaluator};

use crate::error::{Result, TrainError};
use crate::evaluator::{
    evaluate_training, finish, finish_unmeasured, TrainEvaluator, TrainOutcome,
};
use crate::net::{NetSpec, TrainableArch};
use crate::trainer::{NetTrainer, TrainConfig};

/// Trains architectures rung by rung of a ladder of epochs, continuing each from its
/// checkpoint: an evaluation at a rung trains the network until it has that rung's epochs, on
/// the top level's learning-rate schedule, and is charged only the epochs it adds.
#[derive(Debug)]
pub struct ContinuedTraining {
    inner: TrainEvaluator,
    levels: Vec<u32>,
    dir: PathBuf,
}

/// One rung's training: the outcome after it, and the epochs the network had before it.
#[derive(Debug, Clone)]
pub struct Continued<N> {
    /// The outcome after the rung (its `train_s` is this rung's alone; `epochs` holds every
    /// epoch's report since the start). Test accuracy and latency are measured at the top
    /// level only.
    pub outcome: TrainOutcome<N>,
    /// Epochs the network had been trained before this rung (0: a fresh start).
    pub from_epochs: usize,
}

impl ContinuedTraining {
    /// Trains with `inner`'s data, network sizes and recipe at the given levels (epochs,
    /// increasing, the top one equal to the recipe's epochs), checkpoints under `dir`.
    pub fn new(inner: TrainEvaluator, levels: Vec<u32>, dir: impl Into<PathBuf>) -> Result<Self> {
        if levels.len() < 2 || levels[0] == 0 || levels.windows(2).any(|w| w[0] >= w[1]) {
            return Err(TrainError::Invalid {
                name: "levels",
                value: format!("{levels:?}"),
                expected: "at least two increasing positive numbers of epochs",
            });
        }
        let top = *levels.last().expect("at least two levels") as usize;
        if inner.config().train.epochs != top {
            return Err(TrainError::Invalid {
                name: "epochs",
                value: inner.config().train.epochs.to_string(),
                expected: "the top fidelity level (every network follows its schedule)",
            });
        }
        Ok(ContinuedTraining {
            inner,
            levels,
            dir: dir.into(),
        })
    }

    /// The levels (epochs), cheapest first.
    pub fn levels(&self) -> &[u32] {
        &self.levels
    }

    /// The folder holding one checkpoint folder per network.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The evaluator whose data, sizes and recipe it trains with.
    pub fn inner(&self) -> &TrainEvaluator {
        &self.inner
    }

    /// The checkpoint folder of a network: named by a hash of its description, which
    /// `checkpoint.json` in it holds in full.
    pub fn checkpoint_dir<N: NetSpec>(&self, net: &N) -> PathBuf {
        let text = serde_json::to_string(net).expect("a network description serialises");
        self.dir.join(format!("{:016x}", fnv1a(text.as_bytes())))
    }

    /// Trains `arch` until it has `epochs` epochs, continuing its checkpoint when there is one
    /// of the same network and recipe with at most that many epochs (else from scratch, with
    /// `seed`; a continued network keeps the seed it started with).
    pub fn train_to<A: TrainableArch>(
        &self,
        arch: &A,
        epochs: usize,
        seed: u64,
    ) -> Result<Continued<A::Spec>> {
        let net = self.inner.net_spec(arch);
        let dir = self.checkpoint_dir(&net);
        let config = self.inner.config().train.clone();
        let device = self.inner.device();
        let continued = NetTrainer::<A::Spec>::read_checkpoint_meta(&dir)
            .ok()
            .filter(|m| m.net == net && m.epochs_done <= epochs && same_recipe(&m.train, &config))
            .and_then(|_| NetTrainer::resume(&dir, config.clone(), device).ok());
        let mut trainer = match continued {
            Some(t) => t,
            None => {
                // Nothing to continue (or a checkpoint of another run): start afresh.
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
                }
                NetTrainer::new(net, config, seed, device)?
            }
        };
        let from_epochs = trainer.epochs_done();
        let data = self.inner.data();
        let t0 = Instant::now();
        while trainer.epochs_done() < epochs {
            trainer.run_epoch(data, &mut |_| {})?;
            trainer.save_checkpoint(&dir)?;
        }
        let train_s = t0.elapsed().as_secs_f64();
        let history = trainer.history().to_vec();
        let top = *self.levels.last().expect("at least two levels") as usize;
        // Test accuracy and latency are only reported, never searched on, so they are
        // measured once, for the networks that reach the top level; a one-epoch trial would
        // otherwise spend a fifth of its time on them.
        let mut outcome = if epochs >= top {
            finish(
                &trainer,
                self.inner.config().latency.as_ref(),
                data,
                history,
                train_s,
            )?
        } else {
            finish_unmeasured(&trainer, history, train_s)
        };
        outcome.seed = trainer.seed();
        Ok(Continued {
            outcome,
            from_epochs,
        })
    }
}

/// Whether a checkpoint's recipe is this one (its time limit aside).
fn same_recipe(then: &TrainConfig, now: &TrainConfig) -> bool {
    TrainConfig {
        time_limit_s: then.time_limit_s,
        ..now.clone()
    } == *then
}

/// FNV-1a, 64 bits: a stable name for a network's checkpoint folder (std's hasher may change
/// between Rust releases, and a resumed search must find the folders an older binary wrote).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl<A: TrainableArch> Evaluator<Rung<A>> for ContinuedTraining {
    /// Trains the architecture to its rung's epochs. Besides the training's values it reports
    /// `fidelity` (the epochs the network has now) and `from_epochs` (those it had before);
    /// the cost is this rung's time alone. Below the top level it reports no `test_acc` and no
    /// latency: they are measured once a network reaches the top.
    fn evaluate(&mut self, arch: &Rung<A>, seed: u64) -> Evaluation {
        let Some(&level) = self.levels.get(arch.rung) else {
            return Evaluation::Failed {
                reason: format!("no fidelity level at rung {}", arch.rung),
                cost_s: 0.0,
            };
        };
        evaluate_training(|| {
            let c = self.train_to(&arch.arch, level as usize, seed)?;
            let extra = BTreeMap::from([
                ("fidelity".to_string(), f64::from(level)),
                ("from_epochs".to_string(), c.from_epochs as f64),
            ]);
            Ok((c.outcome, extra))
        })
    }

    fn objective_name(&self) -> &str {
        "valid_acc"
    }
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    #[test]
    fn fnv1a_matches_its_reference_values() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
