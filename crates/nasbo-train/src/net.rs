//! What the trainer needs of a network kind: [`NetSpec`] (plain data that describes a network
//! and builds it) and [`Network`] (the built burn module). [`TrainableArch`] maps an
//! architecture of a search space to its network, so that one [`TrainEvaluator`] trains any
//! space's architectures.
//!
//! Adding a network kind: a config type implementing [`NetSpec`], a burn module implementing
//! [`Network`], and [`TrainableArch`] for the space's architecture type.
//!
//! [`TrainEvaluator`]: crate::TrainEvaluator

use std::fmt::Debug;
use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use nasbo_core::cost::Cost;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Result, TrainError};

/// A built network: images in, logits out.
pub trait Network: Module + 'static {
    /// Logits `[batch, classes]` for images `[batch, channels, side, side]`.
    fn forward(&self, x: Tensor<4>) -> Tensor<2>;

    /// Learnable parameters (weights, biases, batch-norm scale and shift; not the batch norms'
    /// running statistics, which burn's `num_params` also counts).
    fn trainable_params(&self) -> usize {
        trainable_params(self)
    }
}

/// Plain data that defines a network (architecture and macro skeleton) and builds it.
pub trait NetSpec:
    Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The built network.
    type Net: Network;

    /// Checks the sizes before building.
    fn check(&self) -> Result<()>;

    /// Parameters and FLOPs from nasbo-core's cost model.
    fn cost(&self) -> Cost;

    /// `[channels, side, side]` of one input image.
    fn input_shape(&self) -> [usize; 3];

    /// Builds the network with weights from the device's random number generator as it stands.
    fn init(&self, device: &Device) -> Self::Net;

    /// Builds the network with weights drawn from `seed` (see [`init_seeded`]).
    fn init_seeded(&self, device: &Device, seed: u64) -> Self::Net {
        init_seeded(device, seed, || self.init(device))
    }
}

/// An architecture that the trainer can build a network of, given the macro sizes.
pub trait TrainableArch {
    /// The network description.
    type Spec: NetSpec;

    /// The network of this architecture with the given sizes.
    fn net_spec(&self, sizes: &NetSizes) -> Self::Spec;
}

/// The sizes of a macro network around an architecture, common to every network kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetSizes {
    /// Width `C` of the first cells.
    pub channels: usize,
    /// Cells per stage or stack (N).
    pub cells_per_stage: usize,
    /// Classes of the classifier.
    pub classes: usize,
    /// Side of the square input images.
    pub input_size: usize,
    /// Channels of the input images.
    pub input_channels: usize,
}

impl NetSizes {
    /// Checks what every network kind needs: positive width, classes, input side and input
    /// channels. (A network kind may need more, such as NB201's side divisible by 4; its
    /// [`NetSpec::check`] says so when it is built.)
    pub fn check(&self) -> Result<()> {
        if self.channels == 0
            || self.classes == 0
            || self.input_size == 0
            || self.input_channels == 0
        {
            return Err(TrainError::Params(format!(
                "channels, classes, input size and input channels must be positive: {self:?}"
            )));
        }
        Ok(())
    }
}

/// Runs `build` right after seeding the device, and draws every lazily initialised parameter,
/// under one process-wide lock: the same seed gives the same weights, also while other threads
/// use the device (burn's device random number generator is global).
pub fn init_seeded<M: Module>(device: &Device, seed: u64, build: impl FnOnce() -> M) -> M {
    static INIT: Mutex<()> = Mutex::new(());
    let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    let net = build();
    net.visit(&mut Materialize);
    net
}

/// Forces every lazily initialised parameter to be drawn.
struct Materialize;

impl ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// Number of learnable values of `module`: every float parameter except batch norms' running
/// mean and variance.
pub fn trainable_params<M: Module>(module: &M) -> usize {
    let mut counter = CountLearnable::default();
    module.visit(&mut counter);
    counter.count
}

#[derive(Default)]
struct CountLearnable {
    path: Vec<String>,
    count: usize,
}

impl ModuleVisitor for CountLearnable {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let running = matches!(
            self.path.last().map(String::as_str),
            Some("running_mean" | "running_var")
        );
        if !running {
            self.count += param.lazy_shape().num_elements();
        }
    }
}
