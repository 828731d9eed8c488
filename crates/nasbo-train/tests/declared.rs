//! A space declared in a TOML file is searched with real training: its architectures' layer
//! chains train through the generic evaluator, and spaces or architectures that cannot be
//! trained say why.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use nasbo_core::declared::DeclaredSpace;
use nasbo_core::nb201::Cell;
use nasbo_core::{Evaluation, Evaluator, SearchSpace};
use nasbo_train::data::{Images, Splits};
use nasbo_train::{DeclaredTrainEvaluator, NetSpec, TrainEvaluator};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn declared(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/declared")
        .join(file)
}

fn space(file: &str) -> DeclaredSpace {
    DeclaredSpace::from_path(declared(file)).unwrap()
}

fn evaluator(space: DeclaredSpace, data: Splits, epochs: usize) -> DeclaredTrainEvaluator {
    let inner = TrainEvaluator::new(data, common::tiny_eval_config(epochs)).unwrap();
    DeclaredTrainEvaluator::new(space, inner).unwrap()
}

#[test]
fn a_chain_of_the_example_space_trains_above_chance() {
    let space = space("chain.toml");
    assert_eq!(space.cardinality(), Some(2 * 2 * (4 + 4 * 4 + 4 * 4 * 4)));
    let arch = space
        .parse_arch(
            "first=conv(kernel=3, channels=16),reduce=maxpool(kernel=2),depth=2,\
             block_0=mbconv(expand=3, kernel=3, channels=24, stride=2),\
             block_1=sepconv(kernel=3, channels=32)",
        )
        .unwrap();
    let mut ev = evaluator(space, common::fashion_splits(640, Some(320)), 2);
    assert_eq!(ev.objective_name(), "valid_acc");
    let spec = ev.net_spec(&arch).unwrap();
    let t0 = Instant::now();
    let evaluation = ev.evaluate(&arch, 3);
    let Evaluation::Ok {
        objective,
        reported,
        ..
    } = evaluation
    else {
        panic!("training failed: {evaluation:?}");
    };
    eprintln!(
        "{} parameters, {} MACs; valid {objective:.1} %, test {:.1} %; training {:.2} s for 40 \
         steps of 32 images and 2 validations, {:.2} s in all",
        spec.cost().params,
        spec.cost().flops,
        reported["test_acc"],
        reported["train_s"],
        t0.elapsed().as_secs_f64()
    );
    // Ten balanced classes: chance is 10 %.
    assert!(objective > 30.0, "validation accuracy {objective}");
    assert!(reported["test_acc"] > 30.0, "test accuracy {reported:?}");
    assert_eq!(
        (reported["params_m"] * 1e6).round() as u64,
        spec.cost().params
    );
}

#[test]
fn the_same_seed_gives_the_same_outcome() {
    let space = space("chain.toml");
    let arch = space
        .parse_arch(
            "first=conv(kernel=3, channels=16),reduce=maxpool(kernel=2),depth=1,\
             block_0=identity",
        )
        .unwrap();
    let ev = evaluator(space, common::fashion_splits(128, Some(64)), 2);
    let run = |seed| {
        let o = ev.train(&arch, seed).unwrap();
        let epochs: Vec<_> = o
            .epochs
            .iter()
            .map(|e| (e.train_loss, e.train_acc, e.valid_acc))
            .collect();
        (epochs, o.test_acc, o.net)
    };
    let (a, b, c) = (run(5), run(5), run(6));
    assert_eq!((&a.0, a.1), (&b.0, b.1));
    assert_ne!(a.0, c.0, "another seed, other weights");
    assert_eq!(a.2.layers.len(), 3);
}

#[test]
fn a_space_that_is_no_chain_is_refused_with_its_line() {
    let inner = TrainEvaluator::new(
        common::fashion_splits(32, Some(32)),
        common::tiny_eval_config(1),
    )
    .unwrap();
    let err = DeclaredTrainEvaluator::new(space("nb201.toml"), inner)
        .unwrap_err()
        .to_string();
    // Its ops sit on the edges of the graph it declares (line 12).
    for part in ["nb201.toml:12:", "not trainable", "declares a graph"] {
        assert!(err.contains(part), "`{part}` missing from: {err}");
    }
}

#[test]
fn architectures_that_cannot_be_built_fail_with_the_reason() {
    let space = DeclaredSpace::from_toml_str(
        r#"
        name = "shrinking"
        [[decision]]
        name = "pool"
        repeat = 3
        choices = ["maxpool(kernel=4)", "identity"]
        "#,
        "shrinking.toml",
    )
    .unwrap();
    let all_pools = space
        .parse_arch("pool_0=maxpool(kernel=4),pool_1=maxpool(kernel=4),pool_2=maxpool(kernel=4)")
        .unwrap();
    let mut ev = evaluator(space.clone(), common::fashion_splits(32, Some(32)), 1);
    // 28 → 7 → 1: the third pool has no 4 × 4 window left.
    match ev.evaluate(&all_pools, 0) {
        Evaluation::Failed { reason, .. } => {
            assert!(reason.contains("pool_2=maxpool(kernel=4)"), "{reason}");
            assert!(reason.contains("layer 2"), "{reason}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // An architecture of another space.
    let foreign = self::space("tiny.toml").sample(&mut ChaCha8Rng::seed_from_u64(4));
    match ev.evaluate(&foreign, 0) {
        Evaluation::Failed { reason, .. } => {
            assert!(reason.contains("has 3 decisions"), "{reason}")
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// The centre `side × side` of every image.
fn crop(images: &Images, side: usize) -> Images {
    let off = (images.side - side) / 2;
    let mut pixels = Vec::with_capacity(images.len() * images.channels * side * side);
    for i in 0..images.len() {
        for plane in images.image(i).chunks(images.side * images.side) {
            for row in plane.chunks(images.side).skip(off).take(side) {
                pixels.extend_from_slice(&row[off..off + side]);
            }
        }
    }
    Images {
        side,
        pixels,
        ..images.clone()
    }
}

#[test]
fn images_nb201_cannot_take_are_still_accepted_for_chains() {
    let mut data = common::fashion_splits(32, Some(32));
    for images in [&mut data.train, &mut data.valid, &mut data.test] {
        *images = crop(images, 14);
    }
    let mut inner = TrainEvaluator::new(data, common::tiny_eval_config(1)).unwrap();
    let cell: Cell = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|"
        .parse()
        .unwrap();
    match inner.evaluate(&cell, 0) {
        Evaluation::Failed { reason, .. } => assert!(reason.contains("divisible by 4"), "{reason}"),
        other => panic!("NB201 on 14 × 14 images should fail, got {other:?}"),
    }
    let space = space("chain.toml");
    let ev = DeclaredTrainEvaluator::new(space.clone(), inner).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for _ in 0..5 {
        let arch = space.sample(&mut rng);
        let spec = ev.net_spec(&arch).unwrap();
        assert_eq!(spec.input_shape(), [1, 14, 14]);
    }
}
