//! [`DeclaredTrainEvaluator`]: really trains the architectures of a space declared in a TOML
//! file, each as the chain network of its layers.

use nasbo_core::declared::{DeclaredArch, DeclaredSpace};
use nasbo_core::fidelity::Rung;
use nasbo_core::{Evaluation, Evaluator, SearchSpace};

use crate::chain_net::{ChainNetConfig, LayerChain};
use crate::continued::ContinuedTraining;
use crate::error::Result;
use crate::evaluator::{TrainEvaluator, TrainOutcome};
use crate::net::NetSpec;

/// An [`Evaluator`] of a declared space's architectures: each architecture's layers
/// ([`DeclaredSpace::layer_chain`]) become a [`LayerChain`], trained by the inner
/// [`TrainEvaluator`] with its data, recipe and width (the width is the chain's stem channels).
/// The objective is the inner evaluator's (validation accuracy in percent).
///
/// An architecture whose chain cannot be built (not an architecture of the space, or layers
/// that shrink the image away) evaluates as [`Evaluation::Failed`] with the reason and the
/// architecture's text form.
#[derive(Debug)]
pub struct DeclaredTrainEvaluator {
    space: DeclaredSpace,
    inner: TrainEvaluator,
}

impl DeclaredTrainEvaluator {
    /// An evaluator of `space`'s architectures, trained by `inner`. Fails, naming the space's
    /// file and the line of the offending decision, when the space is not a chain of layers
    /// ([`DeclaredSpace::check_trainable`]).
    pub fn new(space: DeclaredSpace, inner: TrainEvaluator) -> Result<Self> {
        space.check_trainable()?;
        Ok(DeclaredTrainEvaluator { space, inner })
    }

    /// The space evaluated.
    pub fn space(&self) -> &DeclaredSpace {
        &self.space
    }

    /// The evaluator that trains the chains.
    pub fn inner(&self) -> &TrainEvaluator {
        &self.inner
    }

    /// The layers of `arch`, as a trainable architecture.
    pub fn chain(&self, arch: &DeclaredArch) -> Result<LayerChain> {
        Ok(LayerChain(self.space.layer_chain(arch)?))
    }

    /// The network of `arch` on the inner evaluator's data, its sizes checked.
    pub fn net_spec(&self, arch: &DeclaredArch) -> Result<ChainNetConfig> {
        let spec = self.inner.net_spec(&self.chain(arch)?);
        spec.check()?;
        Ok(spec)
    }

    /// Trains `arch` and returns the full outcome.
    pub fn train(&self, arch: &DeclaredArch, seed: u64) -> Result<TrainOutcome<ChainNetConfig>> {
        self.inner.train_arch(&self.chain(arch)?, seed)
    }
}

impl Evaluator<DeclaredArch> for DeclaredTrainEvaluator {
    fn evaluate(&mut self, arch: &DeclaredArch, seed: u64) -> Evaluation {
        match self.net_spec(arch) {
            Ok(spec) => self.inner.evaluate(&LayerChain(spec.layers), seed),
            Err(e) => Evaluation::Failed {
                reason: format!(
                    "architecture `{}` of space `{}` cannot be trained: {e}",
                    self.space.format_arch(arch),
                    self.space.name()
                ),
                cost_s: 0.0,
            },
        }
    }

    fn objective_name(&self) -> &str {
        <TrainEvaluator as Evaluator<LayerChain>>::objective_name(&self.inner)
    }
}

/// Early stopping of a declared space's trainings: each architecture's chain trained rung by
/// rung by a [`ContinuedTraining`]. An architecture whose chain cannot be built fails as with
/// [`DeclaredTrainEvaluator`].
#[derive(Debug)]
pub struct DeclaredContinued {
    space: DeclaredSpace,
    inner: ContinuedTraining,
}

impl DeclaredContinued {
    /// Trains `space`'s architectures with `inner`; fails, naming the space's file and line,
    /// when the space is not a chain of layers.
    pub fn new(space: DeclaredSpace, inner: ContinuedTraining) -> Result<Self> {
        space.check_trainable()?;
        Ok(DeclaredContinued { space, inner })
    }
}

impl DeclaredContinued {
    fn chain(&self, arch: &DeclaredArch) -> Result<LayerChain> {
        let chain = LayerChain(self.space.layer_chain(arch)?);
        self.inner.inner().net_spec(&chain).check()?;
        Ok(chain)
    }
}

impl Evaluator<Rung<DeclaredArch>> for DeclaredContinued {
    fn evaluate(&mut self, arch: &Rung<DeclaredArch>, seed: u64) -> Evaluation {
        match self.chain(&arch.arch) {
            Ok(chain) => self.inner.evaluate(
                &Rung {
                    arch: chain,
                    rung: arch.rung,
                },
                seed,
            ),
            Err(e) => Evaluation::Failed {
                reason: format!(
                    "architecture `{}` of space `{}` cannot be trained: {e}",
                    self.space.format_arch(&arch.arch),
                    self.space.name()
                ),
                cost_s: 0.0,
            },
        }
    }

    fn objective_name(&self) -> &str {
        "valid_acc"
    }
}
