//! What the fuzz targets check on the parsers of `nasbo-core`.
//!
//! Each function parses one input, then does with a value that parses what a caller does
//! next (print it, validate it, sample and mutate in a declared space, ...), panicking on
//! any broken invariant, and returns the parse result. The fuzz targets call these functions;
//! `crates/nasbo-core/tests/fuzz_regressions.rs` includes this file and calls them on the
//! regression inputs kept in `fuzz/regressions/`, so both run the same checks.

use std::fmt::{Debug, Display};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::str::FromStr;

use nasbo_core::declared::{DeclaredArch, DeclaredOneHot, DeclaredSpace, LayerSpec};
use nasbo_core::encoding::OneHot;
use nasbo_core::journal::{parse_journal, JournalContents};
use nasbo_core::nasnet::{Genotype, NasnetMacro, NasnetSpace};
use nasbo_core::nb201::{Cell, Nb201Space};
use nasbo_core::{ArchError, Constraint, Encoder, JournalError, Objective, SearchSpace, SpecError};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::shipped_spaces::shipped_spaces;

/// The name under which fuzzed declared spaces appear in error messages.
pub const FUZZ_TOML: &str = "fuzz.toml";
/// The name under which fuzzed journals appear in error messages.
pub const FUZZ_JOURNAL: &str = "fuzz.jsonl";

/// Above this many (decision, choice) pairs times decisions, a declared space is too big to
/// list every neighbour of an architecture within the fuzzer's time and memory limits.
const MAX_NEIGHBOUR_WORK: usize = 1 << 20;
/// NASNet genotypes with more blocks than this are not expanded into their neighbours.
const MAX_NEIGHBOUR_BLOCKS: usize = 16;

/// A deterministic seed drawn from the input, so that a failing input replays exactly.
fn seed_of(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// The number of lines of an input, a last line without a newline included.
pub fn line_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + 1
}

/// A parse error must quote the whole input and say what was expected.
fn assert_quotes_input(text: &str, e: &ArchError) {
    match e {
        ArchError::Parse { input, reason } => {
            assert_eq!(input, text, "the error quotes another text");
            assert!(
                !reason.is_empty(),
                "the error does not say what was expected"
            );
        }
        other => panic!("`{text}`: expected a parse error, got {other:?}"),
    }
}

/// A spec error must quote the whole input and name the problem.
fn assert_spec_error(text: &str, e: &SpecError) {
    let (SpecError::Objective { input, problem } | SpecError::Constraint { input, problem }) = e;
    assert_eq!(input, text, "the error quotes another text");
    assert!(!problem.is_empty(), "the error names no problem");
}

/// A value printed by `Display` must parse back to itself, and print the same again.
pub fn assert_roundtrip<T>(value: &T)
where
    T: FromStr + Display + PartialEq + Debug,
    T::Err: Debug,
{
    let text = value.to_string();
    let again: T = text
        .parse()
        .unwrap_or_else(|e| panic!("`{text}`, printed from {value:?}, does not parse: {e:?}"));
    assert_eq!(&again, value, "`{text}` parses to another value");
    assert_eq!(again.to_string(), text, "printing is not stable");
}

/// An NB201 cell string: parses, prints back, and its codes, canonical form and neighbours
/// agree.
pub fn nb201_cell(text: &str) -> Result<Cell, ArchError> {
    let cell: Cell = text.parse().inspect_err(|e| assert_quotes_input(text, e))?;
    assert_roundtrip(&cell);
    assert_eq!(Cell::from_code(cell.code()), Ok(cell));
    assert_eq!(Cell::from_official_index(cell.official_index()), Ok(cell));
    let canonical = cell.canonical();
    assert_eq!(canonical.iso_key(), cell.iso_key());
    assert_eq!(canonical.canonical(), canonical);
    let space = Nb201Space;
    assert_eq!(space.parse_arch(&space.format_arch(&cell)), Ok(cell));
    assert_eq!(space.neighbours(&cell).len(), 24);
    let choices = space.to_choices(&cell).expect("a product space");
    assert_eq!(space.from_choices(&choices), Ok(cell));
    let _ = (
        cell.is_connected(),
        cell.computation_key(),
        space.labeled_dag(&cell),
    );
    Ok(cell)
}

