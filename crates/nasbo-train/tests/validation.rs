//! Values that cannot be meant are refused at the library boundary with a typed error naming
//! the value, never a panic or a nonsense objective. Synthetic data: no data folder needed.

use nasbo_train::data::{Dataset, DatasetName, Images, SplitConfig, Splits};
use nasbo_train::{NetTrainer, TrainConfig, TrainError, TrainEvalConfig, TrainEvaluator};

fn images(n: usize) -> Images {
    Images {
        channels: 1,
        side: 8,
        pixels: (0..n * 64).map(|i| (i % 251) as u8).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
        classes: 10,
    }
}

fn splits() -> Splits {
    Dataset {
        name: DatasetName::Digits,
        train: images(50),
        test: images(10),
    }
    .split(&SplitConfig::default())
    .unwrap()
}

fn invalid_name(e: TrainError) -> &'static str {
    match e {
        TrainError::Invalid { name, .. } => name,
        other => panic!("expected TrainError::Invalid, got {other:?}"),
    }
}

#[test]
fn zero_limits_are_refused_by_the_split() {
    let ds = Dataset {
        name: DatasetName::Digits,
        train: images(50),
        test: images(10),
    };
    for (cfg, name) in [
        (
            SplitConfig {
                train_limit: Some(0),
                ..SplitConfig::default()
            },
            "train_limit",
        ),
        (
            SplitConfig {
                valid_limit: Some(0),
                ..SplitConfig::default()
            },
            "valid_limit",
        ),
        (
            SplitConfig {
                test_limit: Some(0),
                ..SplitConfig::default()
            },
            "test_limit",
        ),
        (
            SplitConfig {
                valid_fraction: f64::NAN,
                ..SplitConfig::default()
            },
            "valid_fraction",
        ),
    ] {
        let e = ds.split(&cfg).unwrap_err();
        let text = e.to_string();
        assert_eq!(invalid_name(e), name, "{text}");
        assert!(text.contains(name), "{text}");
    }
}

#[test]
fn bad_training_settings_are_refused_by_every_constructor() {
    let cases: Vec<(TrainEvalConfig, &str)> = vec![
        (
            TrainEvalConfig {
                channels: 0,
                ..TrainEvalConfig::default()
            },
            "channels",
        ),
        (
            TrainEvalConfig {
                cells_per_stage: 0,
                ..TrainEvalConfig::default()
            },
            "cells_per_stage",
        ),
    ];
    let train_cases: Vec<(TrainConfig, &str)> = vec![
        (
            TrainConfig {
                epochs: 0,
                ..TrainConfig::default()
            },
            "epochs",
        ),
        (
            TrainConfig {
                batch_size: 0,
                ..TrainConfig::default()
            },
            "batch_size",
        ),
        (
            TrainConfig {
                lr: f64::NAN,
                ..TrainConfig::default()
            },
            "lr",
        ),
        (
            TrainConfig {
                lr: f64::INFINITY,
                ..TrainConfig::default()
            },
            "lr",
        ),
        (
            TrainConfig {
                lr: -0.1,
                ..TrainConfig::default()
            },
            "lr",
        ),
        (
            TrainConfig {
                weight_decay: f64::NAN,
                ..TrainConfig::default()
            },
            "weight_decay",
        ),
        (
            TrainConfig {
                weight_decay: f64::INFINITY,
                ..TrainConfig::default()
            },
            "weight_decay",
        ),
        (
            TrainConfig {
                weight_decay: -1e-4,
                ..TrainConfig::default()
            },
            "weight_decay",
        ),
    ];
    let mut all = cases;
    for (train, name) in &train_cases {
        all.push((
            TrainEvalConfig {
                train: train.clone(),
                ..TrainEvalConfig::default()
            },
            name,
        ));
        // The trainer's own constructor refuses the same values.
        let cell = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"
            .parse()
            .unwrap();
        let ev = TrainEvaluator::new(splits(), TrainEvalConfig::default()).unwrap();
        let device = nasbo_train::DeviceChoice::Cpu.autodiff_device().unwrap();
        let e = NetTrainer::new(ev.net_config(cell), train.clone(), 0, &device).unwrap_err();
        assert_eq!(invalid_name(e), *name);
    }
    for (config, name) in all {
        let e = TrainEvaluator::new(splits(), config).unwrap_err();
        let text = e.to_string();
        assert_eq!(invalid_name(e), name, "{text}");
        assert!(text.contains(name) && text.contains("expected"), "{text}");
    }
}

#[test]
fn empty_splits_are_refused() {
    let mut s = splits();
    s.train = s.train.clone().truncate(0);
    let e = TrainEvaluator::new(s, TrainEvalConfig::default()).unwrap_err();
    assert_eq!(invalid_name(e), "training images");
    let mut s = splits();
    s.valid = s.valid.clone().truncate(0);
    let e = TrainEvaluator::new(s, TrainEvalConfig::default()).unwrap_err();
    assert_eq!(invalid_name(e), "validation images");
}
