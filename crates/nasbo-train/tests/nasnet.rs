//! The NASNet network: its size matches nasbo-core's cost model, it runs forward, and it
//! trains through the same evaluator as NB201 cells.

mod common;

use burn::module::Module;
use nasbo_core::nasnet::{Genotype, NasnetMacro, NasnetSpace};
use nasbo_core::{Evaluation, Evaluator, SearchSpace};
use nasbo_train::data::Splits;
use nasbo_train::{
    DeviceChoice, NasnetNetConfig, NetSpec, NetTrainer, Network, TrainEvalConfig, TrainEvaluator,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Every op of the paper's list appears in one of the two cells.
const ALL_OPS: &str = "normal:sep_conv_3x3~0+identity~1|conv_1x3_3x1~2+max_pool_5x5~0|\
    dil_conv_3x3~1+conv_1x1~3|avg_pool_3x3~2+sep_conv_7x7~4|conv_3x3~0+max_pool_7x7~1;\
    reduce:conv_1x7_7x1~0+sep_conv_5x5~1|max_pool_3x3~1+identity~0|identity~2+max_pool_7x7~3|\
    sep_conv_3x3~4+conv_1x3_3x1~1|avg_pool_3x3~0+dil_conv_3x3~5";

fn skeletons() -> [NasnetMacro; 3] {
    [
        NasnetMacro {
            channels: 4,
            cells_per_stack: 1,
            classes: 10,
            input_size: 28,
            input_channels: 1,
            stem_multiplier: 3,
        },
        NasnetMacro {
            channels: 3,
            cells_per_stack: 2,
            classes: 7,
            input_size: 9,
            input_channels: 3,
            stem_multiplier: 1,
        },
        NasnetMacro {
            channels: 2,
            cells_per_stack: 0,
            classes: 5,
            input_size: 5,
            input_channels: 2,
            stem_multiplier: 2,
        },
    ]
}

fn genotypes() -> Vec<Genotype> {
    let space = NasnetSpace::default();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut out = vec![ALL_OPS.parse().unwrap()];
    out.extend((0..4).map(|_| space.sample(&mut rng)));
    out.push(
        NasnetSpace::from_names(&["identity", "max_pool_3x3"], 2)
            .unwrap()
            .sample(&mut rng),
    );
    out
}

#[test]
fn parameter_count_equals_the_cost_model_and_forward_gives_logits() {
    let device = DeviceChoice::Cpu.device().unwrap();
    for s in skeletons() {
        for g in genotypes() {
            let cfg = NasnetNetConfig::new(g.clone(), s);
            cfg.check().unwrap();
            // Seeded: under the lock that keeps other tests' seeded initialisation
            // reproducible (burn's device random number generator is global).
            let net = cfg.init_seeded(&device, 0);
            let cost = cfg.cost();
            assert_eq!(net.trainable_params() as u64, cost.params, "{g} in {s:?}");
            // burn's own count adds each batch norm's running mean and variance: two vectors
            // the size of its scale and shift.
            assert!(net.num_params() as u64 > cost.params);
            let x = common::test_input(&device, [2, s.input_channels, s.input_size, s.input_size]);
            let y = net.forward(x);
            assert_eq!(y.dims(), [2, s.classes], "{g} in {s:?}");
            let v: Vec<f32> = y.into_data().try_to_vec::<f32>().unwrap();
            assert!(v.iter().all(|x| x.is_finite()), "{g}");
        }
    }
}

#[test]
fn bad_sizes_are_rejected() {
    let g: Genotype = ALL_OPS.parse().unwrap();
    let s = NasnetMacro {
        channels: 0,
        ..NasnetMacro::default()
    };
    assert!(NasnetNetConfig::new(g, s).check().is_err());
}

fn splits(train_limit: usize) -> Splits {
    common::fashion_splits(train_limit, Some(500))
}

fn config(epochs: usize) -> TrainEvalConfig {
    common::tiny_eval_config(epochs)
}

/// A tiny NASNet (C = 4, N = 1, B = 2) learns Fashion-MNIST far above chance in two short
/// epochs, through the evaluator that trains NB201 cells, and its loss falls.
#[test]
fn a_tiny_nasnet_learns() {
    let g: Genotype = "normal:sep_conv_3x3~1+conv_1x1~0|conv_3x3~2+identity~1;\
                       reduce:max_pool_3x3~0+sep_conv_3x3~1|conv_3x3~2+identity~2"
        .parse()
        .unwrap();
    let data = splits(1280);
    let ev = TrainEvaluator::new(data, config(2)).unwrap();
    let out = ev.train_arch(&g, 3).unwrap();
    eprintln!(
        "NASNet C=4 N=1: {} params, valid {:.1}%, test {:.1}%, {:.2} s, losses {:?}",
        out.params,
        out.valid_acc,
        out.test_acc.unwrap(),
        out.train_s,
        out.epochs.iter().map(|e| e.train_loss).collect::<Vec<_>>()
    );
    assert_eq!(out.params, out.net.cost().params);
    let test_acc = out
        .test_acc
        .expect("a full training measures its test accuracy");
    assert!(test_acc > 40.0, "test accuracy {test_acc}");
    assert!(out.epochs[1].train_loss < out.epochs[0].train_loss);
    // The generic `Evaluator` impl trains the same way (checked on a small split).
    let small = splits(64);
    let mut ev = TrainEvaluator::new(small.clone(), config(1)).unwrap();
    let direct = ev.train_arch(&g, 3).unwrap();
    match ev.evaluate(&g, 3) {
        Evaluation::Ok {
            objective,
            reported,
            ..
        } => {
            assert_eq!(objective, direct.valid_acc);
            assert_eq!(Some(reported["test_acc"]), direct.test_acc);
            assert_eq!(reported["params_m"], direct.params as f64 / 1e6);
        }
        failed => panic!("{failed:?}"),
    }
    // Checkpoints carry the genotype.
    let device = DeviceChoice::Cpu.autodiff_device().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut t = NetTrainer::new(ev.net_spec(&g), config(1).train, 3, &device).unwrap();
    t.run_epoch(&small, &mut |_| {}).unwrap();
    t.save_checkpoint(dir.path()).unwrap();
    let meta = NetTrainer::<NasnetNetConfig>::read_checkpoint_meta(dir.path()).unwrap();
    assert_eq!(meta.net.genotype, g);
    let resumed =
        NetTrainer::<NasnetNetConfig>::resume(dir.path(), config(1).train, &device).unwrap();
    assert_eq!(resumed.epochs_done(), 1);
    assert_eq!(
        resumed.accuracy(&small, &small.test),
        t.accuracy(&small, &small.test)
    );
}
