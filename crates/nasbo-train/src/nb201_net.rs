//! The NAS-Bench-201 network, built from a plain [`Cell`] (config, then `init(device)`).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use nasbo_core::cost::{Cost, Nb201Macro};
use nasbo_core::nb201::{Cell, Op, EDGES};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::net::{NetSizes, NetSpec, Network, TrainableArch};

/// Everything that defines an NB201 network: the cell and the macro skeleton's sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nb201NetConfig {
    /// The cell repeated in every cell position.
    pub cell: Cell,
    /// C, cells per stage N, classes, input side and input channels.
    pub skeleton: Nb201Macro,
}

impl Nb201NetConfig {
    /// A network of `cell` inside `skeleton`.
    pub fn new(cell: Cell, skeleton: Nb201Macro) -> Self {
        Nb201NetConfig { cell, skeleton }
    }

    /// Checks the sizes: every one positive, and the input side divisible by 4 so that both
    /// stride-2 blocks keep their residual and main paths the same size.
    pub fn check(&self) -> Result<()> {
        let s = &self.skeleton;
        if s.channels == 0 || s.classes == 0 || s.input_channels == 0 || s.input_size == 0 {
            return Err(TrainError::Params(format!(
                "channels, classes, input channels and input size must be positive: {s:?}"
            )));
        }
        if !s.input_size.is_multiple_of(4) {
            return Err(TrainError::Params(format!(
                "input size {} is not divisible by 4 (two stride-2 reductions)",
                s.input_size
            )));
        }
        Ok(())
    }

    /// Parameters and FLOPs from nasbo-core's cost model.
    pub fn cost(&self) -> Cost {
        self.skeleton.cost(&self.cell)
    }

    /// Builds the network with weights drawn from `seed`: the same seed gives the same weights,
    /// also while other threads use the device. (burn's device random number generator is
    /// global, so seeding and drawing happen under one lock.)
    pub fn init_seeded(&self, device: &Device, seed: u64) -> Nb201Net {
        crate::net::init_seeded(device, seed, || self.init(device))
    }

    /// Builds the network with freshly initialised weights on `device` (from the device's
    /// random number generator as it stands; see [`init_seeded`](Self::init_seeded)).
    pub fn init(&self, device: &Device) -> Nb201Net {
        let s = &self.skeleton;
        let c = s.stage_channels();
        let stem_conv = conv(s.input_channels, c[0], 3, 1, 1, device);
        let stem_bn = BatchNormConfig::new(c[0]).init(device);
        let mut cells = Vec::new();
        let mut reductions = Vec::new();
        for (stage, &ch) in c.iter().enumerate() {
            if stage > 0 {
                reductions.push(ResBlock::new(c[stage - 1], ch, device));
            }
            let stage_cells = (0..s.cells_per_stage)
                .map(|_| CellModule::new(&self.cell, ch, device))
                .collect();
            cells.push(StageModule { cells: stage_cells });
        }
        Nb201Net {
            stem_conv,
            stem_bn,
            stages: cells,
            reductions,
            last_bn: BatchNormConfig::new(c[2]).init(device),
            classifier: LinearConfig::new(c[2], s.classes).init(device),
        }
    }
}

fn conv(c_in: usize, c_out: usize, k: usize, stride: usize, pad: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device)
}

/// ReLU → convolution (no bias) → batch norm.
#[derive(Module, Debug)]
pub struct ReluConvBn {
    conv: Conv2d,
    bn: BatchNorm,
}

impl ReluConvBn {
    fn new(c_in: usize, c_out: usize, k: usize, stride: usize, device: &Device) -> Self {
        ReluConvBn {
            conv: conv(c_in, c_out, k, stride, k / 2, device),
            bn: BatchNormConfig::new(c_out).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(self.conv.forward(relu(x)))
    }
}

/// One edge of a cell: its op, and the layers when the op has weights.
#[derive(Module, Debug)]
pub struct EdgeModule {
    #[module(skip)]
    op: Op,
    conv: Option<ReluConvBn>,
    pool: Option<AvgPool2d>,
}

impl EdgeModule {
    fn new(op: Op, c: usize, device: &Device) -> Self {
        let conv = match op {
            Op::Conv1x1 => Some(ReluConvBn::new(c, c, 1, 1, device)),
            Op::Conv3x3 => Some(ReluConvBn::new(c, c, 3, 1, device)),
            _ => None,
        };
        let pool = (op == Op::AvgPool3x3).then(|| {
            AvgPool2dConfig::new([3, 3])
                .with_strides([1, 1])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_count_include_pad(false)
                .init()
        });
        EdgeModule { op, conv, pool }
    }

