//! The regression inputs of the fuzz targets of nasbo-core's parsers (`fuzz/regressions/`),
//! replayed on stable through the very checks the fuzz targets run (`fuzz/src/core_parsers.rs`,
//! included below): no input may panic or break an invariant, every rejected input gets a
//! precise error of the parser's kind naming the input or its place, and the inputs that once
//! crashed a parser give the error written here. See `fuzz/README.md`.

#[path = "../../../fuzz/src/core_parsers.rs"]
mod core_parsers;
#[path = "../../../fuzz/src/regressions.rs"]
mod regressions;
#[path = "../../../fuzz/src/shipped_spaces.rs"]
mod shipped_spaces;

use nasbo_core::JournalError;
use regressions::{input, inputs, Input};

/// Runs `check` (which asserts that a rejected input gets a precise error) on every input of
/// `target`, and asserts that some inputs pass and some fail: a folder that only ever parses,
/// or never, tests too little. Inputs that are not UTF-8 are skipped by text parsers (`check`
/// returns `None`), as by their fuzz targets.
fn replay<T, E>(target: &str, check: impl Fn(&[u8]) -> Option<Result<T, E>>) {
    let (mut passed, mut failed) = (0, 0);
    for (_, bytes) in inputs(target, 4) {
        match check(&bytes) {
            None => {}
            Some(Ok(_)) => passed += 1,
            Some(Err(_)) => failed += 1,
        }
    }
    assert!(passed > 0, "{target}: no input parses");
    assert!(failed > 0, "{target}: every input parses");
}

/// A text parser's check on the input, when it is UTF-8.
fn on_text<T>(check: impl Fn(&str) -> T) -> impl Fn(&[u8]) -> Option<T> {
    move |bytes| std::str::from_utf8(bytes).ok().map(&check)
}

/// The error of the text parser `check` on the kept input `name`.
fn error_of<T: std::fmt::Debug, E>(
    kept: &[Input],
    name: &str,
    check: impl Fn(&str) -> Result<T, E>,
) -> E {
    let text = std::str::from_utf8(input(kept, name)).expect("a text input");
    match check(text) {
        Ok(value) => panic!("{name} parses, to {value:?}"),
        Err(e) => e,
    }
}

#[test]
fn nb201_cells_replay() {
    replay("nb201_cell", on_text(core_parsers::nb201_cell));
}

#[test]
fn nasnet_genotypes_replay() {
    replay("nasnet_genotype", on_text(core_parsers::nasnet_genotype));
}

#[test]
fn layer_specs_replay() {
    replay("layer_spec", on_text(core_parsers::layer_spec));
}

#[test]
fn objective_specs_replay() {
    // Objective and constraint are two parsers of one input: each must pass and fail somewhere.
    replay(
        "objective_spec",
        on_text(|text| core_parsers::objective_spec(text).0),
    );
    replay(
        "objective_spec",
        on_text(|text| core_parsers::objective_spec(text).1),
    );
}

#[test]
fn declared_spaces_replay() {
    replay("declared_space", on_text(core_parsers::declared_space));
}

#[test]
fn journals_replay() {
    replay("journal", |bytes| Some(core_parsers::journal(bytes)));
}

#[test]
fn roundtrips_replay() {
    let mut parsed = 0;
    for (name, bytes) in inputs("roundtrip", 4) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let n = core_parsers::roundtrip(text);
            assert!(n <= 7, "{name}: {n} forms");
            parsed += n;
        }
    }
    assert!(parsed > 0, "no round-trip input parses");
}

#[test]
fn the_seeds_parse_to_what_they_say() {
    let cells = inputs("nb201_cell", 4);
    let best =
        core_parsers::nb201_cell(std::str::from_utf8(input(&cells, "seed-best")).expect("text"))
            .expect("the best cell parses");
    assert_eq!(best.official_index(), 9930);
    let e = error_of(&cells, "seed-two-groups", core_parsers::nb201_cell);
    assert!(e.to_string().contains("expected 3 node groups"), "{e}");
    let spaces = inputs("declared_space", 4);
    let e = error_of(&spaces, "seed-bad-repeat", core_parsers::declared_space);
    assert!(
        e.to_string()
            .contains("fuzz.toml:7:10: `repeat` must be 1..=10000"),
        "{e}"
    );
}

