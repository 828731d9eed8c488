//! Local search (White et al., 2021): evaluate the whole neighbourhood, move to its best
//! member, restart from a random architecture at a local optimum.

use std::collections::{HashMap, VecDeque};

use nasbo_core::SearchSpace;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::random::sample_fresh;
use crate::strategy::seen_key;
use crate::{Observation, Result, Strategy};

/// Best-improvement local search with random restarts. Neighbours already evaluated (by an
/// earlier walk) are not evaluated again: their known values are used.
#[derive(Debug, Clone)]
pub struct LocalSearch<A> {
    known: HashMap<A, Option<f64>>,
    processed: usize,
    center: Option<A>,
    queue: VecDeque<A>,
}

impl<A> Default for LocalSearch<A> {
    fn default() -> Self {
        LocalSearch {
            known: HashMap::new(),
            processed: 0,
            center: None,
            queue: VecDeque::new(),
        }
    }
}

impl<S: SearchSpace> Strategy<S> for LocalSearch<S::Arch> {
    fn name(&self) -> &str {
        "ls"
    }

    fn ask(
        &mut self,
        space: &S,
        history: &[Observation<S::Arch>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<S::Arch>> {
        if history.len() < self.processed {
            *self = LocalSearch::default();
        }
        // Equivalent architectures are one where the space declares them so.
        let key = seen_key(space, false);
        for o in &history[self.processed..] {
            self.known.insert(key(&o.arch), o.value);
        }
        self.processed = history.len();
        loop {
            // Evaluate the rest of the current neighbourhood first.
            while let Some(next) = self.queue.pop_front() {
                if !self.known.contains_key(&key(&next)) {
                    return Ok(Some(next));
                }
            }
            match self.center.clone() {
                Some(center) => {
                    let value = |a: &S::Arch| self.known.get(&key(a)).copied().flatten();
                    let here = value(&center).unwrap_or(f64::NEG_INFINITY);
                    let best = space
                        .neighbours(&center)
                        .into_iter()
                        .filter_map(|n| value(&n).map(|v| (n, v)))
                        .max_by(|a, b| a.1.total_cmp(&b.1));
                    match best {
                        Some((n, v)) if v > here => self.move_to(space, n, rng),
                        // A local optimum (or a failed center): restart.
                        _ => self.center = None,
                    }
                }
                None => {
                    let seen: std::collections::HashSet<S::Arch> =
                        self.known.keys().cloned().collect();
                    let Some(start) = sample_fresh(space, &seen, key, rng) else {
                        return Ok(None);
                    };
                    self.move_to(space, start.clone(), rng);
                    return Ok(Some(start));
                }
            }
        }
    }
}

impl<A: Clone + Eq + std::hash::Hash> LocalSearch<A> {
    fn move_to<S: SearchSpace<Arch = A>>(&mut self, space: &S, center: A, rng: &mut ChaCha8Rng) {
        let mut neighbours = space.neighbours(&center);
        neighbours.shuffle(rng);
        self.queue = neighbours.into();
        self.center = Some(center);
    }
}
