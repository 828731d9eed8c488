//! A chain network built from the layers of a declared space's architecture
//! ([`DeclaredSpace::layer_chain`](nasbo_core::declared::DeclaredSpace::layer_chain)): a stem
//! convolution, the layers in order, global average pooling and a linear classifier.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use nasbo_core::cost::Cost;
use nasbo_core::declared::LayerSpec;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::net::{NetSizes, NetSpec, Network, TrainableArch};

/// Everything that defines a chain network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainNetConfig {
    /// The layers, in order.
    pub layers: Vec<LayerSpec>,
    /// Channels of the input images.
    pub input_channels: usize,
    /// Side of the (square) input images.
    pub input_size: usize,
    /// Output channels of the stem (a 3×3 convolution → batch norm → ReLU).
    pub stem_channels: usize,
    /// Number of classes.
    pub classes: usize,
    /// Largest estimated memory in bytes (see [`ChainNetConfig::memory_bytes`]) of a network
    /// that may be built; a larger one is refused by [`ChainNetConfig::plan`] (a failed
    /// trial, not an allocation abort). Default [`DEFAULT_MEMORY_LIMIT_BYTES`].
    #[serde(default = "default_memory_limit")]
    pub memory_limit_bytes: u64,
}

/// The default [`ChainNetConfig::memory_limit_bytes`]: 4 GiB.
pub const DEFAULT_MEMORY_LIMIT_BYTES: u64 = 4 << 30;

fn default_memory_limit() -> u64 {
    DEFAULT_MEMORY_LIMIT_BYTES
}

impl ChainNetConfig {
    /// A network of `layers` for `input_channels`-channel images of side `input_size`, with a
    /// 16-channel stem.
    pub fn new(
        layers: Vec<LayerSpec>,
        input_channels: usize,
        input_size: usize,
        classes: usize,
    ) -> Self {
        ChainNetConfig {
            layers,
            input_channels,
            input_size,
            stem_channels: 16,
            classes,
            memory_limit_bytes: DEFAULT_MEMORY_LIMIT_BYTES,
        }
    }

    /// Sets the largest estimated memory of a network that may be built.
    pub fn with_memory_limit_bytes(mut self, bytes: u64) -> Self {
        self.memory_limit_bytes = bytes;
        self
    }

    /// An estimate, with checked arithmetic, of the memory in bytes that training the network
    /// needs besides its batch: every convolution's and the classifier's weights four times
    /// (value, gradient, momentum, a copy during the update) plus every layer's output for one
    /// image twice (value and gradient), in 4-byte floats. `None` when it overflows `u64`
    /// (a layer of absurd size). Expects sizes that [`ChainNetConfig::plan`]'s shape pass
    /// accepts.
    pub fn memory_bytes(&self, shapes: &[LayerShape]) -> Option<u64> {
        let u = |v: usize| u64::try_from(v).ok();
        let conv = |c_in: u64, c_out: u64, k: u64, groups: u64, side: u64| -> Option<(u64, u64)> {
            let w = c_out
                .checked_mul(c_in / groups.max(1))?
                .checked_mul(k)?
                .checked_mul(k)?;
            Some((
                w.checked_add(c_out.checked_mul(2)?)?,
                c_out.checked_mul(side)?.checked_mul(side)?,
            ))
        };
        let (mut params, mut acts) = conv(
            u(self.input_channels)?,
            u(self.stem_channels)?,
            3,
            1,
            u(self.input_size)?,
        )?;
        for (spec, shape) in self.layers.iter().zip(shapes) {
            let (c_in, c_out) = (u(shape.in_channels)?, u(shape.out_channels)?);
            let (side, out) = (u(shape.in_side)?, u(shape.out_side)?);
            let parts: Vec<(u64, u64, u64, u64, u64)> = match *spec {
                LayerSpec::Identity | LayerSpec::MaxPool { .. } | LayerSpec::AvgPool { .. } => {
                    vec![]
                }
                LayerSpec::Conv { kernel, .. } => vec![(c_in, c_out, u(kernel)?, 1, out)],
                LayerSpec::SepConv { kernel, .. } => {
                    vec![
                        (c_in, c_in, u(kernel)?, c_in, out),
                        (c_in, c_out, 1, 1, out),
                    ]
                }
                LayerSpec::MbConv { expand, kernel, .. } => {
                    let hidden = c_in.checked_mul(u(expand)?)?;
                    vec![
                        (c_in, hidden, 1, 1, side),
                        (hidden, hidden, u(kernel)?, hidden, out),
                        (hidden, c_out, 1, 1, out),
                    ]
                }
            };
            for (ci, co, k, g, sd) in parts {
                let (p, a) = conv(ci, co, k, g, sd)?;
                params = params.checked_add(p)?;
                acts = acts.checked_add(a)?;
            }
            acts = acts.checked_add(c_out.checked_mul(out)?.checked_mul(out)?)?;
        }
        let features = u(shapes.last().map_or(self.stem_channels, |s| s.out_channels))?;
        let classes = u(self.classes)?;
        params = params.checked_add(features.checked_mul(classes)?.checked_add(classes)?)?;
        params
            .checked_mul(4)?
            .checked_add(acts.checked_mul(2)?)?
            .checked_mul(4)
    }

