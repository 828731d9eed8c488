//! The training evaluator a spec's `[train]` settings make.

use std::path::PathBuf;

use nasbo_core::nb201::Cell;
use nasbo_core::{Evaluation, Evaluator};
use nasbo_experiment::scoring::train_evaluator;
use nasbo_experiment::spec::TrainSpec;

fn data_root() -> PathBuf {
    PathBuf::from(
        std::env::var_os("NASBO_DATA").unwrap_or_else(|| {
            panic!("NASBO_DATA is not set: point it at the folder holding digits/")
        }),
    )
}

#[test]
fn train_settings_make_an_evaluator() {
    let train = TrainSpec {
        epochs: Some(1),
        channels: Some(4),
        cells: Some(1),
        train_limit: Some(300),
        ..TrainSpec::default()
    };
    let mut ev = train_evaluator(&train, "digits", Some(&data_root())).unwrap();
    let cell: Cell = "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|skip_connect~2|"
        .parse()
        .unwrap();
    match ev.evaluate(&cell, 0) {
        Evaluation::Ok {
            objective,
            reported,
            ..
        } => {
            assert!(objective > 0.0);
            for key in [
                "test_acc",
                "train_s",
                "params_m",
                "flops_m",
                "latency_ms_b1",
                "latency_ms_b64",
            ] {
                assert!(reported.contains_key(key), "{key} missing: {reported:?}");
            }
        }
        Evaluation::Failed { reason, .. } => panic!("{reason}"),
    }
    assert!(train_evaluator(&train, "imagenet", Some(&data_root())).is_err());
    // An explicit data folder is used or refused, never replaced by the fallback.
    let missing = TrainSpec {
        data_dir: Some("/nonexistent/data".into()),
        ..train
    };
    assert!(train_evaluator(&missing, "digits", Some(&data_root())).is_err());
}
