//! Random search without replacement.

use std::collections::HashSet;

use nasbo_core::SearchSpace;
use rand_chacha::ChaCha8Rng;

use crate::strategy::{seen_key, SeenSet};
use crate::{Observation, Result, Strategy};

/// Uniform random search that never proposes an architecture twice.
#[derive(Debug, Clone)]
pub struct RandomSearch<A = nasbo_core::nb201::Cell> {
    /// Also skip architectures equivalent (same canonical form) to one already seen.
    pub skip_isomorphic: bool,
    seen: SeenSet<A>,
}

impl<A> Default for RandomSearch<A> {
    fn default() -> Self {
        RandomSearch::new(false)
    }
}

impl<A> RandomSearch<A> {
    /// Random search; `skip_isomorphic` also avoids architectures equivalent to one seen.
    pub fn new(skip_isomorphic: bool) -> Self {
        RandomSearch {
            skip_isomorphic,
            seen: SeenSet::default(),
        }
    }
}

/// Draws from the space until it finds an architecture not in `seen`; falls back to scanning
/// neighbourhoods when rejection sampling keeps failing, and returns `None` when the space is
/// exhausted.
pub(crate) fn sample_fresh<S: SearchSpace>(
    space: &S,
    seen: &HashSet<S::Arch>,
    key: impl Fn(&S::Arch) -> S::Arch,
    rng: &mut ChaCha8Rng,
) -> Option<S::Arch> {
    if let Some(card) = space.cardinality() {
        if seen.len() as u128 >= card {
            return None;
        }
    }
    for _ in 0..10_000 {
        let arch = space.sample(rng);
        if !seen.contains(&key(&arch)) {
            return Some(arch);
        }
    }
    // Nearly exhausted: walk outwards from a sample until something is unseen.
    let mut frontier = vec![space.sample(rng)];
    let mut visited = HashSet::new();
    while let Some(arch) = frontier.pop() {
        if !seen.contains(&key(&arch)) {
            return Some(arch);
        }
        if visited.insert(arch.clone()) {
            frontier.extend(space.neighbours(&arch));
        }
    }
    None
}

impl<S: SearchSpace> Strategy<S> for RandomSearch<S::Arch> {
    fn name(&self) -> &str {
        "random"
    }

    fn ask(
        &mut self,
        space: &S,
        history: &[Observation<S::Arch>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<S::Arch>> {
        let key = seen_key(space, self.skip_isomorphic);
        self.seen.update(history, key);
        Ok(sample_fresh(space, &self.seen.set, key, rng))
    }
}