    /// Sets the stem's output channels.
    pub fn with_stem_channels(mut self, channels: usize) -> Self {
        self.stem_channels = channels;
        self
    }

    /// The input and output shape of every layer, after checking the sizes: every size is
    /// positive and no layer shrinks the image below one pixel (nor pools a window larger than
    /// its input).
    pub fn plan(&self) -> Result<Vec<LayerShape>> {
        if self.input_channels == 0
            || self.input_size == 0
            || self.stem_channels == 0
            || self.classes == 0
        {
            return Err(TrainError::Params(format!(
                "input channels, input size, stem channels and classes must be positive: {self:?}"
            )));
        }
        let (mut channels, mut side) = (self.stem_channels, self.input_size);
        let mut shapes = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let out_side = match *layer {
                LayerSpec::MaxPool { kernel, stride } | LayerSpec::AvgPool { kernel, stride } => {
                    if side < kernel {
                        return Err(TrainError::Params(format!(
                            "layer {i} (`{layer}`) pools a {kernel}×{kernel} window over a {side}×{side} input"
                        )));
                    }
                    (side - kernel) / stride + 1
                }
                // Odd kernels with padding kernel/2 keep the side at stride 1.
                _ => (side - 1) / layer.stride() + 1,
            };
            let shape = LayerShape {
                in_channels: channels,
                in_side: side,
                out_channels: layer.out_channels(channels),
                out_side,
            };
            shapes.push(shape);
            (channels, side) = (shape.out_channels, shape.out_side);
        }
        match self.memory_bytes(&shapes) {
            Some(b) if b <= self.memory_limit_bytes => Ok(shapes),
            estimate => Err(TrainError::Params(format!(
                "the network would need about {} of memory (parameters, gradients, momentum \
                 and one image's activations), above the limit of {} bytes; largest layer \
                 output: {} channels",
                estimate.map_or("more than 2^64 bytes".to_string(), |b| format!("{b} bytes")),
                self.memory_limit_bytes,
                shapes
                    .iter()
                    .map(|s| s.out_channels)
                    .max()
                    .unwrap_or(self.stem_channels)
            ))),
        }
    }

    /// Checks the sizes (see [`ChainNetConfig::plan`]) and returns the channels and side of the
    /// last layer's output (the stem's when there is no layer).
    pub fn output_shape(&self) -> Result<(usize, usize)> {
        let shapes = self.plan()?;
        Ok(shapes
            .last()
            .map_or((self.stem_channels, self.input_size), |s| {
                (s.out_channels, s.out_side)
            }))
    }
}

/// Channels and side of one layer's input and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerShape {
    /// Channels of the input.
    pub in_channels: usize,
    /// Side of the (square) input.
    pub in_side: usize,
    /// Channels of the output.
    pub out_channels: usize,
    /// Side of the output.
    pub out_side: usize,
}

/// The convolutions of one layer, in order, each as `(c_in, c_out, kernel, stride, groups)`,
/// every one followed by a batch norm. The network and its cost model both read this list.
fn layer_convs(spec: LayerSpec, c_in: usize) -> Vec<[usize; 5]> {
    let c_out = spec.out_channels(c_in);
    match spec {
        LayerSpec::Identity | LayerSpec::MaxPool { .. } | LayerSpec::AvgPool { .. } => vec![],
        LayerSpec::Conv { kernel, stride, .. } => vec![[c_in, c_out, kernel, stride, 1]],
        LayerSpec::SepConv { kernel, stride, .. } => {
            vec![[c_in, c_in, kernel, stride, c_in], [c_in, c_out, 1, 1, 1]]
        }
        LayerSpec::MbConv {
            expand,
            kernel,
            stride,
            ..
        } => {
            let hidden = c_in * expand;
            let mut convs = Vec::with_capacity(3);
            if expand > 1 {
                convs.push([c_in, hidden, 1, 1, 1]);
            }
            convs.push([hidden, hidden, kernel, stride, hidden]);
            convs.push([hidden, c_out, 1, 1, 1]);
            convs
        }
    }
}

