//! The regression inputs of the fuzz targets, for the stable tests that replay them
//! (`crates/*/tests/fuzz_regressions.rs` include this file; the fuzz crate does not).

use std::path::PathBuf;

/// One kept input: its file name and bytes.
pub type Input = (String, Vec<u8>);

/// Every file of `fuzz/regressions/<target>/`, sorted by name; panics when the folder is
/// missing or holds fewer than `at_least` files, so that a test never passes on nothing.
pub fn inputs(target: &str, at_least: usize) -> Vec<Input> {
    // Both including crates live in `crates/<name>/`.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut out: Vec<Input> = entries
        .map(|entry| {
            let path = entry.expect("a folder entry").path();
            let name = path
                .file_name()
                .expect("a file")
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, bytes)
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= at_least,
        "{} holds {} inputs, expected at least {at_least}",
        dir.display(),
        out.len()
    );
    out
}

/// The input called `name` in `inputs`.
pub fn input<'a>(inputs: &'a [Input], name: &str) -> &'a [u8] {
    inputs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, bytes)| bytes.as_slice())
        .unwrap_or_else(|| panic!("no regression input `{name}`"))
}
