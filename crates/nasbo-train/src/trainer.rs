//! Training one network: SGD with Nesterov momentum and a cosine learning rate, seeded, with a
//! time limit, divergence detection, per-step and per-epoch progress and checkpoints.

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLoss;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::{HostBatch, Images, Splits};
use crate::error::{Result, TrainError};
use crate::nb201_net::Nb201NetConfig;
use crate::net::{NetSpec, Network};

/// The optimisation recipe (defaults: the NAS-Bench-201 recipe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainConfig {
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Initial learning rate; it follows a cosine down to zero over all steps.
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// Whether the momentum is Nesterov's.
    pub nesterov: bool,
    /// L2 penalty on every parameter.
    pub weight_decay: f64,
    /// Images per forward pass when measuring accuracy.
    pub eval_batch_size: usize,
    /// Seconds after which training stops with [`TrainError::TimeLimit`].
    pub time_limit_s: Option<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 200,
            batch_size: 256,
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
            eval_batch_size: 500,
            time_limit_s: None,
        }
    }
}

impl TrainConfig {
    /// Refuses every value that cannot be meant, with [`TrainError::Invalid`] naming it: zero
    /// epochs, batch size or eval batch size; a learning rate that is not finite and positive;
    /// momentum outside [0, 1); a weight decay that is negative or not finite; a time limit
    /// that is not finite and positive. Every constructor ([`NetTrainer::new`],
    /// [`TrainEvaluator::new`](crate::TrainEvaluator::new)) calls it.
    pub fn validate(&self) -> Result<()> {
        positive("epochs", self.epochs)?;
        positive("batch_size", self.batch_size)?;
        positive("eval_batch_size", self.eval_batch_size)?;
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(TrainError::invalid(
                "lr",
                self.lr,
                "a finite learning rate > 0",
            ));
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return Err(TrainError::invalid(
                "momentum",
                self.momentum,
                "a momentum in [0, 1)",
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(TrainError::invalid(
                "weight_decay",
                self.weight_decay,
                "a finite weight decay >= 0",
            ));
        }
        if let Some(t) = self.time_limit_s {
            if !(t.is_finite() && t > 0.0) {
                return Err(TrainError::invalid(
                    "time_limit_s",
                    t,
                    "a finite number of seconds > 0",
                ));
            }
        }
        Ok(())
    }

    /// The same as [`TrainConfig::validate`] (its former name).
    pub fn check(&self) -> Result<()> {
        self.validate()
    }

    /// The cosine learning rate at `step` of `total` steps.
    pub fn lr_at(&self, step: usize, total: usize) -> f64 {
        let t = step as f64 / total.max(1) as f64;
        0.5 * self.lr * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// The epoch (0-based).
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy in percent, measured on the fly (training mode, augmented).
    pub train_acc: f64,
    /// Validation accuracy in percent after the epoch.
    pub valid_acc: f64,
    /// Learning rate at the epoch's last step.
    pub lr: f64,
    /// Wall seconds of the epoch's training steps (without validation).
    pub train_s: f64,
}

/// Progress reported while training.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A step finished.
    Step {
        /// The epoch (0-based).
        epoch: usize,
        /// Steps done in this epoch.
        step: usize,
        /// Steps per epoch.
        steps: usize,
        /// The step's loss.
        loss: f64,
    },
    /// An epoch finished.
    Epoch(&'a EpochReport),
}

/// The state that a checkpoint stores besides weights and optimiser state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckpointMeta<N = Nb201NetConfig> {
    /// The network.
    pub net: N,
    /// The recipe.
    pub train: TrainConfig,
    /// The seed.
    pub seed: u64,
    /// Epochs completed.
    pub epochs_done: usize,
    /// Reports of the completed epochs.
    pub history: Vec<EpochReport>,
}

/// A network of any kind ([`NetSpec`]) being trained on some [`Splits`].
pub struct NetTrainer<N: NetSpec> {
    net: N,
    config: TrainConfig,
    seed: u64,
    device: Device,
    model: N::Net,
    optim: ModuleOptimizer,
    history: Vec<EpochReport>,
    started: Instant,
}

/// The trainer of NAS-Bench-201 networks.
pub type Trainer = NetTrainer<Nb201NetConfig>;

impl<N: NetSpec> std::fmt::Debug for NetTrainer<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("net", &self.net)
            .field("config", &self.config)
            .field("seed", &self.seed)
            .field("epochs_done", &self.history.len())
            .finish_non_exhaustive()
    }
}

