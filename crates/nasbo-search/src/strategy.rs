//! The interface every search strategy implements.

use std::collections::HashSet;
use std::hash::Hash;

use nasbo_arch::SearchSpace;
use rand_chacha::ChaCha8Rng;

use crate::{Result, Status, Trial};

/// What a strategy may know of one trial: the architecture and, once evaluated, how good it
/// was. Reported values (test accuracy) are withheld: a strategy cannot peek at them.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation<A> {
    /// The architecture.
    pub arch: A,
    /// The objective oriented so that larger is better; `None` while pending or after a
    /// failure.
    pub value: Option<f64>,
    /// Whether the trial is still pending (asked, not told).
    pub pending: bool,
}

impl<A: Clone> Observation<A> {
    /// The observation of a trial; minimised objectives are negated.
    pub fn of(trial: &Trial<A>, maximize: bool) -> Observation<A> {
        let value = match trial.status {
            Status::Ok => trial.objective.map(|v| if maximize { v } else { -v }),
            _ => None,
        };
        Observation {
            arch: trial.arch.clone(),
            value,
            pending: trial.status == Status::Pending,
        }
    }
}

/// A search strategy: proposes the next architecture from the observations alone.
///
/// The runner calls [`Strategy::ask`] with every observation so far (pending ones included, so
/// that a batch never repeats itself), evaluates the proposal, and calls [`Strategy::tell`]
/// with its outcome. All randomness comes from the `rng` the runner passes, which is seeded by
/// the run's seed, so a run is reproducible and a resumed run replays exactly.
pub trait Strategy<S: SearchSpace> {
    /// A short name (`random`, `bo`, `re`).
    fn name(&self) -> &str;

    /// The next architecture to evaluate, or `None` when the strategy has nothing left to
    /// propose (the space is exhausted). Must not return an architecture already in `history`.
    fn ask(
        &mut self,
        space: &S,
        history: &[Observation<S::Arch>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<S::Arch>>;

    /// Learns the outcome of the latest proposal (or of a pending trial told later). Strategies
    /// that only read the history need not implement it.
    fn tell(&mut self, _space: &S, _observation: &Observation<S::Arch>) {}
}

/// The architectures of an only-growing history, folded in incrementally: each call to
/// [`SeenSet::update`] only reads the observations added since the last one.
#[derive(Debug, Clone)]
pub(crate) struct SeenSet<A> {
    pub(crate) set: HashSet<A>,
    processed: usize,
}

impl<A> Default for SeenSet<A> {
    fn default() -> Self {
        SeenSet {
            set: HashSet::new(),
            processed: 0,
        }
    }
}

impl<A: Clone + Eq + Hash> SeenSet<A> {
    /// Adds the new part of `history`, each architecture mapped through `key` (the identity, or
    /// the canonical form); starts over if the history is shorter than last time.
    pub(crate) fn update(&mut self, history: &[Observation<A>], key: impl Fn(&A) -> A) {
        if history.len() < self.processed {
            self.set.clear();
            self.processed = 0;
        }
        for o in &history[self.processed..] {
            self.set.insert(key(&o.arch));
        }
        self.processed = history.len();
    }
}
