//! Search spaces, architecture encodings and cost models for nasbo.
//!
//! An architecture is plain data: small, hashable and serialisable. A [`SearchSpace`] samples,
//! mutates and enumerates neighbours of architectures; an [`Encoder`] turns one into a
//! fixed-length feature vector for a surrogate model; a cost model gives its parameter count and
//! FLOPs without building a network. The [`Evaluator`] trait is the one interface through which
//! anything (a table, a real training run, an external trainer) scores an architecture.
//!
//! ```
//! use nasbo_arch::nb201::{Cell, Nb201Space};
//! use nasbo_arch::SearchSpace;
//!
//! let best: Cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
//!     .parse()
//!     .unwrap();
//! assert_eq!(best.official_index(), 9930);
//! assert_eq!(Nb201Space.neighbours(&best).len(), 24);
//! ```
#![warn(missing_docs)]

pub mod cost;
pub mod declared;
pub mod encoding;
mod error;
pub mod evaluate;
pub mod nasnet;
pub mod nb201;
mod space;

pub use encoding::{Encoder, LabeledDag};
pub use error::{ArchError, Result};
pub use evaluate::{Evaluation, Evaluator};
pub use space::SearchSpace;
