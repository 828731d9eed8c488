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

const CELL: &str =
    "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|";

fn train(out: &std::path::Path, epochs: &str, resume: bool) -> Output {
    let resume: &[&str] = if resume { &["--resume"] } else { &[] };
    run_train(out, &[&["--arch", CELL], resume].concat(), epochs)
}

/// `nasbo train` with `extra` flags (space, architecture) on digits with a tiny network for
/// `epochs`, into `out`.
fn run_train(out: &std::path::Path, extra: &[&str], epochs: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasbo"))
        .arg("train")
        .args(extra)
        .args([
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
        .arg(out)
        .output()
        .expect("the nasbo binary runs")
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

fn train_arch(out: &std::path::Path, extra: &[&str]) -> Output {
    run_train(out, extra, "1")
}

fn report(out: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap()
}

#[test]
fn train_takes_an_architecture_of_every_space() {
    let nasnet = "normal:sep_conv_3x3~0+identity~1|max_pool_3x3~2+conv_1x1~0;\
                  reduce:avg_pool_3x3~0+sep_conv_3x3~1|identity~2+max_pool_3x3~0";
    let out = tempfile::tempdir().unwrap();
    let run = train_arch(out.path(), &["--space", "nasnet", "--arch", nasnet]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let r = report(out.path());
    assert_eq!(r["space"], "nasnet");
    assert_eq!(r["arch"], nasnet);
    assert!(r.get("arch_index").is_none(), "{r}");
    assert!(r["params"].as_u64().unwrap() > 0);
    // The same folder holds a NASNet checkpoint: an NB201 cell cannot resume it.
    let other = train_arch(out.path(), &["--arch", CELL, "--resume"]);
    assert_eq!(other.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other.stderr).contains("not of a nb201 network"));

    let chain = "first=conv(kernel=3, channels=16),reduce=maxpool(kernel=2),depth=1,\
                 block_0=sepconv(kernel=3, channels=32)";
    let space = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../datasets/declared/chain.toml"
    );
    let out = tempfile::tempdir().unwrap();
    let run = train_arch(out.path(), &["--space-file", space, "--arch", chain]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let r = report(out.path());
    assert_eq!(r["space"], "chain");
    assert_eq!(r["arch"], chain);
    assert_eq!(r["net"]["layers"].as_array().unwrap().len(), 3, "{r}");
}

#[test]
fn a_malformed_architecture_is_a_usage_error_before_any_data_is_read() {
    let out = tempfile::tempdir().unwrap();
    // An NB201 cell given as a NASNet genotype, and a choice the chain space does not have.
    let cell = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|";
    let space = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../datasets/declared/chain.toml"
    );
    for extra in [
        vec!["--space", "nasnet", "--arch", cell],
        vec!["--space-file", space, "--arch", "first=conv(kernel=9)"],
        vec!["--arch", "|nor_conv_3x3~0|"],
    ] {
        let run = Command::new(env!("CARGO_BIN_EXE_nasbo"))
            .arg("train")
            .args(&extra)
            .args(["--data-dir", "/nonexistent-data", "--out"])
            .arg(out.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains("--arch"), "{extra:?}: {stderr}");
    }
}

#[test]
fn resuming_with_other_settings_names_each_difference() {
    let out = tempfile::tempdir().unwrap();
    assert!(train(out.path(), "1", false).status.success());
    let run = train(out.path(), "2", true);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("epochs: 2 (checkpoint: 1)"), "{stderr}");
    assert!(!stderr.contains("TrainConfig"), "{stderr}");
}

#[test]
fn train_json_prints_the_report_and_quiet_writes_nothing_else() {
    let out = tempfile::tempdir().unwrap();
    let run = train_arch(out.path(), &["--arch", CELL, "--json", "--quiet"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(printed, report(out.path()));
    assert!(
        run.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
