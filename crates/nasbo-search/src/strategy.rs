//! The interface every search strategy implements.

use std::collections::HashSet;
use std::hash::Hash;

use nasbo_core::SearchSpace;
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
    /// The values of the metrics the search lets strategies see beyond the objective (further
    /// objectives, constrained metrics), in the order the runner was given them; NaN where the
    /// evaluation did not report one. Empty in a plain single-objective search.
    pub metrics: Vec<f64>,
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
            metrics: Vec::new(),
        }
    }

    /// The observation of a trial with the named metrics visible: a name equal to
    /// `objective_name` is the (raw) objective, any other is looked up in `reported`.
    pub fn with_metrics(
        trial: &Trial<A>,
        maximize: bool,
        names: &[String],
        objective_name: &str,
    ) -> Observation<A> {
        let mut obs = Observation::of(trial, maximize);
        obs.metrics = metric_values(trial, names, objective_name);
        obs
    }
}

/// The values of the named metrics of a finished trial (a name equal to `objective_name` is the
/// objective, any other a reported value; NaN where missing); all NaN unless the trial is ok.
pub fn metric_values<A>(trial: &Trial<A>, names: &[String], objective_name: &str) -> Vec<f64> {
    if trial.status != Status::Ok {
        return vec![f64::NAN; names.len()];
    }
    names
        .iter()
        .map(|n| {
            if n == objective_name {
                trial.objective.unwrap_or(f64::NAN)
            } else {
                trial.reported.get(n).copied().unwrap_or(f64::NAN)
            }
        })
        .collect()
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

    /// The finished observation of `history` (its index) that the strategy recommends as the
    /// best evaluated architecture, where it has a better estimate than the best observed value
    /// (a model that averages out evaluation noise); `None` leaves the incumbent to be the best
    /// observed. The runner asks after every trial and records the answer in
    /// [`Trial::recommended`]. It must not change what the strategy proposes next.
    fn recommend(&mut self, _space: &S, _history: &[Observation<S::Arch>]) -> Option<usize> {
        None
    }
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

/// The key under which a strategy remembers what it has seen: the canonical form where the
/// strategy skips isomorphic architectures or the space declares equivalent ones
/// ([`SearchSpace::declares_equivalence`]), the architecture itself otherwise.
pub(crate) fn seen_key<S: SearchSpace>(
    space: &S,
    skip_isomorphic: bool,
) -> impl Fn(&S::Arch) -> S::Arch + Copy + '_ {
    let canonical = skip_isomorphic || space.declares_equivalence();
    move |a: &S::Arch| {
        if canonical {
            space.canonical(a)
        } else {
            a.clone()
        }
    }
}

/// A boxed strategy is a strategy (so wrappers such as [`crate::moo::FeasibleOnly`] can hold
/// any of them).
impl<S: SearchSpace, T: Strategy<S> + ?Sized> Strategy<S> for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn ask(
        &mut self,
        space: &S,
        history: &[Observation<S::Arch>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<S::Arch>> {
        (**self).ask(space, history, rng)
    }

    fn tell(&mut self, space: &S, observation: &Observation<S::Arch>) {
        (**self).tell(space, observation)
    }

    fn recommend(&mut self, space: &S, history: &[Observation<S::Arch>]) -> Option<usize> {
        (**self).recommend(space, history)
    }
}