/// Parameters and multiply-accumulates of a bias-free convolution followed by a batch norm.
fn conv_bn_cost(cost: &mut Cost, [c_in, c_out, kernel, stride, groups]: [usize; 5], side: usize) {
    let out_side = (side - 1) / stride + 1;
    let weights = (c_out * (c_in / groups) * kernel * kernel) as u64;
    cost.params += weights + 2 * c_out as u64;
    cost.flops += weights * (out_side * out_side) as u64;
}

impl NetSpec for ChainNetConfig {
    type Net = ChainNet;

    /// Every size must be positive and no layer may shrink the image away (see
    /// [`ChainNetConfig::plan`]).
    fn check(&self) -> Result<()> {
        self.plan().map(|_| ())
    }

    /// Exact learnable parameters (convolution weights, batch-norm scale and shift, classifier
    /// weights and bias) and multiply-accumulates of the convolutions and the classifier for
    /// one image; pooling, additions and activations count as free. Zero when the sizes are
    /// bad.
    fn cost(&self) -> Cost {
        let Ok(shapes) = self.plan() else {
            return Cost {
                params: 0,
                flops: 0,
            };
        };
        let mut cost = Cost {
            params: 0,
            flops: 0,
        };
        conv_bn_cost(
            &mut cost,
            [self.input_channels, self.stem_channels, 3, 1, 1],
            self.input_size,
        );
        for (spec, shape) in self.layers.iter().zip(&shapes) {
            // Each convolution reads the previous one's output.
            let mut side = shape.in_side;
            for conv in layer_convs(*spec, shape.in_channels) {
                conv_bn_cost(&mut cost, conv, side);
                side = (side - 1) / conv[3] + 1;
            }
        }
        let features = shapes.last().map_or(self.stem_channels, |s| s.out_channels);
        let classifier = (features * self.classes) as u64;
        cost.params += classifier + self.classes as u64;
        cost.flops += classifier;
        cost
    }

    fn input_shape(&self) -> [usize; 3] {
        [self.input_channels, self.input_size, self.input_size]
    }

    /// Builds the network with freshly initialised weights on `device`.
    ///
    /// # Panics
    ///
    /// When [`NetSpec::check`] fails (the trainer checks first).
    fn init(&self, device: &Device) -> ChainNet {
        let shapes = self
            .plan()
            .unwrap_or_else(|e| panic!("a chain network with bad sizes: {e}"));
        let last_channels = shapes.last().map_or(self.stem_channels, |s| s.out_channels);
        let layers = self
            .layers
            .iter()
            .zip(&shapes)
            .map(|(&spec, shape)| ChainLayer::new(spec, shape.in_channels, device))
            .collect();
        ChainNet {
            stem: ConvBn::new([self.input_channels, self.stem_channels, 3, 1, 1], device),
            layers,
            classifier: LinearConfig::new(last_channels, self.classes).init(device),
        }
    }
}

/// The layers of a declared space's architecture (from
/// [`DeclaredSpace::layer_chain`](nasbo_core::declared::DeclaredSpace::layer_chain)), as an
/// architecture the trainer can build: its network is a [`ChainNetConfig`] whose stem has the
/// configured width ([`NetSizes::channels`]); [`NetSizes::cells_per_stage`] is not used.
///
/// ```
/// use nasbo_train::{DeviceChoice, LayerChain, NetSizes, NetSpec, Network, TrainableArch};
///
/// let layers = ["conv(kernel=3, channels=16)", "maxpool(kernel=2)", "mbconv(expand=3, kernel=5)"];
/// let arch = LayerChain(layers.iter().map(|l| l.parse().unwrap()).collect());
/// let sizes = NetSizes {
///     channels: 8,
///     cells_per_stage: 1,
///     classes: 10,
///     input_size: 28,
///     input_channels: 1,
/// };
/// let spec = arch.net_spec(&sizes);
/// assert_eq!(spec.output_shape().unwrap(), (16, 14));
/// let net = spec.init_seeded(&DeviceChoice::Cpu.device().unwrap(), 0);
/// assert_eq!(net.trainable_params() as u64, spec.cost().params);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LayerChain(pub Vec<LayerSpec>);