/// A NASNet genotype: parses, prints back, canonicalises idempotently, and fits the space of
/// its block count exactly when both cells have that many blocks.
pub fn nasnet_genotype(text: &str) -> Result<Genotype, ArchError> {
    let genotype: Genotype = text.parse().inspect_err(|e| assert_quotes_input(text, e))?;
    assert_roundtrip(&genotype);
    let blocks = genotype.normal.blocks.len();
    let space = NasnetSpace::with_blocks(blocks).expect("a parsed cell has at least one block");
    let canonical = space.canonical(&genotype);
    assert_eq!(space.canonical(&canonical), canonical, "canonical twice");
    for (_, cell) in genotype.cells() {
        assert!(
            !cell.output_blocks().is_empty(),
            "the last block is always an output"
        );
    }
    let _ = NasnetMacro::default().cost(&genotype);
    let _ = space.labeled_dag(&genotype);
    match space.validate(&genotype) {
        Ok(()) => {
            assert_eq!(genotype.reduce.blocks.len(), blocks);
            let choices = space
                .to_choices(&genotype)
                .expect("every op is in the space");
            assert_eq!(space.from_choices(&choices).as_ref(), Ok(&genotype));
            assert_eq!(
                space.parse_arch(&space.format_arch(&genotype)).as_ref(),
                Ok(&genotype)
            );
            if blocks <= MAX_NEIGHBOUR_BLOCKS {
                let neighbours = space.neighbours(&genotype);
                assert_eq!(neighbours.len(), space.neighbour_count());
                assert!(neighbours.iter().all(|n| n != &genotype));
            }
        }
        Err(e) => {
            assert_ne!(genotype.reduce.blocks.len(), blocks, "{e}");
            assert!(e.to_string().contains("the reduce cell has"), "{e}");
        }
    }
    Ok(genotype)
}

/// A layer string: parses, prints back in canonical form, has a positive stride and an odd
/// convolution kernel.
pub fn layer_spec(text: &str) -> Result<LayerSpec, ArchError> {
    let layer: LayerSpec = text.parse().inspect_err(|e| assert_quotes_input(text, e))?;
    assert_roundtrip(&layer);
    assert!(layer.stride() >= 1);
    assert!(layer.out_channels(16) >= 1);
    if let LayerSpec::Conv { kernel, .. }
    | LayerSpec::SepConv { kernel, .. }
    | LayerSpec::MbConv { kernel, .. } = layer
    {
        assert_eq!(kernel % 2, 1, "an even convolution kernel parsed: {layer}");
    }
    Ok(layer)
}

/// An objective spec and a constraint spec read from the same text: each that parses prints
/// back, and a constraint's violation is positive exactly where it is not satisfied.
pub fn objective_spec(text: &str) -> (Result<Objective, SpecError>, Result<Constraint, SpecError>) {
    let objective = text.parse::<Objective>();
    if let Err(e) = &objective {
        assert_spec_error(text, e);
    }
    if let Ok(o) = &objective {
        assert_roundtrip(o);
        assert_eq!(o.raw(o.minimized(1.5)), 1.5);
    }
    let constraint = text.parse::<Constraint>();
    if let Err(e) = &constraint {
        assert_spec_error(text, e);
    }
    if let Ok(c) = &constraint {
        assert_roundtrip(c);
        assert!(c.bound.is_finite());
        let b = c.bound;
        for v in [
            b,
            b - 1.0,
            b + 1.0,
            b * 2.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let violation = c.violation(v);
            assert!(violation >= 0.0, "{c}: violation({v}) = {violation}");
            assert_eq!(violation > 0.0, !c.satisfied(v), "{c} at {v}");
        }
    }
    (objective, constraint)
}