/// Found by the fuzz target `journal`: a trial-0 line giving `study` twice parsed with no
/// header at all, so a resumed study silently lost its spec.
#[test]
fn a_study_field_given_twice_is_an_error_not_a_lost_header() {
    let kept = inputs("journal", 4);
    for name in [
        "crash-3472cbdc-duplicate-study.jsonl",
        "crash-duplicate-study-min.jsonl",
    ] {
        match core_parsers::journal(input(&kept, name)) {
            Err(JournalError::Line { line, message, .. }) => {
                assert_eq!(line, 1, "{name}");
                assert!(
                    message
                        .starts_with("the field `study` cannot be read: duplicate field `study`"),
                    "{name}: {message}"
                );
            }
            other => panic!("{name}: expected a line error, got {other:?}"),
        }
    }
}

/// A space of 10,000 decisions (one `repeat`): parsing its architectures looked every
/// decision up by a linear search, 27 s for this input in the fuzz build, 0.27 s with the index.
#[test]
fn ten_thousand_repeated_decisions_parse() {
    let kept = inputs("declared_space", 4);
    let text = std::str::from_utf8(input(&kept, "slow-10000-repeats.toml")).expect("text");
    let space = core_parsers::declared_space(text).expect("the space parses");
    assert_eq!(space.decision_list().len(), 10_000);
    assert_eq!(space.decision_index("d0_9999"), Some(9_999));
    // 2^10000 architectures: more than a u128 counts.
    assert_eq!(nasbo_core::SearchSpace::cardinality(&space), None);
}

/// Found by the fuzz target `journal`: a line with bytes that are not UTF-8 inside a field the
/// reader ignores was read as a record, around the damage.
#[test]
fn a_line_that_is_not_utf8_is_no_record() {
    let kept = inputs("journal", 4);
    for (name, at) in [
        ("crash-e2cb74af-not-utf8-in-ignored-field.jsonl", 78),
        ("crash-not-utf8-in-ignored-field-min.jsonl", 82),
    ] {
        match core_parsers::journal(input(&kept, name)) {
            Err(JournalError::Line { line, message, .. }) => {
                assert_eq!(line, 1, "{name}");
                let expected = format!(
                    "not a trial record: the line is not UTF-8 text \
                     (invalid utf-8 sequence of 1 bytes from index {at})"
                );
                assert_eq!(message, expected, "{name}");
            }
            other => panic!("{name}: expected a line error, got {other:?}"),
        }
    }
}

/// Found by the fuzz target `journal`, a false alarm of its check: JSON allows the escape of a
/// lone surrogate, which the reader skips in a field it ignores (as it should) but which a
/// `serde_json::Value` cannot hold. The line reads, with its header.
#[test]
fn a_lone_surrogate_in_an_ignored_field_is_read_around() {
    let kept = inputs("journal", 4);
    let bytes = input(
        &kept,
        "crash-350a73b5-lone-surrogate-in-ignored-field.jsonl",
    );
    let path = std::path::Path::new(core_parsers::FUZZ_JOURNAL);
    let contents = nasbo_core::journal::parse_journal::<serde_json::Value>(bytes, path)
        .expect("the first line is a record, the second is torn");
    assert_eq!(contents.trials.len(), 1);
    assert_eq!(contents.trials[0].arch, serde_json::json!(10.0));
    let header = contents.header.expect("a header");
    assert_eq!(header["ives"], serde_json::json!(["valid_acc:max"]));
    // With text architectures the same line is refused, naming it.
    match core_parsers::journal(bytes) {
        Err(JournalError::Line { line, message, .. }) => {
            assert_eq!(line, 1);
            assert!(
                message.starts_with("not a trial record: invalid type: floating point `10.0`"),
                "{message}"
            );
        }
        other => panic!("expected a line error, got {other:?}"),
    }
}
