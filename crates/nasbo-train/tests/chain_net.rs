//! Chain networks built from declared spaces' layers run forward with the right shapes.

mod common;

use std::path::Path;

use nasbo_arch::declared::{DeclaredSpace, LayerSpec};
use nasbo_arch::SearchSpace;
use nasbo_train::{ChainNetConfig, DeviceChoice, TrainError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn assert_logits(config: &ChainNetConfig, batch: usize) {
    let device = DeviceChoice::Cpu.device().unwrap();
    let net = config.init(&device).unwrap();
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
    assert_eq!(config.check().unwrap(), (6, 1));
    assert_logits(&config, 3);
}

#[test]
fn layers_that_shrink_the_image_away_are_refused() {
    let layers = vec!["maxpool(kernel=4)".parse().unwrap(); 3];
    let err = ChainNetConfig::new(layers, 3, 32, 10).check().unwrap_err();
    assert!(matches!(err, TrainError::Params(_)), "{err}");
    assert!(err.to_string().contains("layer 2"), "{err}");
    let empty = ChainNetConfig::new(Vec::new(), 3, 8, 0)
        .check()
        .unwrap_err();
    assert!(empty.to_string().contains("must be positive"), "{empty}");
}
