//! Real training on `$NASBO_DATA/fashion-mnist-small` with tiny networks (CPU backend).

mod common;

use nasbo_core::nb201::Cell;
use nasbo_core::{Evaluation, Evaluator};
use nasbo_train::data::Splits;
use nasbo_train::{DeviceChoice, TrainEvalConfig, TrainEvaluator, Trainer};

const GOOD: &str =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";
const ALL_NONE: &str = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";

fn splits(train_limit: usize) -> Splits {
    common::fashion_splits(train_limit, None)
}

fn config(epochs: usize) -> TrainEvalConfig {
    common::tiny_eval_config(epochs)
}

fn objective(e: &Evaluation) -> (f64, f64) {
    match e {
        Evaluation::Ok {
            objective,
            reported,
            ..
        } => (*objective, reported["test_acc"]),
        Evaluation::Failed { reason, .. } => panic!("training failed: {reason}"),
    }
}

/// A good cell learns; the all-`none` cell stays at chance. Its cell outputs zeros, and in the
/// NB201 macro network the cells are in series (the residual blocks only bridge the stages), so
/// no signal reaches the classifier.
#[test]
fn the_architecture_matters() {
    let mut ev = TrainEvaluator::new(splits(1600), config(3)).unwrap();
    let (good_valid, good_test) = objective(&ev.evaluate(&GOOD.parse::<Cell>().unwrap(), 1));
    let (none_valid, none_test) = objective(&ev.evaluate(&ALL_NONE.parse::<Cell>().unwrap(), 1));
    eprintln!("good: valid {good_valid:.1} test {good_test:.1}; all-none: valid {none_valid:.1} test {none_test:.1}");
    assert!(good_test > 60.0, "good cell test accuracy {good_test}");
    assert!(
        (none_test - 10.0).abs() < 5.0 && (none_valid - 10.0).abs() < 5.0,
        "all-none cell: valid {none_valid}, test {none_test} (chance: 10)"
    );
}

#[test]
fn the_same_seed_gives_the_same_accuracy() {
    let data = splits(320);
    let mut ev = TrainEvaluator::new(data, config(1)).unwrap();
    let cell: Cell = GOOD.parse().unwrap();
    let a = ev.evaluate(&cell, 7);
    let b = ev.evaluate(&cell, 7);
    let (a_valid, a_test) = objective(&a);
    let (b_valid, b_test) = objective(&b);
    assert_eq!((a_valid, a_test), (b_valid, b_test));
    let (Evaluation::Ok { reported: ra, .. }, Evaluation::Ok { reported: rb, .. }) = (&a, &b)
    else {
        unreachable!()
    };
    assert_eq!(ra["train_loss"], rb["train_loss"]);
}

#[test]
fn divergence_and_time_limit_become_failed_trials() {
    let data = splits(128);
    let mut cfg = config(1);
    cfg.train.lr = 1e30;
    let mut ev = TrainEvaluator::new(data.clone(), cfg).unwrap();
    match ev.evaluate(&GOOD.parse::<Cell>().unwrap(), 0) {
        Evaluation::Failed { reason, .. } => assert!(reason.contains("diverged"), "{reason}"),
        ok => panic!("expected a failure, got {ok:?}"),
    }
    let mut cfg = config(50);
    cfg.train.time_limit_s = Some(1e-9);
    let mut ev = TrainEvaluator::new(data, cfg).unwrap();
    match ev.evaluate(&GOOD.parse::<Cell>().unwrap(), 0) {
        Evaluation::Failed { reason, .. } => assert!(reason.contains("time limit"), "{reason}"),
        ok => panic!("expected a failure, got {ok:?}"),
    }
}

#[test]
fn a_resumed_run_matches_an_uninterrupted_one() {
    let data = splits(96);
    let cfg = config(2);
    let device = DeviceChoice::Cpu.autodiff_device().unwrap();
    let net = TrainEvaluator::new(data.clone(), cfg.clone())
        .unwrap()
        .net_config(GOOD.parse().unwrap());
    let mut full = Trainer::new(net, cfg.train.clone(), 5, &device).unwrap();
    full.run(&data, &mut |_| {}).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut first = Trainer::new(net, cfg.train.clone(), 5, &device).unwrap();
    first.run_epoch(&data, &mut |_| {}).unwrap();
    first.save_checkpoint(dir.path()).unwrap();
    drop(first);
    let mut resumed = Trainer::resume(dir.path(), cfg.train.clone(), &device).unwrap();
    assert_eq!(resumed.epochs_done(), 1);
    resumed.run(&data, &mut |_| {}).unwrap();
    // Everything but the wall time is identical.
    let strip = |h: &[nasbo_train::EpochReport]| -> Vec<nasbo_train::EpochReport> {
        h.iter()
            .map(|e| nasbo_train::EpochReport {
                train_s: 0.0,
                ..e.clone()
            })
            .collect()
    };
    assert_eq!(strip(full.history()), strip(resumed.history()));
}

