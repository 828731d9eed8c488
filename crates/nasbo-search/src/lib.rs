//! Studies, search strategies and the runner of nasbo.
//!
//! A [`Strategy`] proposes architectures from the history of observations alone; it never sees
//! the evaluator. A [`Runner`] owns the loop: it asks the strategy, evaluates, records the trial
//! in the [`Study`] (and its journal on disk), and stops at the budget.
#![warn(missing_docs)]

pub mod asha;
pub mod bo;
mod error;
pub mod evolution;
pub mod filtered;
pub mod local;
pub mod mfbo;
pub mod moo;
pub mod pareto;
pub mod plot;
pub mod random;
pub mod reinforce;
pub mod report;
pub mod runner;
pub mod strategy;

pub use asha::{Asha, AshaConfig, Sampler};
pub use bo::{BayesOpt, BoConfig, IncumbentRule, PendingRule};
pub use error::{Result, SearchError};
pub use evolution::{EvolutionConfig, RegularizedEvolution};
pub use filtered::Filtered;
pub use local::LocalSearch;
pub use mfbo::MfBo;
pub use nasbo_core::{journal, study};
pub use nasbo_core::{Journal, Status, Study, Trial};
pub use random::RandomSearch;
pub use reinforce::{Reinforce, ReinforceConfig};
pub use runner::{Annotator, Budget, Observer, Runner};
pub use strategy::{Observation, Strategy};
