//! Parameter and FLOP counts of full networks, computed from the genotype alone.

use serde::{Deserialize, Serialize};

use crate::nb201::{Cell, Op};

/// The size of a network: learnable parameters and multiply-accumulates for one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// Learnable parameters (convolution and linear weights and biases, batch-norm affine).
    pub params: u64,
    /// Multiply-accumulates of the convolution and linear layers for one input image.
    pub flops: u64,
}

impl Cost {
    /// Parameters in millions (the benchmark's `params_mb`).
    pub fn params_m(&self) -> f64 {
        self.params as f64 / 1e6
    }

    /// FLOPs in millions (the benchmark's `flops_m`).
    pub fn flops_m(&self) -> f64 {
        self.flops as f64 / 1e6
    }
}

/// The macro network of NAS-Bench-201 around a cell.
///
/// Stem: 3×3 convolution to `channels`, batch norm. Then three stages of `cells_per_stage`
/// cells at `channels`, 2×, 4× `channels`, separated by stride-2 residual blocks (two
/// ReLU→3×3 conv→BN, with a 2×2 average pool + 1×1 conv shortcut). Then BN, ReLU, global
/// average pooling and a linear classifier. Each convolutional op is ReLU→conv→BN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nb201Macro {
    /// Channels of the first stage (C; 16 in the benchmark).
    pub channels: usize,
    /// Cells per stage (N; 5 in the benchmark).
    pub cells_per_stage: usize,
    /// Classes of the classifier (10 for CIFAR-10, 100 for CIFAR-100, 120 for ImageNet16-120).
    pub classes: usize,
    /// Side of the square input image (32, or 16 for ImageNet16-120).
    pub input_size: usize,
    /// Channels of the input image (3 for colour, 1 for grey).
    pub input_channels: usize,
}

impl Default for Nb201Macro {
    fn default() -> Self {
        Nb201Macro {
            channels: 16,
            cells_per_stage: 5,
            classes: 10,
            input_size: 32,
            input_channels: 3,
        }
    }
}

impl Nb201Macro {
    /// The benchmark's network for a dataset with `classes` classes and `input_size` inputs.
    pub fn benchmark(classes: usize, input_size: usize) -> Self {
        Nb201Macro {
            classes,
            input_size,
            ..Self::default()
        }
    }

    /// Channels of each stage, and whether a stride-2 block precedes it.
    pub fn stage_channels(&self) -> [usize; 3] {
        [self.channels, 2 * self.channels, 4 * self.channels]
    }

    /// Parameters and FLOPs of the whole network with `cell` in every cell position.
    pub fn cost(&self, cell: &Cell) -> Cost {
        let mut counter = Counter::default();
        let mut side = self.input_size as u64;
        let c0 = self.channels as u64;
        counter.conv(self.input_channels as u64, c0, 3, side);
        counter.batch_norm(c0);
        let mut prev = c0;
        for (stage, &c) in self.stage_channels().iter().enumerate() {
            let c = c as u64;
            if stage > 0 {
                // Residual block, stride 2: 3×3 conv (pad 1) then 3×3 conv, 1×1 conv shortcut.
                side = side.div_ceil(2);
                counter.conv(prev, c, 3, side);
                counter.batch_norm(c);
                counter.conv(c, c, 3, side);
                counter.batch_norm(c);
                counter.conv(prev, c, 1, side);
            }
            for _ in 0..self.cells_per_stage {
                for op in cell.ops {
                    match op {
                        Op::Conv1x1 => {
                            counter.conv(c, c, 1, side);
                            counter.batch_norm(c);
                        }
                        Op::Conv3x3 => {
                            counter.conv(c, c, 3, side);
                            counter.batch_norm(c);
                        }
                        Op::None | Op::Skip | Op::AvgPool3x3 => {}
                    }
                }
            }
            prev = c;
        }
        counter.batch_norm(prev);
        let classes = self.classes as u64;
        counter.params += prev * classes + classes;
        counter.flops += prev * classes + classes;
        Cost {
            params: counter.params,
            flops: counter.flops,
        }
    }
}

/// Running totals of a cost model.
#[derive(Default)]
pub(crate) struct Counter {
    pub(crate) params: u64,
    pub(crate) flops: u64,
}

impl Counter {
    /// A bias-free square convolution whose output is `side × side`.
    pub(crate) fn conv(&mut self, c_in: u64, c_out: u64, kernel: u64, side: u64) {
        let weights = c_in * c_out * kernel * kernel;
        self.params += weights;
        self.flops += weights * side * side;
    }

    pub(crate) fn batch_norm(&mut self, c: u64) {
        self.params += 2 * c;
    }
}
