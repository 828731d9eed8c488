//! Chain networks built from declared spaces' layers run forward with the right shapes, have
//! as many parameters as their cost model says, and are reproducible from a seed.

mod common;

use std::path::Path;

use nasbo_core::declared::{DeclaredSpace, LayerSpec};
use nasbo_core::SearchSpace;
use nasbo_train::{
    ChainNetConfig, DeviceChoice, LayerChain, NetSizes, NetSpec, Network, TrainError, TrainableArch,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn assert_logits(config: &ChainNetConfig, batch: usize) {
    let device = DeviceChoice::Cpu.device().unwrap();
    // Seeded, so that this build never draws from the global RNG while another test seeds it.
    let net = config.init_seeded(&device, 0);
    let x = common::test_input(
        &device,
        [
            batch,
            config.input_channels,
            config.input_size,
            config.input_size,
        ],
    );
    let y = net.forward(x);
    assert_eq!(y.dims(), [batch, config.classes], "{config:?}");
    let v: Vec<f32> = y.into_data().try_to_vec::<f32>().unwrap();
    assert!(v.iter().all(|x| x.is_finite()), "{config:?}");
}

#[test]
fn sampled_architectures_of_the_tiny_space_build_and_run() {
    let space = DeclaredSpace::from_path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/declared/tiny.toml"),
    )
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for _ in 0..6 {
        let arch = space.sample(&mut rng);
        let layers = space.layer_chain(&arch).unwrap();
        assert_logits(&ChainNetConfig::new(layers, 3, 16, 10), 2);
    }
}

