//! The built network matches nasbo-core's cost model and runs forward.

mod common;

use nasbo_core::cost::Nb201Macro;
use nasbo_core::nb201::Cell;
use nasbo_train::{DeviceChoice, Nb201NetConfig};

const CELLS: [&str; 5] = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|skip_connect~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|nor_conv_3x3~2|",
    "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
];

/// `params_mb_cifar10` of cell 6111 in the NB201 table.
const TABLE_PARAMS_MB_6111: f64 = 1.073466;

#[test]
fn parameter_count_equals_the_cost_model() {
    let device = DeviceChoice::Cpu.device().unwrap();
    let skeletons = [
        Nb201Macro::default(),
        Nb201Macro {
            channels: 8,
            cells_per_stage: 1,
            classes: 10,
            input_size: 28,
            input_channels: 1,
        },
        Nb201Macro {
            channels: 4,
            cells_per_stage: 2,
            classes: 100,
            input_size: 16,
            input_channels: 3,
        },
    ];
    for s in skeletons {
        for c in CELLS {
            let cell: Cell = c.parse().unwrap();
            let cfg = Nb201NetConfig::new(cell, s);
            let net = cfg.init(&device);
            assert_eq!(
                net.trainable_params() as u64,
                cfg.cost().params,
                "{c} in {s:?}"
            );
            // The generic count (every parameter but running statistics, found by name) agrees
            // with the NB201 network's own enumeration of its batch norms.
            assert_eq!(
                nasbo_train::trainable_params(&net),
                net.trainable_params(),
                "{c}"
            );
        }
    }
    // The benchmark's full network with its best cell (index 6111): params_mb_cifar10 = 1.073466.
    let best = Nb201NetConfig::new(CELLS[0].parse().unwrap(), Nb201Macro::default());
    assert!((best.cost().params_m() - TABLE_PARAMS_MB_6111).abs() < 1e-6);
}

#[test]
fn forward_gives_one_logit_per_class_for_every_cell_kind() {
    let device = DeviceChoice::Cpu.device().unwrap();
    let s = Nb201Macro {
        channels: 4,
        cells_per_stage: 1,
        classes: 7,
        input_size: 8,
        input_channels: 1,
    };
    for c in CELLS {
        let net = Nb201NetConfig::new(c.parse().unwrap(), s).init(&device);
        let x = common::test_input(&device, [3, 1, 8, 8]);
        let y = net.forward(x);
        assert_eq!(y.dims(), [3, 7], "{c}");
        let v: Vec<f32> = y.into_data().try_to_vec::<f32>().unwrap();
        assert!(v.iter().all(|x| x.is_finite()), "{c}");
    }
}

#[test]
fn bad_sizes_are_rejected() {
    let cell: Cell = CELLS[0].parse().unwrap();
    let s = Nb201Macro {
        input_size: 30,
        ..Nb201Macro::default()
    };
    assert!(Nb201NetConfig::new(cell, s).check().is_err());
}
