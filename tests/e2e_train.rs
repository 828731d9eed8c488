//! End-to-end tests of `nasbo train` on the digits data with a tiny network: a report, the
//! checkpoint and --resume.

use std::path::PathBuf;
use std::process::{Command, Output};

fn data_root() -> PathBuf {
    let root = std::env::var_os("NASBO_DATA").unwrap_or_else(|| {
        panic!(
            "NASBO_DATA is not set: point it at the folder holding digits/ (the README's test \
             command sets it to the shared data folder)"
        )
    });
    PathBuf::from(root)
}

fn train(out: &std::path::Path, epochs: &str, resume: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nasbo"));
    cmd.args([
        "train",
        "--arch",
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
        "--dataset",
        "digits",
        "--channels",
        "4",
        "--cells",
        "1",
        "--batch-size",
        "64",
        "--epochs",
        epochs,
    ])
    .arg("--data-dir")
    .arg(data_root())
    .arg("--out")
    .arg(out);
    if resume {
        cmd.arg("--resume");
    }
    cmd.output().expect("the nasbo binary runs")
}

#[test]
fn train_writes_a_report_and_resumes() {
    let out = tempfile::tempdir().unwrap();
    let first = train(out.path(), "1", false);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["epochs"].as_array().unwrap().len(), 1);
    assert!(report["test_acc"].as_f64().unwrap() > 10.0, "{report}");
    assert!(report["latency_ms_b64"].as_f64().unwrap() > 0.0);
    assert!(out.path().join("model.bpk").is_file());

    // An existing checkpoint needs --resume; with it, training goes on from epoch 1.
    let refused = train(out.path(), "2", false);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));
    // A checkpoint of a 1-epoch recipe cannot be continued as a 2-epoch one (the cosine
    // schedule differs); the same recipe resumes and has nothing left to do.
    assert!(!train(out.path(), "2", true).status.success());
    assert!(train(out.path(), "1", true).status.success());
}
