//! The NASNet/DARTS-style network of a [`Genotype`] (config, then `init(device)`); its layout
//! is [`NasnetMacro`]'s.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use nasbo_core::cost::Cost;
use nasbo_core::nasnet::{ConvSpec, Genotype, NasnetCell, NasnetMacro, Op};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::net::{NetSizes, NetSpec, Network, TrainableArch};

/// Everything that defines a NASNet network: the genotype and the macro skeleton's sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NasnetNetConfig {
    /// The normal and reduction cells.
    pub genotype: Genotype,
    /// C, N, classes, input side and channels, stem multiplier.
    pub skeleton: NasnetMacro,
}

impl NasnetNetConfig {
    /// A network of `genotype` inside `skeleton`.
    pub fn new(genotype: Genotype, skeleton: NasnetMacro) -> Self {
        NasnetNetConfig { genotype, skeleton }
    }
}

impl NetSpec for NasnetNetConfig {
    type Net = NasnetNet;

    /// Every size must be positive and each cell must have a block.
    fn check(&self) -> Result<()> {
        let s = &self.skeleton;
        if s.channels == 0
            || s.classes == 0
            || s.input_channels == 0
            || s.input_size == 0
            || s.stem_multiplier == 0
        {
            return Err(TrainError::Params(format!(
                "channels, classes, input channels, input size and stem multiplier must be \
                 positive: {s:?}"
            )));
        }
        if self.genotype.normal.blocks.is_empty() || self.genotype.reduce.blocks.is_empty() {
            return Err(TrainError::Params("a NASNet cell needs a block".into()));
        }
        Ok(())
    }

    fn cost(&self) -> Cost {
        self.skeleton.cost(&self.genotype)
    }

    fn input_shape(&self) -> [usize; 3] {
        let s = &self.skeleton;
        [s.input_channels, s.input_size, s.input_size]
    }

    fn init(&self, device: &Device) -> NasnetNet {
        let s = &self.skeleton;
        let stem_c = s.stem_multiplier * s.channels;
        let stem = ConvUnit::new(
            s.input_channels,
            stem_c,
            &[full_conv([3, 3], [1, 1])],
            false,
            device,
        );
        let cells = s
            .plan(&self.genotype)
            .into_iter()
            .map(|p| {
                let cell = if p.reduction {
                    &self.genotype.reduce
                } else {
                    &self.genotype.normal
                };
                CellModule::new(cell, &p, device)
            })
            .collect();
        let features = s.final_channels(&self.genotype);
        NasnetNet {
            stem,
            cells,
            classifier: LinearConfig::new(features, s.classes).init(device),
        }
    }
}

impl TrainableArch for Genotype {
    type Spec = NasnetNetConfig;

    fn net_spec(&self, sizes: &NetSizes) -> NasnetNetConfig {
        NasnetNetConfig::new(
            self.clone(),
            NasnetMacro {
                channels: sizes.channels,
                cells_per_stack: sizes.cells_per_stage,
                classes: sizes.classes,
                input_size: sizes.input_size,
                input_channels: sizes.input_channels,
                ..NasnetMacro::default()
            },
        )
    }
}

fn full_conv(kernel: [usize; 2], stride: [usize; 2]) -> ConvSpec {
    ConvSpec {
        kernel,
        stride,
        dilation: 1,
        depthwise: false,
    }
}

/// Optional ReLU → convolutions (no bias) → batch norm.
#[derive(Module, Debug)]
pub struct ConvUnit {
    #[module(skip)]
    relu: bool,
    convs: Vec<Conv2d>,
    bn: BatchNorm,
}

impl ConvUnit {
    /// The first convolution maps `c_in` to `c_out` channels, the others keep `c_out`.
    fn new(c_in: usize, c_out: usize, specs: &[ConvSpec], relu: bool, device: &Device) -> Self {
        let convs = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let from = if i == 0 { c_in } else { c_out };
                let [ph, pw] = spec.padding();
                Conv2dConfig::new([from, c_out], spec.kernel)
                    .with_stride(spec.stride)
                    .with_dilation([spec.dilation, spec.dilation])
                    .with_groups(if spec.depthwise { from } else { 1 })
                    .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
                    .with_bias(false)
                    .init(device)
            })
            .collect();
        ConvUnit {
            relu,
            convs,
            bn: BatchNormConfig::new(c_out).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = if self.relu { relu(x) } else { x };
        let x = self.convs.iter().fold(x, |x, conv| conv.forward(x));
        self.bn.forward(x)
    }
}