/// A declared space's TOML: when it parses, sampling, mutation, neighbours, text forms,
/// encodings and the layer chain all hold up on architectures drawn from the input.
pub fn declared_space(text: &str) -> Result<DeclaredSpace, ArchError> {
    let space = DeclaredSpace::from_toml_str(text, FUZZ_TOML)
        .inspect_err(|e| assert_space_file_error(text, e))?;
    let sizes = space.decisions().expect("a product of decisions");
    assert_eq!(sizes.len(), space.decision_list().len());
    assert!(!sizes.is_empty() && sizes.iter().all(|&n| n >= 1));
    if let Some(n) = space.cardinality() {
        assert!(n >= 1);
    }
    let _ = space.to_string();
    let trainable = space.check_trainable().is_ok();
    let seed = seed_of(text);
    let mut rng = StdRng::seed_from_u64(seed);
    // Choices picked by the input's hash: any vector of in-range choices is an architecture.
    let picked: Vec<usize> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| (seed.rotate_left(i as u32 % 64) as usize ^ i) % n)
        .collect();
    let from_input = space.from_choices(&picked).expect("in-range choices");
    let sampled = space.sample(&mut rng);
    let mutated = space.mutate(&sampled, &mut rng);
    if space.cardinality() != Some(1) {
        assert_ne!(mutated, sampled, "a mutation must change the architecture");
    }
    let encoder = DeclaredOneHot::new(&space);
    let one_hot = OneHot::for_space(&space).expect("a product of decisions");
    assert_eq!(encoder.dim(), one_hot.dim());
    for arch in [&from_input, &sampled, &mutated] {
        check_declared_arch(&space, arch, trainable, &encoder);
    }
    let work = sizes.iter().sum::<usize>().saturating_mul(sizes.len());
    if work <= MAX_NEIGHBOUR_WORK {
        let neighbours = space.neighbours(&sampled);
        for n in &neighbours {
            assert_ne!(n, &sampled);
            space.validate(n).expect("a neighbour is valid");
        }
    }
    Ok(space)
}

/// A space-file error names the file and a line and column inside the text.
fn assert_space_file_error(text: &str, e: &ArchError) {
    let ArchError::SpaceFile {
        path,
        line,
        column,
        message,
    } = e
    else {
        panic!("expected a space-file error, got {e:?}");
    };
    assert_eq!(path, Path::new(FUZZ_TOML));
    let line_text = text.split('\n').nth(line - 1);
    let line_text = line_text.unwrap_or_else(|| panic!("line {line} is past the end: {e}"));
    assert!(
        (1..=line_text.chars().count() + 1).contains(column),
        "column {column} is outside line {line}: {e}"
    );
    assert!(!message.is_empty());
}

fn check_declared_arch(
    space: &DeclaredSpace,
    arch: &DeclaredArch,
    trainable: bool,
    encoder: &DeclaredOneHot,
) {
    space.validate(arch).expect("a valid architecture");
    let text = space.format_arch(arch);
    assert_eq!(space.parse_arch(&text).as_ref(), Ok(arch), "`{text}`");
    let choices = space.to_choices(arch).expect("a product of decisions");
    assert_eq!(space.from_choices(&choices).as_ref(), Ok(arch));
    let active = space.active_mask(arch.choices());
    // `choice` computes the whole mask each time: check the first decisions only.
    for (i, &a) in active.iter().enumerate().take(64) {
        assert_eq!(space.choice(arch, i).is_some(), a);
    }
    let ones = encoder.encode(arch).iter().filter(|&&x| x == 1.0).count();
    assert_eq!(ones, active.iter().filter(|&&a| a).count());
    assert_eq!(space.layer_chain(arch).is_ok(), trainable);
}