impl<N: NetSpec> NetTrainer<N> {
    /// A fresh network on `device` (an autodiff device), initialised from `seed`.
    pub fn new(net: N, config: TrainConfig, seed: u64, device: &Device) -> Result<Self> {
        net.check()?;
        config.validate()?;
        let device = if device.is_autodiff() {
            device.clone()
        } else {
            device.clone().autodiff()
        };
        let model = net.init_seeded(&device, seed);
        let optim = optimizer(&config);
        Ok(NetTrainer {
            net,
            config,
            seed,
            device,
            model,
            optim,
            history: Vec::new(),
            started: Instant::now(),
        })
    }

    /// The trained network so far.
    pub fn model(&self) -> &N::Net {
        &self.model
    }

    /// Reports of the completed epochs.
    pub fn history(&self) -> &[EpochReport] {
        &self.history
    }

    /// Epochs completed.
    pub fn epochs_done(&self) -> usize {
        self.history.len()
    }

    /// Whether every configured epoch is done.
    pub fn finished(&self) -> bool {
        self.epochs_done() >= self.config.epochs
    }

    /// The network's configuration.
    pub fn net_config(&self) -> &N {
        &self.net
    }

    /// The seed its weights and batches come from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The recipe.
    pub fn train_config(&self) -> &TrainConfig {
        &self.config
    }

