//! The contracts of nasbo: search spaces and architectures, encodings, cost models, the
//! evaluator, and the study (trials, their status, the budget, the journal on disk, the specs of
//! objectives and constraints). Every other nasbo crate builds on these; this crate depends on
//! none of them.
//!
//! An architecture is plain data: small, hashable and serialisable. A [`SearchSpace`] samples,
//! mutates and enumerates neighbours of architectures; an [`Encoder`] turns one into a
//! fixed-length feature vector for a surrogate model; a cost model gives its parameter count and
//! FLOPs without building a network. The [`Evaluator`] trait is the one interface through which
//! anything (a table, a real training run, an external trainer) scores an architecture.
//!
//! ```
//! use nasbo_core::nb201::{Cell, Nb201Space};
//! use nasbo_core::SearchSpace;
//!
//! let best: Cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
//!     .parse()
//!     .unwrap();
//! assert_eq!(best.official_index(), 9930);
//! assert_eq!(Nb201Space.neighbours(&best).len(), 24);
//! ```
#![warn(missing_docs)]

mod budget;
pub mod cost;
pub mod declared;
pub mod encoding;
mod error;
pub mod evaluate;
pub mod fidelity;
pub mod journal;
pub mod nasnet;
pub mod nb201;
pub mod objective;
mod space;
pub mod study;

pub use budget::Budget;
pub use encoding::{DagFeatures, Encoder, LabeledDag};
pub use error::{ArchError, ConfigError, JournalError, Result};
pub use evaluate::{Evaluation, Evaluator};
pub use journal::Journal;
pub use objective::{Comparison, Constraint, Objective, SpecError};
pub use space::SearchSpace;
pub use study::{Lease, SimClock, Status, Study, Trial};
