//! [`TrainEvaluator`]: nasbo's [`Evaluator`] that really trains each architecture (of any
//! space whose architecture is a [`TrainableArch`]: NB201 cells, NASNet genotypes).

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Device;
use nasbo_core::nb201::Cell;
use nasbo_core::{Evaluation, Evaluator};
use serde::{Deserialize, Serialize};

use crate::data::Splits;
use crate::device::DeviceChoice;
use crate::error::{Result, TrainError};
use crate::latency::{median_latency_ms, LatencyConfig};
use crate::nb201_net::Nb201NetConfig;
use crate::net::{NetSizes, NetSpec, Network, TrainableArch};
use crate::trainer::{positive, EpochReport, NetTrainer, TrainConfig};

/// What [`TrainEvaluator`] trains and measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainEvalConfig {
    /// Channels of the first stage (C).
    pub channels: usize,
    /// Cells per stage (N).
    pub cells_per_stage: usize,
    /// The optimisation recipe (epochs, batch size, time limit, …).
    pub train: TrainConfig,
    /// Where to train.
    pub device: DeviceChoice,
    /// Latency measurement; `None` skips it.
    pub latency: Option<LatencyConfig>,
}

impl TrainEvalConfig {
    /// Refuses every value that cannot be meant, with [`TrainError::Invalid`] naming it: zero
    /// channels or cells per stage, the recipe's bad values ([`TrainConfig::validate`]) and a
    /// latency measurement of zero repeats or batch sizes. [`TrainEvaluator::new`] calls it.
    pub fn validate(&self) -> Result<()> {
        positive("channels", self.channels)?;
        positive("cells_per_stage", self.cells_per_stage)?;
        self.train.validate()?;
        if let Some(l) = &self.latency {
            positive("latency.repeats", l.repeats)?;
            positive("latency.small_batch", l.small_batch)?;
            positive("latency.large_batch", l.large_batch)?;
        }
        Ok(())
    }
}

impl Default for TrainEvalConfig {
    fn default() -> Self {
        TrainEvalConfig {
            channels: 8,
            cells_per_stage: 1,
            train: TrainConfig {
                epochs: 2,
                batch_size: 64,
                ..TrainConfig::default()
            },
            device: DeviceChoice::Cpu,
            latency: Some(LatencyConfig::default()),
        }
    }
}

/// The result of training one network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOutcome<N = Nb201NetConfig> {
    /// The network trained.
    pub net: N,
    /// The seed.
    pub seed: u64,
    /// Validation accuracy in percent (the split searched on).
    pub valid_acc: f64,
    /// Test accuracy in percent (only reported); `None` where it was not measured (a rung
    /// below the top of an early-stopped training, see [`crate::ContinuedTraining`]).
    pub test_acc: Option<f64>,
    /// Wall seconds of training, validation included.
    pub train_s: f64,
    /// Learnable parameters of the built network.
    pub params: u64,
    /// Multiply-accumulates per image (cost model).
    pub flops: u64,
    /// Median inference latency in ms at the small batch size.
    pub latency_ms_small: Option<f64>,
    /// Median inference latency in ms at the large batch size.
    pub latency_ms_large: Option<f64>,
    /// Every epoch's report.
    pub epochs: Vec<EpochReport>,
}

/// Trains `net` with `config` on `data` from scratch and measures it.
pub fn train_and_measure<N: NetSpec>(
    net: N,
    config: &TrainConfig,
    latency: Option<&LatencyConfig>,
    data: &Splits,
    seed: u64,
    device: &Device,
) -> Result<TrainOutcome<N>> {
    let t0 = Instant::now();
    let mut trainer = NetTrainer::new(net, config.clone(), seed, device)?;
    let epochs = trainer.run(data, &mut |_| {})?;
    let train_s = t0.elapsed().as_secs_f64();
    finish(&trainer, latency, data, epochs, train_s)
}

/// Measures a trained network: test accuracy, size and latency.
pub fn finish<N: NetSpec>(
    trainer: &NetTrainer<N>,
    latency: Option<&LatencyConfig>,
    data: &Splits,
    epochs: Vec<EpochReport>,
    train_s: f64,
) -> Result<TrainOutcome<N>> {
    let mut outcome = finish_unmeasured(trainer, epochs, train_s);
    outcome.test_acc = Some(trainer.accuracy(data, &data.test));
    (outcome.latency_ms_small, outcome.latency_ms_large) = match latency {
        Some(l) => {
            let m = |b| {
                median_latency_ms(
                    trainer.model(),
                    &outcome.net,
                    b,
                    l.warmup,
                    l.repeats,
                    trainer.device(),
                )
            };
            (Some(m(l.small_batch)), Some(m(l.large_batch)))
        }
        None => (None, None),
    };
    Ok(outcome)
}

/// The outcome of a trained network without the measurements that cost time (test accuracy,
/// latency): its validation accuracy, size and epochs.
pub fn finish_unmeasured<N: NetSpec>(
    trainer: &NetTrainer<N>,
    epochs: Vec<EpochReport>,
    train_s: f64,
) -> TrainOutcome<N> {
    let net = trainer.net_config().clone();
    TrainOutcome {
        valid_acc: epochs.last().map_or(0.0, |e| e.valid_acc),
        seed: 0,
        test_acc: None,
        train_s,
        params: trainer.model().trainable_params() as u64,
        flops: net.cost().flops,
        latency_ms_small: None,
        latency_ms_large: None,
        epochs,
        net,
    }
}