    /// The device trained on (with autodiff).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Trains one more epoch and measures validation accuracy.
    pub fn run_epoch(
        &mut self,
        data: &Splits,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<EpochReport> {
        let epoch = self.epochs_done();
        data.validate()?;
        let n = data.train.len();
        let bs = self.config.batch_size.min(n);
        let steps = n.div_ceil(bs);
        let total_steps = steps * self.config.epochs;
        // Each epoch's shuffle and augmentation come from the seed and the epoch alone, so a
        // resumed run sees the same batches as an uninterrupted one.
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.seed ^ 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(epoch as u64 + 1),
        );
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        let loss_fn = CrossEntropyLoss::new(None, &self.device);
        let t0 = Instant::now();
        let (mut loss_sum, mut correct, mut lr) = (0.0, 0usize, self.config.lr);
        for (step, idx) in order.chunks(bs).enumerate() {
            let batch = data.batch(&data.train, idx, data.augment.then_some(&mut rng));
            let (x, y) = to_tensors(&batch, &self.device);
            let logits = self.model.forward(x);
            let loss = loss_fn.forward(logits.clone(), y.clone());
            let loss_v = loss.clone().into_scalar::<f32>() as f64;
            if !loss_v.is_finite() {
                return Err(TrainError::Diverged {
                    loss: loss_v,
                    epoch,
                    step,
                });
            }
            correct += count_correct(logits, y);
            loss_sum += loss_v * idx.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &self.model);
            lr = self.config.lr_at(epoch * steps + step, total_steps);
            self.model = self.optim.step(lr, self.model.clone(), grads);
            progress(Progress::Step {
                epoch,
                step: step + 1,
                steps,
                loss: loss_v,
            });
            if let Some(limit) = self.config.time_limit_s {
                let elapsed = self.started.elapsed().as_secs_f64();
                if elapsed > limit {
                    return Err(TrainError::TimeLimit {
                        limit_s: limit,
                        elapsed_s: elapsed,
                        epoch,
                    });
                }
            }
        }
        let train_s = t0.elapsed().as_secs_f64();
        let valid_acc = self.accuracy(data, &data.valid);
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / n as f64,
            train_acc: 100.0 * correct as f64 / n as f64,
            valid_acc,
            lr,
            train_s,
        };
        self.history.push(report.clone());
        progress(Progress::Epoch(&report));
        Ok(report)
    }

    /// Trains the remaining epochs.
    pub fn run(
        &mut self,
        data: &Splits,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Vec<EpochReport>> {
        while !self.finished() {
            self.run_epoch(data, progress)?;
        }
        Ok(self.history.clone())
    }

    /// Accuracy in percent of the network (inference mode) on `images`.
    pub fn accuracy(&self, data: &Splits, images: &Images) -> f64 {
        accuracy(
            &self.model,
            data,
            images,
            self.config.eval_batch_size,
            &self.device,
        )
    }

    /// Writes `model.bpk` (weights), `optimizer.bpk` and `checkpoint.json` into `dir`, each
    /// through a temporary file and a rename so that a kill leaves the previous checkpoint.
    pub fn save_checkpoint(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
        let model_path = dir.join("model.bpk");
        let tmp = dir.join("model.bpk.tmp");
        self.model
            .clone()
            .save_file(&tmp)
            .map_err(|e| ckpt_err(&tmp, e))?;
        rename(&tmp, &model_path)?;
        let optim_path = dir.join("optimizer.bpk");
        let tmp = dir.join("optimizer.bpk.tmp");
        self.optim.save(&tmp).map_err(|e| ckpt_err(&tmp, e))?;
        rename(&tmp, &optim_path)?;
        let meta = CheckpointMeta {
            net: self.net.clone(),
            train: self.config.clone(),
            seed: self.seed,
            epochs_done: self.epochs_done(),
            history: self.history.clone(),
        };
        let meta_path = dir.join("checkpoint.json");
        let tmp = dir.join("checkpoint.json.tmp");
        let text = serde_json::to_string_pretty(&meta).expect("plain data serialises");
        std::fs::write(&tmp, text).map_err(|e| TrainError::io(&tmp, e))?;
        rename(&tmp, &meta_path)
    }

    /// Continues from a checkpoint written by [`save_checkpoint`](Self::save_checkpoint).
    /// `config` may differ from the checkpoint's only in its time limit.
    pub fn resume(dir: &Path, config: TrainConfig, device: &Device) -> Result<Self> {
        let meta_path = dir.join("checkpoint.json");
        let text =
            std::fs::read_to_string(&meta_path).map_err(|e| TrainError::io(&meta_path, e))?;
        let meta: CheckpointMeta<N> =
            serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
                path: meta_path.clone(),
                message: e.to_string(),
            })?;
        let comparable = TrainConfig {
            time_limit_s: meta.train.time_limit_s,
            ..config.clone()
        };
        if comparable != meta.train {
            return Err(TrainError::Checkpoint {
                path: meta_path,
                message: format!(
                    "the checkpoint was trained with other settings ({}); resume it with its \
                     own (the learning-rate schedule spans all epochs, so their number is one \
                     of them), or train into another folder",
                    differences(&comparable, &meta.train).join(", ")
                ),
            });
        }
        let mut trainer = NetTrainer::new(meta.net, config, meta.seed, device)?;
        let model_path = dir.join("model.bpk");
        trainer.model = trainer
            .model
            .clone()
            .try_load_file(&model_path)
            .map_err(|e| ckpt_err(&model_path, e))?;
        let optim_path = dir.join("optimizer.bpk");
        trainer.optim = optimizer(&trainer.config)
            .load(&optim_path)
            .map_err(|e| ckpt_err(&optim_path, e))?;
        trainer.history = meta.history;
        Ok(trainer)
    }

    /// The network's configuration stored in a checkpoint folder (of this network kind; for
    /// NB201, also [`Trainer::checkpoint_meta`]).
    pub fn read_checkpoint_meta(dir: &Path) -> Result<CheckpointMeta<N>> {
        let meta_path = dir.join("checkpoint.json");
        let text =
            std::fs::read_to_string(&meta_path).map_err(|e| TrainError::io(&meta_path, e))?;
        serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
            path: meta_path,
            message: e.to_string(),
        })
    }

    /// Writes only the weights to `path` (burn's burnpack format).
    pub fn save_weights(&self, path: &Path) -> Result<()> {
        self.model
            .clone()
            .save_file(path)
            .map_err(|e| ckpt_err(path, e))
    }
}