impl TrainableArch for LayerChain {
    type Spec = ChainNetConfig;

    fn net_spec(&self, sizes: &NetSizes) -> ChainNetConfig {
        ChainNetConfig::new(
            self.0.clone(),
            sizes.input_channels,
            sizes.input_size,
            sizes.classes,
        )
        .with_stem_channels(sizes.channels)
    }
}

/// Convolution (no bias, "same" padding for odd kernels) → batch norm.
#[derive(Module, Debug)]
pub struct ConvBn {
    conv: Conv2d,
    bn: BatchNorm,
}

impl ConvBn {
    fn new([c_in, c_out, kernel, stride, groups]: [usize; 5], device: &Device) -> Self {
        let pad = kernel / 2;
        ConvBn {
            conv: Conv2dConfig::new([c_in, c_out], [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .with_groups(groups)
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(c_out).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(self.conv.forward(x))
    }
}

/// One layer of the chain: its spec, and the modules it needs.
///
/// - `conv`: one [`ConvBn`], then ReLU.
/// - `sepconv`: depthwise [`ConvBn`] → ReLU → pointwise [`ConvBn`] → ReLU.
/// - `mbconv`: 1×1 expansion [`ConvBn`] → ReLU (left out when `expand` is 1), depthwise
///   [`ConvBn`] → ReLU, 1×1 projection [`ConvBn`]; plus the input when the shape is kept.
/// - pools and identity: no weights.
#[derive(Module, Debug)]
pub struct ChainLayer {
    #[module(skip)]
    spec: LayerSpec,
    #[module(skip)]
    residual: bool,
    convs: Vec<ConvBn>,
    max_pool: Option<MaxPool2d>,
    avg_pool: Option<AvgPool2d>,
}

impl ChainLayer {
    fn new(spec: LayerSpec, c_in: usize, device: &Device) -> Self {
        let c_out = spec.out_channels(c_in);
        let convs = layer_convs(spec, c_in)
            .into_iter()
            .map(|conv| ConvBn::new(conv, device))
            .collect();
        let (mut max_pool, mut avg_pool) = (None, None);
        match spec {
            LayerSpec::MaxPool { kernel, stride } => {
                max_pool = Some(
                    MaxPool2dConfig::new([kernel, kernel])
                        .with_strides([stride, stride])
                        .init(),
                );
            }
            LayerSpec::AvgPool { kernel, stride } => {
                avg_pool = Some(
                    AvgPool2dConfig::new([kernel, kernel])
                        .with_strides([stride, stride])
                        .init(),
                );
            }
            _ => {}
        }
        let residual =
            matches!(spec, LayerSpec::MbConv { .. }) && spec.stride() == 1 && c_in == c_out;
        ChainLayer {
            spec,
            residual,
            convs,
            max_pool,
            avg_pool,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self.spec {
            LayerSpec::Identity => x,
            LayerSpec::MaxPool { .. } => self.max_pool.as_ref().expect("max pool").forward(x),
            LayerSpec::AvgPool { .. } => self.avg_pool.as_ref().expect("avg pool").forward(x),
            LayerSpec::Conv { .. } | LayerSpec::SepConv { .. } => {
                self.convs.iter().fold(x, |h, conv| relu(conv.forward(h)))
            }
            LayerSpec::MbConv { .. } => {
                let (project, rest) = self.convs.split_last().expect("mbconv has convolutions");
                let hidden = rest.iter().fold(x.clone(), |h, conv| relu(conv.forward(h)));
                let out = project.forward(hidden);
                if self.residual {
                    out + x
                } else {
                    out
                }
            }
        }
    }
}

/// A chain network: stem, layers, global average pooling, linear classifier.
#[derive(Module, Debug)]
pub struct ChainNet {
    stem: ConvBn,
    layers: Vec<ChainLayer>,
    classifier: Linear,
}

impl Network for ChainNet {
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = relu(self.stem.forward(x));
        for layer in &self.layers {
            x = layer.forward(x);
        }
        let [b, c, _, _] = x.dims();
        self.classifier
            .forward(x.mean_dim(3).mean_dim(2).reshape([b, c]))
    }
}
