//! Loaders on the shared data and on corrupt files.

mod common;

use std::io::Write;
use std::path::Path;

use nasbo_train::data::{self, CifarKind, DatasetName, SplitConfig};

fn gz(path: &Path, bytes: &[u8]) {
    let f = std::fs::File::create(path).unwrap();
    let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap();
}

fn idx(magic: [u8; 4], dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = magic.to_vec();
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

#[test]
fn loads_fashion_mnist_small() {
    let dir = common::data_root().join("fashion-mnist-small");
    let ds = data::load_from(DatasetName::FashionMnist, &dir).unwrap();
    assert_eq!((ds.train.len(), ds.test.len()), (2000, 1000));
    assert_eq!(
        (ds.train.channels, ds.train.side, ds.train.classes),
        (1, 28, 10)
    );
    // Every class occurs.
    let mut seen = [false; 10];
    ds.train
        .labels
        .iter()
        .for_each(|&l| seen[l as usize] = true);
    assert!(seen.iter().all(|&s| s));
    // Found through the data root as well.
    let found = data::load(DatasetName::FashionMnist, Some(&common::data_root())).unwrap();
    assert_eq!(found.train.len(), 2000);
}

#[test]
fn loads_digits_and_splits_with_a_seed() {
    let ds = data::load(DatasetName::Digits, Some(&common::data_root())).unwrap();
    assert_eq!(ds.train.len() + ds.test.len(), 1797);
    assert_eq!((ds.train.side, ds.train.channels), (8, 1));
    assert!(ds.train.pixels.iter().all(|&p| p <= 16));
    let cfg = SplitConfig {
        seed: 3,
        ..SplitConfig::default()
    };
    let a = ds.split(&cfg).unwrap();
    let b = ds.split(&cfg).unwrap();
    let c = ds.split(&SplitConfig { seed: 4, ..cfg }).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.valid.labels, c.valid.labels);
    assert_eq!(a.train.len() + a.valid.len(), ds.train.len());
    // Normalised training pixels have mean ≈ 0 and std ≈ 1.
    let idx: Vec<usize> = (0..a.train.len()).collect();
    let batch = a.batch(&a.train, &idx, None);
    let n = batch.pixels.len() as f64;
    let mean = batch.pixels.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = batch
        .pixels
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!(
        mean.abs() < 1e-3 && (var - 1.0).abs() < 1e-3,
        "{mean} {var}"
    );
}

#[test]
fn corrupt_idx_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let labels = d.join("train-labels-idx1-ubyte.gz");
    let images = d.join("train-images-idx3-ubyte.gz");
    let good_images = idx([0, 0, 8, 3], &[3, 2, 2], &[0; 12]);

    // Bad magic.
    gz(&images, &idx([0, 1, 8, 3], &[3, 2, 2], &[0; 12]));
    gz(&labels, &idx([0, 0, 8, 1], &[3], &[0, 1, 2]));
    let e = data::read_idx_pair(&images, &labels, 10)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("magic") && e.contains("train-images-idx3-ubyte.gz"),
        "{e}"
    );

    // Truncated images.
    gz(&images, &idx([0, 0, 8, 3], &[3, 2, 2], &[0; 11]));
    let e = data::read_idx_pair(&images, &labels, 10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("truncated") && e.contains("train-images"), "{e}");

    // Label out of range.
    gz(&images, &good_images);
    gz(&labels, &idx([0, 0, 8, 1], &[3], &[0, 1, 12]));
    let e = data::read_idx_pair(&images, &labels, 10)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("out of range") && e.contains("train-labels"),
        "{e}"
    );

    // Counts disagree.
    gz(&labels, &idx([0, 0, 8, 1], &[2], &[0, 1]));
    let e = data::read_idx_pair(&images, &labels, 10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 labels") && e.contains("3 images"), "{e}");

    // Not gzip at all although named .gz.
    std::fs::write(&labels, b"plain").unwrap();
    let e = data::read_idx_pair(&images, &labels, 10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("gzip") && e.contains("train-labels"), "{e}");

    // Uncompressed files load too.
    let plain_images = d.join("plain-images");
    let plain_labels = d.join("plain-labels");
    std::fs::write(&plain_images, &good_images).unwrap();
    std::fs::write(&plain_labels, idx([0, 0, 8, 1], &[3], &[0, 1, 9])).unwrap();
    let imgs = data::read_idx_pair(&plain_images, &plain_labels, 10).unwrap();
    assert_eq!((imgs.len(), imgs.side), (3, 2));
}

#[test]
fn corrupt_cifar_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data_batch_1.bin");
    let mut rec = vec![5u8];
    rec.extend(std::iter::repeat_n(1u8, 3072));
    std::fs::write(&path, [rec.clone(), rec.clone()].concat()).unwrap();
    assert_eq!(
        data::read_cifar(&path, CifarKind::Cifar10).unwrap().len(),
        2
    );

    std::fs::write(&path, &rec[..3000]).unwrap();
    let e = data::read_cifar(&path, CifarKind::Cifar10)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("data_batch_1.bin") && e.contains("multiple"),
        "{e}"
    );

    rec[0] = 11;
    std::fs::write(&path, &rec).unwrap();
    let e = data::read_cifar(&path, CifarKind::Cifar10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("out of range 0..10"), "{e}");

    // CIFAR-100: coarse then fine label.
    let mut rec100 = vec![3u8, 99];
    rec100.extend(std::iter::repeat_n(0u8, 3072));
    std::fs::write(&path, &rec100).unwrap();
    assert_eq!(
        data::read_cifar(&path, CifarKind::Cifar100).unwrap().labels,
        vec![99]
    );
    rec100[1] = 100;
    std::fs::write(&path, &rec100).unwrap();
    assert!(data::read_cifar(&path, CifarKind::Cifar100).is_err());
}

#[test]
fn missing_data_lists_every_place_tried() {
    let e = data::load_with(
        DatasetName::Cifar10,
        None,
        Some(Path::new("/nonexistent/x")),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("/nonexistent/x") && e.contains(data::DATA_ENV) && e.contains("--data-dir"),
        "{e}"
    );
    // An explicit data dir is never replaced by another place.
    let root = common::data_root();
    let e = data::load_with(
        DatasetName::FashionMnist,
        Some(Path::new("/nonexistent/y")),
        Some(&root),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("/nonexistent/y") && e.contains("does not exist") && !e.contains("NASBO_DATA"),
        "{e}"
    );
}
