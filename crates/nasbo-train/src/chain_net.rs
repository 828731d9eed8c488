//! A chain network built from the layers of a declared space's architecture
//! ([`DeclaredSpace::layer_chain`](nasbo_arch::declared::DeclaredSpace::layer_chain)): a stem
//! convolution, the layers in order, global average pooling and a linear classifier.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use nasbo_arch::declared::LayerSpec;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

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
        }
    }

    /// Sets the stem's output channels.
    pub fn with_stem_channels(mut self, channels: usize) -> Self {
        self.stem_channels = channels;
        self
    }

    /// Checks the sizes and returns the channels and side of the last layer's output: every
    /// size is positive and no layer shrinks the image below one pixel (nor pools a window
    /// larger than its input).
    pub fn check(&self) -> Result<(usize, usize)> {
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
        for (i, layer) in self.layers.iter().enumerate() {
            side = match *layer {
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
            channels = layer.out_channels(channels);
        }
        Ok((channels, side))
    }

    /// Builds the network with freshly initialised weights on `device`. Fails when
    /// [`ChainNetConfig::check`] does.
    pub fn init(&self, device: &Device) -> Result<ChainNet> {
        let (last_channels, _) = self.check()?;
        let mut channels = self.stem_channels;
        let mut layers = Vec::with_capacity(self.layers.len());
        for &spec in &self.layers {
            layers.push(ChainLayer::new(spec, channels, device));
            channels = spec.out_channels(channels);
        }
        Ok(ChainNet {
            stem: ConvBn::new(self.input_channels, self.stem_channels, 3, 1, 1, device),
            layers,
            classifier: LinearConfig::new(last_channels, self.classes).init(device),
        })
    }
}

/// Convolution (no bias, "same" padding for odd kernels) → batch norm.
#[derive(Module, Debug)]
pub struct ConvBn {
    conv: Conv2d,
    bn: BatchNorm,
}

impl ConvBn {
    fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
        device: &Device,
    ) -> Self {
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
        let mut convs = Vec::new();
        let (mut max_pool, mut avg_pool) = (None, None);
        match spec {
            LayerSpec::Identity => {}
            LayerSpec::Conv { kernel, stride, .. } => {
                convs.push(ConvBn::new(c_in, c_out, kernel, stride, 1, device));
            }
            LayerSpec::SepConv { kernel, stride, .. } => {
                convs.push(ConvBn::new(c_in, c_in, kernel, stride, c_in, device));
                convs.push(ConvBn::new(c_in, c_out, 1, 1, 1, device));
            }
            LayerSpec::MbConv {
                expand,
                kernel,
                stride,
                ..
            } => {
                let hidden = c_in * expand;
                if expand > 1 {
                    convs.push(ConvBn::new(c_in, hidden, 1, 1, 1, device));
                }
                convs.push(ConvBn::new(hidden, hidden, kernel, stride, hidden, device));
                convs.push(ConvBn::new(hidden, c_out, 1, 1, 1, device));
            }
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

impl ChainNet {
    /// Logits `[batch, classes]` for images `[batch, channels, side, side]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = relu(self.stem.forward(x));
        for layer in &self.layers {
            x = layer.forward(x);
        }
        let [b, c, _, _] = x.dims();
        self.classifier
            .forward(x.mean_dim(3).mean_dim(2).reshape([b, c]))
    }
}
