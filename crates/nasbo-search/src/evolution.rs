//! Regularized evolution (Real et al., 2019): aging evolution with tournament selection.

use std::collections::HashSet;

use nasbo_core::SearchSpace;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::random::sample_fresh;
use crate::strategy::{seen_key, SeenSet};
use crate::{Observation, Result, Strategy};

/// Settings of regularized evolution; the defaults are the NAS-Bench-201 paper's REA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct EvolutionConfig {
    /// Size of the population: the most recent evaluated architectures.
    pub population: usize,
    /// Tournament size: how many members are drawn (with replacement) to pick a parent.
    pub sample_size: usize,
}

impl EvolutionConfig {
    /// Checks the settings: a population of at least 1, a tournament of 1 to `population`.
    pub fn validate(&self) -> Result<()> {
        if self.population == 0 {
            return Err(crate::SearchError::Config(
                "re.population must be at least 1".into(),
            ));
        }
        if self.sample_size == 0 || self.sample_size > self.population {
            return Err(crate::SearchError::Config(format!(
                "re.sample-size must lie in 1..={} (the population), got {}",
                self.population, self.sample_size
            )));
        }
        Ok(())
    }
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        EvolutionConfig {
            population: 10,
            sample_size: 3,
        }
    }
}

/// Regularized evolution: the population is the `population` most recent successful trials;
/// each step mutates the best of `sample_size` random members. The first `population` trials
/// are random. A child already evaluated is mutated again (never re-queried).
#[derive(Debug, Clone)]
pub struct RegularizedEvolution<A> {
    config: EvolutionConfig,
    seen: SeenSet<A>,
}

impl<A> RegularizedEvolution<A> {
    /// Regularized evolution with the given settings.
    pub fn new(config: EvolutionConfig) -> Self {
        RegularizedEvolution {
            config,
            seen: SeenSet::default(),
        }
    }
}

impl<S: SearchSpace> Strategy<S> for RegularizedEvolution<S::Arch> {
    fn name(&self) -> &str {
        "re"
    }

    fn ask(
        &mut self,
        space: &S,
        history: &[Observation<S::Arch>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<S::Arch>> {
        // Equivalent architectures are one where the space declares them so.
        let key = seen_key(space, false);
        self.seen.update(history, key);
        let population: Vec<(&S::Arch, f64)> = history
            .iter()
            .filter_map(|o| o.value.map(|v| (&o.arch, v)))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .take(self.config.population.max(1))
            .collect();
        if history.len() < self.config.population || population.is_empty() {
            return Ok(sample_fresh(space, &self.seen.set, key, rng));
        }
        let mut parent = population[rng.gen_range(0..population.len())];
        for _ in 1..self.config.sample_size.max(1) {
            let other = population[rng.gen_range(0..population.len())];
            if other.1 > parent.1 {
                parent = other;
            }
        }
        Ok(mutate_fresh(space, parent.0, &self.seen.set, key, rng)
            .or_else(|| sample_fresh(space, &self.seen.set, key, rng)))
    }
}

/// A mutation of `parent` whose `key` is not in `seen`: repeated single mutations (a random
/// walk of growing length) until one is new; `None` after many tries.
pub(crate) fn mutate_fresh<S: SearchSpace>(
    space: &S,
    parent: &S::Arch,
    seen: &HashSet<S::Arch>,
    key: impl Fn(&S::Arch) -> S::Arch,
    rng: &mut ChaCha8Rng,
) -> Option<S::Arch> {
    let mut current = parent.clone();
    for _ in 0..200 {
        let child = space.mutate(&current, rng);
        if !seen.contains(&key(&child)) {
            return Some(child);
        }
        // Every one-step child is known: walk on from one of them.
        if rng.gen_bool(0.3) {
            current = child;
        }
    }
    None
}