#[test]
fn latency_is_measured() {
    let data = splits(64);
    let mut cfg = config(1);
    cfg.latency = Some(nasbo_train::LatencyConfig {
        warmup: 1,
        repeats: 3,
        small_batch: 1,
        large_batch: 8,
    });
    let ev = TrainEvaluator::new(data, cfg).unwrap();
    let out = ev.train(&GOOD.parse().unwrap(), 0).unwrap();
    let (s, l) = (out.latency_ms_small.unwrap(), out.latency_ms_large.unwrap());
    assert!(s > 0.0 && l > 0.0, "{s} {l}");
    assert_eq!(out.params, out.net.cost().params);
}

/// Early stopping: a network trained one rung at a time continues its checkpoint, is charged
/// only the epochs it adds, and ends where a straight training to the top level ends.
#[test]
fn a_promoted_network_continues_its_checkpoint_and_matches_a_straight_training() {
    use nasbo_core::fidelity::Rung;
    use nasbo_train::ContinuedTraining;
    let data = splits(96);
    let cell: Cell = GOOD.parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let measured = TrainEvalConfig {
        latency: Some(nasbo_train::LatencyConfig {
            warmup: 0,
            repeats: 1,
            small_batch: 1,
            large_batch: 2,
        }),
        ..config(3)
    };
    let mut ladder = ContinuedTraining::new(
        TrainEvaluator::new(data.clone(), measured).unwrap(),
        vec![1, 3],
        dir.path().join("rungs"),
    )
    .unwrap();
    let values = |e: Evaluation| match e {
        Evaluation::Ok {
            objective,
            reported,
            ..
        } => (objective, reported),
        Evaluation::Failed { reason, .. } => panic!("training failed: {reason}"),
    };
    let (low, low_r) = values(ladder.evaluate(
        &Rung {
            arch: cell,
            rung: 0,
        },
        5,
    ));
    assert_eq!((low_r["fidelity"], low_r["from_epochs"]), (1.0, 0.0));
    // Below the top level nothing is measured that the search does not use.
    for key in ["test_acc", "latency_ms_b1", "latency_ms_b64"] {
        assert!(
            !low_r.contains_key(key),
            "{key} measured at the bottom rung: {low_r:?}"
        );
    }
    let ckpt = ladder.checkpoint_dir(&ladder.inner().net_config(cell));
    assert!(ckpt.join("checkpoint.json").is_file(), "{}", ckpt.display());
    // The promotion continues from epoch 1 (its seed is the checkpoint's, not the trial's).
    let (high, high_r) = values(ladder.evaluate(
        &Rung {
            arch: cell,
            rung: 1,
        },
        99,
    ));
    assert_eq!((high_r["fidelity"], high_r["from_epochs"]), (3.0, 1.0));
    for key in ["test_acc", "latency_ms_b1", "latency_ms_b64"] {
        assert!(
            high_r.contains_key(key),
            "{key} not measured at the top: {high_r:?}"
        );
    }
    // The same network trained straight for 3 epochs with seed 5.
    let straight = TrainEvaluator::new(data.clone(), config(3))
        .unwrap()
        .train(&cell, 5)
        .unwrap();
    assert_eq!(high, straight.valid_acc);
    assert_eq!(Some(high_r["test_acc"]), straight.test_acc);
    assert_eq!(high_r["train_loss"], straight.epochs[2].train_loss);
    // The one-epoch signal is the straight training's first epoch.
    assert_eq!(low, straight.epochs[0].valid_acc);

    // A checkpoint of another recipe is not continued: the network starts afresh.
    let mut other = ContinuedTraining::new(
        TrainEvaluator::new(
            data.clone(),
            TrainEvalConfig {
                train: nasbo_train::TrainConfig {
                    lr: 0.05,
                    ..config(3).train
                },
                ..config(3)
            },
        )
        .unwrap(),
        vec![1, 3],
        dir.path().join("rungs"),
    )
    .unwrap();
    let (_, r) = values(other.evaluate(
        &Rung {
            arch: cell,
            rung: 1,
        },
        5,
    ));
    assert_eq!((r["fidelity"], r["from_epochs"]), (3.0, 0.0));

    // The recipe's epochs must be the top level.
    let err = ContinuedTraining::new(
        TrainEvaluator::new(data, config(2)).unwrap(),
        vec![1, 3],
        dir.path().join("x"),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid epochs: 2 (expected the top fidelity level"),
        "{err}"
    );
}
