//! The checks behind nasbo's fuzz targets (`fuzz_targets/`), one module per crate fuzzed, and
//! the shipped spaces they read inputs against.
//! The regression tests of those crates include the same files, so a fuzz target and its
//! regression test always run the same code; see `README.md`.

pub mod bench_tables;
pub mod core_parsers;
pub mod experiment_inputs;
pub mod shipped_spaces;