/// A journal's bytes, read as the CLI reads them: the valid prefix ends at a line boundary
/// and reads back to the same contents, every trial prints back to a line that parses to
/// the same trial, and the header is an object.
pub fn journal(bytes: &[u8]) -> Result<JournalContents<String>, JournalError> {
    let path = Path::new(FUZZ_JOURNAL);
    let _ = parse_journal::<serde::de::IgnoredAny>(bytes, path);
    if let Ok(values) = parse_journal::<serde_json::Value>(bytes, path) {
        check_journal(bytes, &values);
    }
    let contents = parse_journal::<String>(bytes, path).inspect_err(|e| match e {
        JournalError::Line {
            path: p,
            line,
            message,
        } => {
            assert_eq!(p, path);
            // Only a complete line is ever wrong: a torn last one is dropped.
            assert!((1..line_count(bytes)).contains(line), "line {line}: {e}");
            assert!(!message.is_empty());
        }
        other => panic!("expected a line error, got {other:?}"),
    })?;
    check_journal(bytes, &contents);
    Ok(contents)
}

fn check_journal<A>(bytes: &[u8], contents: &JournalContents<A>)
where
    A: serde::Serialize + serde::de::DeserializeOwned + PartialEq + Debug,
{
    let good = usize::try_from(contents.good_len).expect("a length in memory");
    assert!(good <= bytes.len());
    assert!(
        good == 0 || bytes[good - 1] == b'\n',
        "the valid prefix ends mid-line"
    );
    let again = parse_journal::<A>(&bytes[..good], Path::new(FUZZ_JOURNAL))
        .expect("the valid prefix reads again");
    assert_eq!(&again, contents, "the valid prefix reads differently");
    for (i, trial) in contents.trials.iter().enumerate() {
        assert_eq!(trial.trial, i);
        let line = serde_json::to_string(trial).expect("a trial serialises");
        let back: nasbo_core::Trial<A> = serde_json::from_str(&line).expect("its line parses");
        assert_eq!(&back, trial, "`{line}`");
    }
    // The header is the field `study` of the line of trial 0, exactly, where that line reads
    // as a `Value` (JSON allows escapes of lone surrogates, which a `Value` cannot hold: the
    // reader skips them in fields it ignores, and refuses them in `study`).
    let first = bytes[..good]
        .split(|&b| b == b'\n')
        .find(|line| !line.trim_ascii().is_empty());
    match first.map(serde_json::from_slice::<serde_json::Value>) {
        None => assert_eq!(contents.header, None),
        Some(Ok(mut line)) => {
            let study = line
                .get_mut("study")
                .map(serde_json::Value::take)
                .filter(|study| !study.is_null());
            assert_eq!(
                contents.header, study,
                "the header is not the line's `study` field"
            );
        }
        Some(Err(_)) => {}
    }
    if let Some(header) = &contents.header {
        assert!(header.is_object());
    }
}

/// 1 when `text` parses as a `T` (which must then print back to itself), else 0.
fn parses_back<T>(text: &str) -> usize
where
    T: FromStr + Display + PartialEq + Debug,
    T::Err: Debug,
{
    text.parse::<T>()
        .map(|value| assert_roundtrip(&value))
        .is_ok() as usize
}

/// Every text form nasbo reads, on one input: whatever parses (an NB201 cell, a NASNet
/// genotype, a layer, an objective, a constraint, an architecture of a declared space) must
/// print back to text that parses to the same value. Returns how many forms parsed.
pub fn roundtrip(text: &str) -> usize {
    let mut parsed = parses_back::<Cell>(text)
        + parses_back::<Genotype>(text)
        + parses_back::<LayerSpec>(text)
        + parses_back::<Objective>(text)
        + parses_back::<Constraint>(text);
    for space in shipped_spaces() {
        if let Ok(arch) = space.parse_arch(text) {
            let printed = space.format_arch(&arch);
            assert_eq!(
                space.parse_arch(&printed).as_ref(),
                Ok(&arch),
                "`{printed}`"
            );
            assert_eq!(space.format_arch(&arch), printed);
            parsed += 1;
        }
    }
    parsed
}