/// Trains every architecture it is asked about on a fixed data split; the objective is
/// validation accuracy in percent. It evaluates the architectures of every space whose
/// architecture type is a [`TrainableArch`] (NB201 [`Cell`]s, NASNet genotypes), with the
/// configured width and depth.
#[derive(Debug)]
pub struct TrainEvaluator {
    data: Arc<Splits>,
    config: TrainEvalConfig,
    device: Device,
}

impl TrainEvaluator {
    /// An evaluator training on `data`; fails when the device cannot be used, a setting
    /// cannot be meant ([`TrainEvalConfig::validate`]), the data has no training or no
    /// validation images ([`Splits::validate`]), or the sizes are bad (checked with
    /// [`NetSizes::check`], so images valid for some network kind are accepted).
    pub fn new(data: impl Into<Arc<Splits>>, config: TrainEvalConfig) -> Result<Self> {
        config.validate()?;
        let data = data.into();
        data.validate()?;
        let evaluator = TrainEvaluator {
            device: config.device.autodiff_device()?,
            data,
            config,
        };
        // Only what every network kind needs: a kind's own limits (NB201's side divisible by
        // 4, a chain's pooling) fail its trials, not the evaluator.
        evaluator.sizes().check()?;
        Ok(evaluator)
    }

    /// The configuration.
    pub fn config(&self) -> &TrainEvalConfig {
        &self.config
    }

    /// The device it trains on (with autodiff).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The data trained and validated on.
    pub fn data(&self) -> &Splits {
        &self.data
    }

    /// The macro sizes of every network: the configured width and depth, the data's classes
    /// and image shape.
    pub fn sizes(&self) -> NetSizes {
        NetSizes {
            channels: self.config.channels,
            cells_per_stage: self.config.cells_per_stage,
            classes: self.data.train.classes,
            input_size: self.data.train.side,
            input_channels: self.data.train.channels,
        }
    }

    /// The NB201 network for `cell` on this evaluator's data.
    pub fn net_config(&self, cell: Cell) -> Nb201NetConfig {
        cell.net_spec(&self.sizes())
    }

    /// The network of any trainable architecture on this evaluator's data.
    pub fn net_spec<A: TrainableArch>(&self, arch: &A) -> A::Spec {
        arch.net_spec(&self.sizes())
    }

    /// Trains the NB201 `cell` and returns the full outcome.
    pub fn train(&self, cell: &Cell, seed: u64) -> Result<TrainOutcome> {
        self.train_arch(cell, seed)
    }

    /// Trains any trainable architecture and returns the full outcome.
    pub fn train_arch<A: TrainableArch>(
        &self,
        arch: &A,
        seed: u64,
    ) -> Result<TrainOutcome<A::Spec>> {
        let net = self.net_spec(arch);
        let mut out = train_and_measure(
            net,
            &self.config.train,
            self.config.latency.as_ref(),
            &self.data,
            seed,
            &self.device,
        )?;
        out.seed = seed;
        Ok(out)
    }
}

impl<A: TrainableArch> Evaluator<A> for TrainEvaluator {
    fn evaluate(&mut self, arch: &A, seed: u64) -> Evaluation {
        evaluate_training(|| self.train_arch(arch, seed).map(|o| (o, BTreeMap::new())))
    }

    fn objective_name(&self) -> &str {
        "valid_acc"
    }
}

/// What a trial reports of a training besides its objective (validation accuracy): test
/// accuracy, training seconds, size, latency and the last epoch's training loss and accuracy.
fn reported_values<N>(o: &TrainOutcome<N>) -> BTreeMap<String, f64> {
    let mut reported = BTreeMap::new();
    if let Some(t) = o.test_acc {
        reported.insert("test_acc".to_string(), t);
    }
    reported.insert("train_s".to_string(), o.train_s);
    reported.insert("params_m".to_string(), o.params as f64 / 1e6);
    reported.insert("flops_m".to_string(), o.flops as f64 / 1e6);
    if let Some(l) = o.latency_ms_small {
        reported.insert("latency_ms_b1".to_string(), l);
    }
    if let Some(l) = o.latency_ms_large {
        reported.insert("latency_ms_b64".to_string(), l);
    }
    if let Some(e) = o.epochs.last() {
        reported.insert("train_loss".to_string(), e.train_loss);
        reported.insert("train_acc".to_string(), e.train_acc);
    }
    reported
}

/// Runs one training as a trial: its outcome's validation accuracy is the objective, its
/// [`reported_values`] and `extra` are reported, the wall time is the cost, and an error or a
/// backend panic becomes a failed trial (it ends this trial, not the search).
pub(crate) fn evaluate_training<N>(
    train: impl FnOnce() -> Result<(TrainOutcome<N>, BTreeMap<String, f64>)>,
) -> Evaluation {
    let t0 = Instant::now();
    let result = std::panic::catch_unwind(AssertUnwindSafe(train));
    let cost_s = t0.elapsed().as_secs_f64();
    match result {
        Ok(Ok((o, extra))) => {
            let mut reported = reported_values(&o);
            reported.extend(extra);
            Evaluation::Ok {
                objective: o.valid_acc,
                reported,
                cost_s,
            }
        }
        Ok(Err(e)) => Evaluation::Failed {
            reason: e.to_string(),
            cost_s,
        },
        Err(panic) => Evaluation::Failed {
            reason: panic_reason(panic.as_ref()),
            cost_s,
        },
    }
}

/// The reason of a trial whose training panicked.
fn panic_reason(panic: &(dyn std::any::Any + Send)) -> String {
    format!(
        "training panicked: {}",
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    )
}

impl From<TrainError> for Evaluation {
    fn from(e: TrainError) -> Self {
        Evaluation::Failed {
            reason: e.to_string(),
            cost_s: 0.0,
        }
    }
}
