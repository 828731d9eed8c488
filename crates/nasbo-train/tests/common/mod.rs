//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `$NASBO_DATA`, the folder holding `fashion-mnist-small/` and `digits/`.
pub fn data_root() -> PathBuf {
    let root = std::env::var_os("NASBO_DATA").unwrap_or_else(|| {
        panic!(
            "NASBO_DATA is not set: point it at the folder holding fashion-mnist-small/ and \
             digits/ (CI sets it to the shared data folder, e.g. NASBO_DATA=../shared/data)"
        )
    });
    let root = PathBuf::from(root);
    assert!(
        root.join("fashion-mnist-small").is_dir(),
        "NASBO_DATA={} holds no fashion-mnist-small/",
        root.display()
    );
    root
}

/// `$NASBO_DATA/fashion-mnist-small`, split with seed 0 (20 % validation), the training part
/// cut to `train_limit` images and the validation and test parts to `eval_limit`.
pub fn fashion_splits(train_limit: usize, eval_limit: Option<usize>) -> nasbo_train::data::Splits {
    use nasbo_train::data::{self, DatasetName, SplitConfig};
    let dir = data_root().join("fashion-mnist-small");
    data::load_from(DatasetName::FashionMnist, &dir)
        .unwrap()
        .split(&SplitConfig {
            valid_fraction: 0.2,
            train_limit: Some(train_limit),
            test_limit: eval_limit,
            valid_limit: eval_limit,
            seed: 0,
        })
        .unwrap()
}

/// A deterministic input batch of the given shape, values in [-0.5, 0.5).
pub fn test_input(device: &nasbo_train::Device, shape: [usize; 4]) -> burn::tensor::Tensor<4> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 37) % 11) as f32 / 11.0 - 0.5)
        .collect();
    burn::tensor::Tensor::from_data(burn::tensor::TensorData::new(v, shape), device)
}

/// A tiny network (C = 4, N = 1) trained `epochs` epochs in batches of 32 on the CPU, without
/// latency measurement.
pub fn tiny_eval_config(epochs: usize) -> nasbo_train::TrainEvalConfig {
    nasbo_train::TrainEvalConfig {
        channels: 4,
        cells_per_stage: 1,
        train: nasbo_train::TrainConfig {
            epochs,
            batch_size: 32,
            ..nasbo_train::TrainConfig::default()
        },
        device: nasbo_train::DeviceChoice::Cpu,
        latency: None,
    }
}