    /// The edge's output for node value `x`; `None` stands for an all-zero tensor.
    fn forward(&self, x: Option<&Tensor<4>>, zeros: &dyn Fn() -> Tensor<4>) -> Option<Tensor<4>> {
        match self.op {
            Op::None => None,
            Op::Skip => x.cloned(),
            // Average pooling of zeros is zeros.
            Op::AvgPool3x3 => x.map(|x| self.pool.as_ref().expect("pool").forward(x.clone())),
            // A convolution of zeros is not zero after a training-mode batch norm (its output is
            // the shift β), so it runs on real zeros, as the benchmark's networks do.
            Op::Conv1x1 | Op::Conv3x3 => {
                let input = x.cloned().unwrap_or_else(zeros);
                Some(self.conv.as_ref().expect("conv").forward(input))
            }
        }
    }
}

/// A cell: node j is the sum of its incoming edges' outputs; the output is node 3.
#[derive(Module, Debug)]
pub struct CellModule {
    edges: Vec<EdgeModule>,
}

impl CellModule {
    fn new(cell: &Cell, c: usize, device: &Device) -> Self {
        CellModule {
            edges: cell
                .ops
                .iter()
                .map(|&op| EdgeModule::new(op, c, device))
                .collect(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let dims = x.dims();
        let device = x.device();
        let zeros = move || Tensor::<4>::zeros(dims, &device);
        let mut nodes: Vec<Option<Tensor<4>>> = vec![Some(x)];
        for j in 1..4 {
            let mut sum: Option<Tensor<4>> = None;
            for (e, &(from, to)) in EDGES.iter().enumerate() {
                if to != j {
                    continue;
                }
                if let Some(out) = self.edges[e].forward(nodes[from].as_ref(), &zeros) {
                    sum = Some(match sum {
                        Some(s) => s + out,
                        None => out,
                    });
                }
            }
            nodes.push(sum);
        }
        nodes.pop().flatten().unwrap_or_else(zeros)
    }
}

/// The stride-2 residual block between stages.
#[derive(Module, Debug)]
pub struct ResBlock {
    conv_a: ReluConvBn,
    conv_b: ReluConvBn,
    shortcut_pool: AvgPool2d,
    shortcut_conv: Conv2d,
}

impl ResBlock {
    fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        ResBlock {
            conv_a: ReluConvBn::new(c_in, c_out, 3, 2, device),
            conv_b: ReluConvBn::new(c_out, c_out, 3, 1, device),
            shortcut_pool: AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            shortcut_conv: conv(c_in, c_out, 1, 1, 0, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let main = self.conv_b.forward(self.conv_a.forward(x.clone()));
        main + self.shortcut_conv.forward(self.shortcut_pool.forward(x))
    }
}

/// The cells of one stage.
#[derive(Module, Debug)]
pub struct StageModule {
    cells: Vec<CellModule>,
}

/// The NAS-Bench-201 network: stem, three stages of cells with residual reductions between
/// them, then batch norm, ReLU, global average pooling and a linear classifier.
#[derive(Module, Debug)]
pub struct Nb201Net {
    stem_conv: Conv2d,
    stem_bn: BatchNorm,
    stages: Vec<StageModule>,
    reductions: Vec<ResBlock>,
    last_bn: BatchNorm,
    classifier: Linear,
}

impl Nb201Net {
    /// Logits `[batch, classes]` for images `[batch, channels, side, side]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = self.stem_bn.forward(self.stem_conv.forward(x));
        for (i, stage) in self.stages.iter().enumerate() {
            if i > 0 {
                x = self.reductions[i - 1].forward(x);
            }
            for cell in &stage.cells {
                x = cell.forward(x);
            }
        }
        let x = relu(self.last_bn.forward(x));
        let [b, c, _, _] = x.dims();
        let pooled = x.mean_dim(3).mean_dim(2).reshape([b, c]);
        self.classifier.forward(pooled)
    }

    /// Learnable parameters (weights, biases, batch-norm scale and shift; not running
    /// statistics).
    pub fn trainable_params(&self) -> usize {
        // burn's `num_params` also counts each batch norm's running mean and variance.
        let mut bns: Vec<&BatchNorm> = vec![&self.stem_bn, &self.last_bn];
        for r in &self.reductions {
            bns.extend([&r.conv_a.bn, &r.conv_b.bn]);
        }
        for stage in &self.stages {
            for cell in &stage.cells {
                bns.extend(
                    cell.edges
                        .iter()
                        .filter_map(|e| e.conv.as_ref().map(|c| &c.bn)),
                );
            }
        }
        let running: usize = bns
            .iter()
            .map(|bn| 2 * bn.gamma.shape().num_elements())
            .sum();
        self.num_params() - running
    }
}

impl Network for Nb201Net {
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        Nb201Net::forward(self, x)
    }

    fn trainable_params(&self) -> usize {
        Nb201Net::trainable_params(self)
    }
}

impl NetSpec for Nb201NetConfig {
    type Net = Nb201Net;

    fn check(&self) -> Result<()> {
        Nb201NetConfig::check(self)
    }

    fn cost(&self) -> Cost {
        Nb201NetConfig::cost(self)
    }

    fn input_shape(&self) -> [usize; 3] {
        let s = &self.skeleton;
        [s.input_channels, s.input_size, s.input_size]
    }

    fn init(&self, device: &Device) -> Nb201Net {
        Nb201NetConfig::init(self, device)
    }

    fn init_seeded(&self, device: &Device, seed: u64) -> Nb201Net {
        Nb201NetConfig::init_seeded(self, device, seed)
    }
}

impl TrainableArch for Cell {
    type Spec = Nb201NetConfig;

    fn net_spec(&self, sizes: &NetSizes) -> Nb201NetConfig {
        Nb201NetConfig::new(
            *self,
            Nb201Macro {
                channels: sizes.channels,
                cells_per_stage: sizes.cells_per_stage,
                classes: sizes.classes,
                input_size: sizes.input_size,
                input_channels: sizes.input_channels,
            },
        )
    }
}
