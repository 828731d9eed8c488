//! Inference latency measured on the device.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

use crate::net::{NetSpec, Network};

/// How latency is measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LatencyConfig {
    /// Untimed forward passes first (kernel compilation, allocation).
    pub warmup: usize,
    /// Timed forward passes; the median is reported.
    pub repeats: usize,
    /// The small batch size (1).
    pub small_batch: usize,
    /// The large batch size (64).
    pub large_batch: usize,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig {
            warmup: 3,
            repeats: 10,
            small_batch: 1,
            large_batch: 64,
        }
    }
}

/// Median latency in milliseconds of one forward pass of `batch` images through `model`
/// (put in inference mode) on `device`, after `warmup` untimed passes. Each pass reads its
/// result back, so asynchronous devices are timed to completion.
pub fn median_latency_ms<N: NetSpec>(
    model: &N::Net,
    net: &N,
    batch: usize,
    warmup: usize,
    repeats: usize,
    device: &Device,
) -> f64 {
    let device = device.clone().without_autodiff();
    let model = model.valid();
    let [channels, height, width] = net.input_shape();
    let x = Tensor::<4>::random(
        [batch, channels, height, width],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    for _ in 0..warmup {
        let _ = model.forward(x.clone()).into_data();
    }
    let mut times: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let t = Instant::now();
            let _ = model.forward(x.clone()).into_data();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let m = times.len();
    if m % 2 == 1 {
        times[m / 2]
    } else {
        0.5 * (times[m / 2 - 1] + times[m / 2])
    }
}
