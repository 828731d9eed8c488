//! Compiles nasbo-cli's `train_cmd.rs` (owned here, wired in by the CLI) and runs it end to end
//! on the digits data with a tiny network.

mod common;

#[path = "../../nasbo-cli/src/train_cmd.rs"]
mod train_cmd;

use clap::{CommandFactory, Parser};
use nasbo_core::nb201::Cell;
use nasbo_core::{Evaluation, Evaluator};

#[derive(Debug, Parser)]
enum Cli {
    Train(train_cmd::TrainArgs),
    Search {
        #[arg(long)]
        dataset: String,
        #[command(flatten)]
        train: train_cmd::TrainEvalArgs,
    },
}

#[test]
fn the_flags_are_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn train_writes_a_report_and_resumes() {
    let out = tempfile::tempdir().unwrap();
    let root = common::data_root();
    let args =
        |epochs: &str, resume: bool| {
            let mut a =
                vec![
            "nasbo", "train", "--arch",
            "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
            "--dataset", "digits", "--data-dir", root.to_str().unwrap(),
            "--channels", "4", "--cells", "1", "--epochs", epochs, "--batch-size", "64",
            "--out", out.path().to_str().unwrap(),
        ];
            if resume {
                a.push("--resume");
            }
            match Cli::try_parse_from(a).unwrap() {
                Cli::Train(t) => t,
                _ => unreachable!(),
            }
        };
    train_cmd::run(args("1", false)).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["epochs"].as_array().unwrap().len(), 1);
    assert!(report["test_acc"].as_f64().unwrap() > 10.0, "{report}");
    assert!(report["latency_ms_b64"].as_f64().unwrap() > 0.0);
    assert!(out.path().join("model.bpk").is_file());

    // An existing checkpoint needs --resume; with it, training goes on from epoch 1.
    assert!(train_cmd::run(args("2", false)).is_err());
    // A checkpoint of a 1-epoch recipe cannot be continued as a 2-epoch one (the cosine
    // schedule differs); the same recipe resumes and has nothing left to do.
    assert!(train_cmd::run(args("2", true)).is_err());
    train_cmd::run(args("1", true)).unwrap();
}

#[test]
fn search_flags_make_an_evaluator() {
    let root = common::data_root();
    let cli = Cli::try_parse_from([
        "nasbo",
        "search",
        "--dataset",
        "digits",
        "--data-dir",
        root.to_str().unwrap(),
        "--epochs",
        "1",
        "--channels",
        "4",
        "--cells",
        "1",
        "--train-limit",
        "300",
    ])
    .unwrap();
    let Cli::Search { dataset, train } = cli else {
        unreachable!()
    };
    let mut ev = train_cmd::make_evaluator(&train, &dataset).unwrap();
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
    assert!(train_cmd::make_evaluator(&train, "imagenet").is_err());
}