impl Trainer {
    /// The NB201 network's configuration stored in a checkpoint folder.
    pub fn checkpoint_meta(dir: &Path) -> Result<CheckpointMeta> {
        NetTrainer::read_checkpoint_meta(dir)
    }
}

/// Where `now` differs from `then` (a checkpoint's), as `key: now (checkpoint: then)`, nested
/// keys joined by dots (`sizes.channels`); both serialise to JSON objects.
pub fn differences(now: &impl Serialize, then: &impl Serialize) -> Vec<String> {
    fn flatten(prefix: &str, value: serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, v, out);
                }
            }
            other => out.push((prefix.to_string(), other)),
        }
    }
    let json = |v: serde_json::Result<serde_json::Value>| v.unwrap_or(serde_json::Value::Null);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    flatten("", json(serde_json::to_value(now)), &mut a);
    flatten("", json(serde_json::to_value(then)), &mut b);
    let null = serde_json::Value::Null;
    let mut keys: Vec<&String> = a.iter().chain(&b).map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let find = |list: &[(String, serde_json::Value)]| {
                list.iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            let (x, y) = (
                find(&a).unwrap_or(null.clone()),
                find(&b).unwrap_or(null.clone()),
            );
            (x != y).then(|| format!("{k}: {x} (checkpoint: {y})"))
        })
        .collect()
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| TrainError::io(to, e))
}

fn ckpt_err(path: &Path, e: impl std::fmt::Debug) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("{e:?}"),
    }
}

fn optimizer(config: &TrainConfig) -> ModuleOptimizer {
    let momentum = (config.momentum > 0.0).then(|| {
        MomentumConfig::new()
            .with_momentum(config.momentum)
            .with_dampening(0.0)
            .with_nesterov(config.nesterov)
    });
    let decay =
        (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay as f32));
    SgdConfig::new()
        .with_momentum(momentum)
        .with_weight_decay(decay)
        .init()
}

/// Refuses a zero count, naming it.
pub(crate) fn positive(name: &'static str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(TrainError::invalid(name, value, "a count >= 1"));
    }
    Ok(())
}

/// A host batch as tensors on `device`.
pub fn to_tensors(batch: &HostBatch, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let x = Tensor::<4>::from_data(TensorData::new(batch.pixels.clone(), batch.shape), device);
    let y = Tensor::<1, Int>::from_data(
        TensorData::new(batch.labels.clone(), [batch.labels.len()]),
        device,
    );
    (x, y)
}

fn count_correct(logits: Tensor<2>, y: Tensor<1, Int>) -> usize {
    let [b, _] = logits.dims();
    let pred = logits.argmax(1).reshape([b]);
    pred.equal(y).int().sum().into_scalar::<i64>() as usize
}

/// Accuracy in percent of `model` in inference mode on `images`.
pub fn accuracy<M: Network>(
    model: &M,
    data: &Splits,
    images: &Images,
    batch_size: usize,
    device: &Device,
) -> f64 {
    if images.is_empty() {
        return 0.0;
    }
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let all: Vec<usize> = (0..images.len()).collect();
    let mut correct = 0;
    for idx in all.chunks(batch_size.max(1)) {
        let batch = data.batch(images, idx, None);
        let (x, y) = to_tensors(&batch, &device);
        correct += count_correct(model.forward(x), y);
    }
    100.0 * correct as f64 / images.len() as f64
}
