//! What the fuzz targets check on the config files of `nasbo-experiment` and the data files
//! of `nasbo-train` (IDX and CIFAR binaries).
//!
//! As in `core_parsers.rs`: each function parses one input, then does with a value that
//! parses what a caller does next, panicking on any broken invariant, and returns the parse
//! result. `crates/nasbo-experiment/tests/fuzz_regressions.rs` includes this file and runs it
//! on the kept inputs of `fuzz/regressions/{config,idx}/`.

use std::path::Path;

use nasbo_experiment::spec::{differences, StudySpec};
use nasbo_train::data::{parse_cifar, parse_idx, CifarKind, IdxArray, Images};

/// The name under which fuzzed data files appear in error messages.
pub const FUZZ_DATA: &str = "fuzz.idx";

/// A config file (`nasbo search --config`, what `StudySpec::read` parses), then what every
/// command does with it: lay it under the command line's flags, validate it, and record it in
/// a journal, whose record must read back with no difference (so that resuming the same study
/// is never refused).
///
/// A rejected file's error must point inside the text (toml's span) and say something.
/// Returns the parse result and, for a spec that parses, whether it validates.
pub fn config(text: &str) -> (Result<StudySpec, toml::de::Error>, Option<bool>) {
    let parsed = toml::from_str::<StudySpec>(text);
    let spec = match &parsed {
        Ok(spec) => spec,
        Err(e) => {
            assert!(!e.message().is_empty(), "a config error says nothing");
            if let Some(span) = e.span() {
                assert!(
                    span.start <= span.end && span.end <= text.len(),
                    "the error's span {span:?} lies outside the {}-byte text",
                    text.len()
                );
            }
            return (parsed, None);
        }
    };
    // No flags: the file's settings are the study's, exactly.
    let layered = StudySpec::default().over(spec.clone());
    assert_eq!(
        layered.record(),
        spec.record(),
        "laying the file under no flags changed it"
    );
    let valid = match spec.validate() {
        Ok(()) => true,
        Err(e) => {
            assert!(!e.to_string().is_empty(), "a validation error says nothing");
            false
        }
    };
    if valid {
        let record = spec.record();
        let line = serde_json::to_string(&record).expect("a record is JSON");
        let read_back: serde_json::Value =
            serde_json::from_str(&line).expect("a written record reads back");
        let changed = differences(&record, &read_back);
        assert!(
            changed.is_empty(),
            "the study's own record reads back different: {changed:?}\n{line}"
        );
    }
    (parsed, Some(valid))
}

/// IDX bytes read as each rank nasbo asks for (1: labels, 3: images) and as the rank the
/// header claims: a parse must account for every byte (header + product of dimensions), and
/// an error must name the file.
pub fn idx(bytes: &[u8]) -> Vec<Result<IdxArray, String>> {
    let path = Path::new(FUZZ_DATA);
    let claimed = bytes.get(3).map_or(0, |&r| r as usize);
    let mut out = Vec::new();
    for rank in [1, 3, claimed] {
        let parsed = parse_idx(bytes, rank, path);
        match &parsed {
            Ok(array) => {
                assert_eq!(array.dims.len(), rank, "rank {rank} gave {:?}", array.dims);
                let product: usize = array.dims.iter().product();
                assert_eq!(
                    array.data.len(),
                    product,
                    "data does not fill {:?}",
                    array.dims
                );
                assert_eq!(
                    4 + 4 * rank + array.data.len(),
                    bytes.len(),
                    "bytes left unaccounted for"
                );
                assert_eq!(&bytes[4 + 4 * rank..], array.data.as_slice());
            }
            Err(e) => assert_names_file(&e.to_string()),
        }
        out.push(parsed.map_err(|e| e.to_string()));
    }
    out
}

/// CIFAR-10 and CIFAR-100 binary records: a parse keeps every record, with labels in range.
pub fn cifar(bytes: &[u8]) -> Vec<Result<Images, String>> {
    let path = Path::new(FUZZ_DATA);
    [(CifarKind::Cifar10, 1, 10), (CifarKind::Cifar100, 2, 100)]
        .into_iter()
        .map(|(kind, label_bytes, classes)| {
            let parsed = parse_cifar(bytes, kind, path);
            match &parsed {
                Ok(images) => {
                    let n = bytes.len() / (label_bytes + 3072);
                    assert_eq!(images.len(), n, "{kind:?}: records lost");
                    assert_eq!(images.pixels.len(), n * 3072);
                    assert!(images.labels.iter().all(|&l| (l as usize) < classes));
                }
                Err(e) => assert_names_file(&e.to_string()),
            }
            parsed.map_err(|e| e.to_string())
        })
        .collect()
}

fn assert_names_file(message: &str) {
    assert!(
        message.starts_with(FUZZ_DATA) && message.len() > FUZZ_DATA.len() + 2,
        "the error does not name the file and the problem: {message}"
    );
}
