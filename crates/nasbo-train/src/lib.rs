//! Builds and really trains NAS-Bench-201, NASNet and declared chain networks with burn:
//! nasbo's training evaluator.
//!
//! The only nasbo crate that depends on burn. Library code takes a burn `Device` and never names
//! a backend; [`DeviceChoice`] (in `device.rs`) maps `cpu` / `wgpu` to one, per cargo feature.
//!
//! - [`data`]: IDX and CIFAR loaders, the seeded train/validation split, normalisation and
//!   augmentation.
//! - [`Nb201NetConfig`] → `init(device)` → [`Nb201Net`]: the network of a plain [`Cell`].
//! - [`ChainNetConfig`] → `init(device)` → [`ChainNet`]: a chain of layers ([`LayerChain`])
//!   from a declared space.
//! - [`NasnetNetConfig`] → `init(device)` → [`NasnetNet`]: the network of a NASNet
//!   [`Genotype`].
//! - [`NetSpec`], [`Network`], [`TrainableArch`]: what a network kind provides to be trained.
//! - [`NetTrainer`] (for NB201: [`Trainer`]): SGD with Nesterov momentum and cosine learning
//!   rate, checkpoints.
//! - [`TrainEvaluator`]: an [`Evaluator`] of every trainable architecture, whose objective is
//!   validation accuracy; [`DeclaredTrainEvaluator`] evaluates a declared space's
//!   architectures with it.
//!
//! [`Cell`]: nasbo_core::nb201::Cell
//! [`Genotype`]: nasbo_core::nasnet::Genotype
//! [`Evaluator`]: nasbo_core::Evaluator
#![warn(missing_docs)]

pub mod chain_net;
mod continued;
pub mod data;
mod declared;
mod device;
mod error;
mod evaluator;
mod latency;
mod nasnet_net;
mod nb201_net;
mod net;
mod trainer;

pub use chain_net::{ChainNet, ChainNetConfig, LayerChain, LayerShape};
pub use continued::{Continued, ContinuedTraining};
pub use declared::{DeclaredContinued, DeclaredTrainEvaluator};
pub use device::DeviceChoice;
pub use error::{Result, TrainError};
pub use evaluator::{
    finish, finish_unmeasured, train_and_measure, TrainEvalConfig, TrainEvaluator, TrainOutcome,
};
pub use latency::{median_latency_ms, LatencyConfig};
pub use nasnet_net::{NasnetNet, NasnetNetConfig};
pub use nb201_net::{Nb201Net, Nb201NetConfig};
pub use net::{init_seeded, trainable_params, NetSizes, NetSpec, Network, TrainableArch};
pub use trainer::{
    accuracy, differences, CheckpointMeta, EpochReport, NetTrainer, Progress, TrainConfig, Trainer,
};

/// burn's `Device`, re-exported so that callers need no burn dependency of their own.
pub use burn::tensor::Device;
