//! Training throughput of the NB201 network on random inputs (images per second), for
//! `benchmarks/train/run.sh`, which runs the same network in PyTorch.
//!
//! `cargo run --release -p nasbo-train --example bench_train -- [--device cpu|wgpu]
//!  [--batch 64] [--warmup 3] [--steps 20] [--channels 16] [--cells 5]`

use std::time::Instant;

use burn::nn::loss::CrossEntropyLoss;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Distribution, Int, Tensor};
use nasbo_core::cost::Nb201Macro;
use nasbo_train::{DeviceChoice, Nb201NetConfig};

/// The benchmark's best CIFAR-10 cell (index 6111).
const CELL: &str =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut device = DeviceChoice::Cpu;
    let (mut batch, mut warmup, mut steps, mut channels, mut cells) = (64, 3, 20, 16, 5);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--device" => device = value.parse()?,
            "--batch" => batch = value.parse()?,
            "--warmup" => warmup = value.parse()?,
            "--steps" => steps = value.parse()?,
            "--channels" => channels = value.parse()?,
            "--cells" => cells = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let device = device.autodiff_device()?;
    device.seed(0);
    let net = Nb201NetConfig::new(
        CELL.parse()?,
        Nb201Macro {
            channels,
            cells_per_stage: cells,
            ..Nb201Macro::default()
        },
    );
    let mut model = net.init(&device);
    let mut optim = SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new()
                .with_dampening(0.0)
                .with_nesterov(true),
        ))
        .with_weight_decay(Some(WeightDecayConfig::new(5e-4)))
        .init();
    let loss_fn = CrossEntropyLoss::new(None, &device);
    let x = Tensor::<4>::random([batch, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let y = Tensor::<1, Int>::random([batch], Distribution::Uniform(0.0, 10.0), &device);
    let mut step = |model: nasbo_train::Nb201Net| {
        let loss = loss_fn.forward(model.forward(x.clone()), y.clone());
        let loss_v = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        (optim.step(0.05, model, grads), loss_v)
    };
    let t = Instant::now();
    for _ in 0..warmup {
        model = step(model).0;
    }
    let warm_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut last = 0.0;
    for _ in 0..steps {
        let (m, l) = step(model);
        model = m;
        last = l;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "burn {device:?}: {} params, batch {batch}, {steps} steps in {s:.2} s ({warmup} warm-up steps {warm_s:.2} s), last loss {last:.3}",
        model.trainable_params()
    );
    println!("images_per_s {:.1}", (steps * batch) as f64 / s);
    Ok(())
}
