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

/// A deterministic input of `shape` with values in [-0.5, 0.5), built without burn's RNG.
pub fn pattern_input(device: &nasbo_train::Device, shape: [usize; 4]) -> burn::tensor::Tensor<4> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 37) % 11) as f32 / 11.0 - 0.5)
        .collect();
    burn::tensor::Tensor::from_data(burn::tensor::TensorData::new(v, shape), device)
}
