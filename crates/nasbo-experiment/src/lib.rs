//! nasbo's experiment layer: what the `nasbo` binary does, as a library.
//!
//! - [`spec::StudySpec`]: everything that defines a study, the same for every command, read
//!   from a TOML config and the command line (flags win), recorded in the study's journal.
//! - [`space`] and [`registry`]: the spec's space, strategy and evaluator.
//! - [`tables`]: complete tables (NAS-Bench-201, a declared space's) described once: the
//!   columns searched on and reported, the optimum, the front.
//! - [`search::search`]: one search into a journal, continued exactly after a crash;
//!   [`bench::bench`]: strategies × seeds on a table with summaries and plots;
//!   [`ask::ask`] / [`ask::tell`]: a study evaluated by someone else's trainer;
//!   [`command`]: any trainer run as a shell command for every trial.
//!
//! The library never reads environment variables or prints: the binary passes the data
//! folder and draws progress from a [`search::Reporter`]. Its errors name settings by their
//! config keys (`budget-seconds`), which the binary's flags share.

pub mod ask;
pub mod bench;
pub mod command;
pub mod front;
pub mod objectives;
#[cfg(feature = "postgres")]
pub mod pg_store;
pub mod registry;
pub mod scoring;
pub mod search;
pub mod space;
pub mod spec;
pub mod store;
pub mod tables;
pub mod worker;

pub use spec::{EvaluatorKind, SpaceKind, StrategyKind, StudySpec, UsageError};

/// The nasbo that runs: its version and the commit it was built from. Every output records it.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("NASBO_COMMIT"), ")");
