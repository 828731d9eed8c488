//! The regression inputs of the fuzz targets `config` and `idx` (`fuzz/regressions/`),
//! replayed on stable through the very checks the fuzz targets run
//! (`fuzz/src/experiment_inputs.rs`, included below): no input may panic or break an
//! invariant, and each folder holds inputs that are accepted and inputs that are refused, so
//! both paths are tested. See `fuzz/README.md`.

#[path = "../../../fuzz/src/experiment_inputs.rs"]
mod experiment_inputs;
#[path = "../../../fuzz/src/regressions.rs"]
mod regressions;

use regressions::{input, inputs};

#[test]
fn configs_replay() {
    let (mut valid, mut invalid, mut unreadable) = (0, 0, 0);
    for (_, bytes) in inputs("config", 8) {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        match experiment_inputs::config(text) {
            (Err(_), _) => unreadable += 1,
            (Ok(_), Some(true)) => valid += 1,
            (Ok(_), _) => invalid += 1,
        }
    }
    assert!(
        valid > 0 && invalid > 0 && unreadable > 0,
        "{valid} valid, {invalid} refused by validation, {unreadable} unreadable"
    );
}

#[test]
fn the_kept_configs_get_the_errors_users_see() {
    let kept = inputs("config", 8);
    let text = |name| std::str::from_utf8(input(&kept, name)).unwrap().to_string();
    let (parsed, _) = experiment_inputs::config(&text("seed-unknown-key.toml"));
    let err = parsed.unwrap_err().to_string();
    assert!(err.contains("line 5") && err.contains("foo"), "{err}");
    let (parsed, valid) = experiment_inputs::config(&text("seed-both-spaces.toml"));
    assert!(parsed.is_ok() && valid == Some(false));
    let (parsed, valid) = experiment_inputs::config(&text("seed-train-moo.toml"));
    assert!(parsed.is_ok() && valid == Some(true));
}

#[test]
fn data_files_replay() {
    let (mut parsed, mut refused) = (0, 0);
    for (_, bytes) in inputs("idx", 6) {
        for outcome in experiment_inputs::idx(&bytes) {
            if outcome.is_ok() {
                parsed += 1
            } else {
                refused += 1
            }
        }
        for outcome in experiment_inputs::cifar(&bytes) {
            if outcome.is_ok() {
                parsed += 1
            } else {
                refused += 1
            }
        }
    }
    assert!(
        parsed > 0 && refused > 0,
        "{parsed} parsed, {refused} refused"
    );
}

#[test]
fn the_kept_data_files_get_the_errors_users_see() {
    let kept = inputs("idx", 6);
    let idx = |name| experiment_inputs::idx(input(&kept, name));
    let overflow = idx("seed-overflowing-dims")[1].clone().unwrap_err();
    assert!(overflow.contains("multiply to more than"), "{overflow}");
    let truncated = idx("seed-truncated-data")[1].clone().unwrap_err();
    assert!(truncated.contains("truncated IDX data"), "{truncated}");
    assert_eq!(idx("seed-labels")[0].clone().unwrap().dims, vec![4]);
    assert_eq!(
        idx("seed-images-2x2")[1].clone().unwrap().dims,
        vec![2, 2, 2]
    );
    let cifar = experiment_inputs::cifar(input(&kept, "seed-cifar100-record"));
    assert_eq!(cifar[1].as_ref().unwrap().labels, vec![77]);
    assert!(cifar[0].is_err(), "a 3074-byte file is no CIFAR-10 file");
}
