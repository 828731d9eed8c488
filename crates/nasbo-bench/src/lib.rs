//! Tabular NAS benchmarks as nasbo evaluators.
//!
//! A benchmark table answers "how good is this architecture" from a file instead of a
//! training run, so that search strategies can be compared over many seeds in seconds. The
//! split searched on (validation accuracy) and the split reported (test accuracy) are always
//! named apart.
#![warn(missing_docs)]

mod error;
pub mod generic;
pub mod nb201;
pub mod table;

pub use error::{BenchError, Result};
pub use generic::{TableBenchmark, TableBest, TableSpec};
pub use nb201::{Dataset, Nb201Benchmark, Optimum};
pub use table::Table;