#[test]
fn every_layer_kind_changes_the_shape_as_declared() {
    let layers: Vec<LayerSpec> = [
        "conv(kernel=3, channels=8, stride=2)",
        "sepconv(kernel=5, channels=12)",
        "mbconv(expand=1, kernel=3, channels=12)",
        "mbconv(expand=4, kernel=3, channels=6, stride=2)",
        "identity",
        "avgpool(kernel=2)",
        "maxpool(kernel=2, stride=1)",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let config = ChainNetConfig::new(layers, 1, 16, 4).with_stem_channels(4);
    // 16 → 8 (conv) → 8 → 8 → 4 (mbconv) → 4 → 2 (avgpool) → 1 (maxpool, stride 1).
    assert_eq!(config.output_shape().unwrap(), (6, 1));
    assert_logits(&config, 3);
}

#[test]
fn layers_that_shrink_the_image_away_are_refused() {
    let layers = vec!["maxpool(kernel=4)".parse().unwrap(); 3];
    let err = ChainNetConfig::new(layers, 3, 32, 10)
        .output_shape()
        .unwrap_err();
    assert!(matches!(err, TrainError::Params(_)), "{err}");
    assert!(err.to_string().contains("layer 2"), "{err}");
    let empty = NetSpec::check(&ChainNetConfig::new(Vec::new(), 3, 8, 0)).unwrap_err();
    assert!(empty.to_string().contains("must be positive"), "{empty}");
}

fn chain(layers: &[&str]) -> Vec<LayerSpec> {
    layers.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn parameter_count_equals_the_cost_model() {
    let device = DeviceChoice::Cpu.device().unwrap();
    let configs = [
        ChainNetConfig::new(Vec::new(), 1, 8, 10),
        ChainNetConfig::new(
            chain(&["conv(kernel=3, channels=8, stride=2)", "maxpool(kernel=2)"]),
            3,
            16,
            10,
        ),
        ChainNetConfig::new(
            chain(&[
                "sepconv(kernel=5, channels=12, stride=2)",
                "identity",
                "mbconv(expand=1, kernel=3)",
                "mbconv(expand=6, kernel=5, channels=20, stride=2)",
                "avgpool(kernel=2, stride=1)",
                "conv(kernel=1, channels=7)",
            ]),
            1,
            28,
            7,
        )
        .with_stem_channels(6),
        ChainNetConfig::new(
            chain(&[
                "mbconv(expand=3, kernel=3)",
                "sepconv(kernel=3)",
                "conv(kernel=5, channels=32)",
            ]),
            3,
            12,
            100,
        ),
    ];
    for config in configs {
        let net = config.init_seeded(&device, 0);
        let cost = config.cost();
        assert_eq!(net.trainable_params() as u64, cost.params, "{config:?}");
        assert!(cost.flops > 0, "{config:?}");
    }
}

#[test]
fn flops_follow_each_convolution_s_output_size() {
    // 1 × 8 × 8 images, stem to 4 channels, 10 classes; `c · c' · k²` weights per
    // convolution, each weight used once per output pixel; batch norms add 2 per channel.
    let config = ChainNetConfig::new(
        chain(&[
            "conv(kernel=3, channels=8, stride=2)",
            "sepconv(kernel=3)",
            "maxpool(kernel=2)",
            "mbconv(expand=2, kernel=3)",
        ]),
        1,
        8,
        10,
    )
    .with_stem_channels(4);
    let convs: [(u64, u64, u64); 7] = [
        // (weights, output pixels, batch-norm channels)
        (4 * 9, 8 * 8, 4),     // stem
        (4 * 8 * 9, 4 * 4, 8), // conv, stride 2
        (8 * 9, 4 * 4, 8),     // sepconv depthwise
        (8 * 8, 4 * 4, 8),     // sepconv pointwise; then the pool halves the side
        (8 * 16, 2 * 2, 16),   // mbconv expansion
        (16 * 9, 2 * 2, 16),   // mbconv depthwise
        (16 * 8, 2 * 2, 8),    // mbconv projection
    ];
    let classifier = 8 * 10;
    let params: u64 = convs.iter().map(|&(w, _, bn)| w + 2 * bn).sum::<u64>() + classifier + 10;
    let flops: u64 = convs.iter().map(|&(w, px, _)| w * px).sum::<u64>() + classifier;
    let cost = config.cost();
    assert_eq!((cost.params, cost.flops), (params, flops));
}

#[test]
fn the_same_seed_gives_the_same_network() {
    let device = DeviceChoice::Cpu.device().unwrap();
    let sizes = NetSizes {
        channels: 6,
        cells_per_stage: 1,
        classes: 5,
        input_size: 12,
        input_channels: 2,
    };
    let arch = LayerChain(chain(&[
        "conv(kernel=3, channels=8)",
        "mbconv(expand=2, kernel=3, stride=2)",
        "maxpool(kernel=2)",
    ]));
    let config = arch.net_spec(&sizes);
    assert_eq!(config.stem_channels, 6);
    assert_eq!(config.input_shape(), [2, 12, 12]);
    let logits = |seed: u64| -> Vec<f32> {
        let net = config.init_seeded(&device, seed);
        let x = common::test_input(&device, [3, 2, 12, 12]);
        net.forward(x).into_data().try_to_vec::<f32>().unwrap()
    };
    let a = logits(7);
    // Draws in between must not change what seed 7 gives.
    let _ = config.init(&device);
    assert_eq!(a, logits(7));
    assert_ne!(a, logits(8));
}

#[test]
fn layers_of_absurd_size_are_refused_before_building() {
    // A billion channels: refused with a reason, nothing allocated.
    let huge = chain(&["conv(kernel=3, channels=1000000000)"]);
    let err = ChainNetConfig::new(huge.clone(), 1, 28, 10)
        .output_shape()
        .unwrap_err();
    assert!(err.to_string().contains("above the limit"), "{err}");
    // Products that overflow u64 are refused too.
    let overflow = chain(&[
        "conv(kernel=3, channels=4000000000)",
        "conv(kernel=3, channels=4000000000)",
    ]);
    let err = ChainNetConfig::new(overflow, 1, 28, 10)
        .output_shape()
        .unwrap_err();
    assert!(err.to_string().contains("2^64"), "{err}");
    // The bound is configurable; a small network fits the default.
    let small = ChainNetConfig::new(chain(&["conv(kernel=3, channels=16)"]), 1, 28, 10);
    assert!(small.output_shape().is_ok());
    let err = small
        .with_memory_limit_bytes(1000)
        .output_shape()
        .unwrap_err();
    assert!(err.to_string().contains("1000 bytes"), "{err}");
}