/// One branch of a block: a pooling, a sequence of conv units, or the identity.
#[derive(Module, Debug)]
pub struct OpModule {
    units: Vec<ConvUnit>,
    max_pool: Option<MaxPool2d>,
    avg_pool: Option<AvgPool2d>,
}

impl OpModule {
    fn new(op: Op, c: usize, stride: usize, device: &Device) -> Self {
        let units = op
            .conv_units(stride)
            .iter()
            .map(|specs| ConvUnit::new(c, c, specs, true, device))
            .collect();
        let (mut max_pool, mut avg_pool) = (None, None);
        if let Some(k) = op.pool_size() {
            let p = k / 2;
            let padding = PaddingConfig2d::Explicit(p, p, p, p);
            if op == Op::AvgPool3x3 {
                avg_pool = Some(
                    AvgPool2dConfig::new([k, k])
                        .with_strides([stride, stride])
                        .with_padding(padding)
                        .with_count_include_pad(false)
                        .init(),
                );
            } else {
                max_pool = Some(
                    MaxPool2dConfig::new([k, k])
                        .with_strides([stride, stride])
                        .with_padding(padding)
                        .init(),
                );
            }
        }
        OpModule {
            units,
            max_pool,
            avg_pool,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        if let Some(pool) = &self.max_pool {
            pool.forward(x)
        } else if let Some(pool) = &self.avg_pool {
            pool.forward(x)
        } else {
            self.units.iter().fold(x, |x, unit| unit.forward(x))
        }
    }
}

/// One cell: preprocessing of the inputs it reads, two branches per block, and the
/// concatenation of the unused blocks.
#[derive(Module, Debug)]
pub struct CellModule {
    preprocess: Vec<Option<ConvUnit>>,
    branches: Vec<OpModule>,
    #[module(skip)]
    inputs: Vec<usize>,
    #[module(skip)]
    outputs: Vec<usize>,
}

impl CellModule {
    fn new(cell: &NasnetCell, p: &nasbo_core::nasnet::CellPlan, device: &Device) -> Self {
        let c = p.channels;
        let preprocess = (0..2)
            .map(|k| {
                cell.reads_input(k).then(|| {
                    // h[i-2] is twice h[i-1]'s side after a reduction cell.
                    let stride = if k == 0 && p.reduction_prev { 2 } else { 1 };
                    let spec = full_conv([1, 1], [stride, stride]);
                    ConvUnit::new(p.in_channels[k], c, &[spec], true, device)
                })
            })
            .collect();
        let mut branches = Vec::new();
        let mut inputs = Vec::new();
        for branch in cell.blocks.iter().flat_map(|b| b.branches) {
            let stride = if p.reduction && branch.input < 2 {
                2
            } else {
                1
            };
            branches.push(OpModule::new(branch.op, c, stride, device));
            inputs.push(branch.input);
        }
        CellModule {
            preprocess,
            branches,
            inputs,
            outputs: cell.output_blocks(),
        }
    }

    fn forward(&self, s0: Tensor<4>, s1: Tensor<4>) -> Tensor<4> {
        let mut states: Vec<Option<Tensor<4>>> = [s0, s1]
            .into_iter()
            .zip(&self.preprocess)
            .map(|(s, pre)| pre.as_ref().map(|pre| pre.forward(s)))
            .collect();
        for (pair, inputs) in self.branches.chunks(2).zip(self.inputs.chunks(2)) {
            let term = |k: usize| {
                let x = states[inputs[k]].clone().expect("a read input is computed");
                pair[k].forward(x)
            };
            let sum = term(0) + term(1);
            states.push(Some(sum));
        }
        let outs: Vec<Tensor<4>> = self
            .outputs
            .iter()
            .map(|&b| states[b + 2].take().expect("every block is computed"))
            .collect();
        Tensor::cat(outs, 1)
    }
}

/// The NASNet network: stem, three stacks of normal cells with a reduction cell between them,
/// global average pooling and a linear classifier.
#[derive(Module, Debug)]
pub struct NasnetNet {
    stem: ConvUnit,
    cells: Vec<CellModule>,
    classifier: Linear,
}

impl Network for NasnetNet {
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let stem = self.stem.forward(x);
        let (mut s0, mut s1) = (stem.clone(), stem);
        for cell in &self.cells {
            let out = cell.forward(s0, s1.clone());
            s0 = s1;
            s1 = out;
        }
        let [b, c, _, _] = s1.dims();
        let pooled = s1.mean_dim(3).mean_dim(2).reshape([b, c]);
        self.classifier.forward(pooled)
    }
}
