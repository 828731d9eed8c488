//! The declared spaces shipped in `datasets/declared/`, which fuzzed architectures and tables
//! are read against. Included by the fuzz crate and by the regression tests alike.

use std::sync::OnceLock;

use nasbo_core::declared::DeclaredSpace;

/// `tiny.toml` (conditional depth) and `chain.toml`, parsed once.
pub fn shipped_spaces() -> &'static [DeclaredSpace] {
    static SPACES: OnceLock<Vec<DeclaredSpace>> = OnceLock::new();
    SPACES.get_or_init(|| {
        [
            (
                "tiny.toml",
                include_str!("../../datasets/declared/tiny.toml"),
            ),
            (
                "chain.toml",
                include_str!("../../datasets/declared/chain.toml"),
            ),
        ]
        .iter()
        .map(|(name, toml)| DeclaredSpace::from_toml_str(toml, name).expect("a shipped space"))
        .collect()
    })
}
