//! Asynchronous successive halving (ASHA, Li et al. 2020) over a [`Ladder`] of fidelities,
//! with new architectures drawn at random (the Hyperband/ASHA baseline) or proposed by BO
//! fitted to the bottom rung (BOHB's idea with a GP in place of its density estimator).
//!
//! At every ask, the highest rung that can promote does: an architecture may go up from rung
//! `k` once it ranks among the best `⌊n_k / η⌋` of the `n_k` finished evaluations at rung `k`
//! and has not gone up already. When no rung can promote, a new architecture starts at the
//! bottom rung. The recommendation (the incumbent) is the best evaluation at the highest rung
//! that has one: a cheap signal never outranks a full one.

use std::collections::HashSet;
use std::hash::Hash;

use nasbo_core::fidelity::{Ladder, Rung};
use nasbo_core::SearchSpace;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{BayesOpt, Observation, RandomSearch, Result, Strategy};

/// Settings of successive halving (a config's `[asha]` table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct AshaConfig {
    /// The reduction factor η: the best `1/η` of each rung go up. Unset: the ratio of the
    /// top level to the one below it, rounded (16 for 12 → 200 epochs), so that each rung
    /// gets about the same share of the budget, as in Hyperband.
    pub eta: Option<usize>,
}

impl AshaConfig {
    /// η for a ladder with these levels.
    pub fn eta_for(&self, levels: &[u32]) -> usize {
        self.eta
            .unwrap_or_else(|| match levels {
                [.., below, top] => (f64::from(*top) / f64::from(*below)).round() as usize,
                _ => 3,
            })
            .max(2)
    }
}

/// How ASHA draws a new architecture for the bottom rung.
#[derive(Debug)]
pub enum Sampler<S: SearchSpace> {
    /// Uniformly at random, never repeating one.
    Random(RandomSearch<S::Arch>),
    /// BO's proposal from the bottom rung's evaluations (pending ones included).
    Bo(Box<BayesOpt<S>>),
}

/// Asynchronous successive halving over a ladder of fidelities.
#[derive(Debug)]
pub struct Asha<S: SearchSpace> {
    eta: usize,
    sampler: Sampler<S>,
    name: String,
}

impl<S: SearchSpace> Asha<S> {
    /// ASHA with reduction factor `eta` (at least 2): the top `1/eta` of each rung go up.
    pub fn new(eta: usize, sampler: Sampler<S>) -> Asha<S> {
        let name = match sampler {
            Sampler::Random(_) => "asha",
            Sampler::Bo(_) => "asha-bo",
        };
        Asha {
            eta: eta.max(2),
            sampler,
            name: name.into(),
        }
    }

    /// The reduction factor.
    pub fn eta(&self) -> usize {
        self.eta
    }
}

/// The architecture to promote, if any rung can: the best not yet promoted among the top
/// `⌊n_k / eta⌋` finished evaluations of the highest such rung `k`.
pub fn promotion<A: Clone + Eq + Hash>(
    history: &[Observation<Rung<A>>],
    top: usize,
    eta: usize,
) -> Option<Rung<A>> {
    let started: HashSet<(&A, usize)> = history
        .iter()
        .map(|o| (&o.arch.arch, o.arch.rung))
        .collect();
    for k in (0..top).rev() {
        let mut done: Vec<(&A, f64)> = history
            .iter()
            .filter(|o| o.arch.rung == k)
            .filter_map(|o| o.value.map(|v| (&o.arch.arch, v)))
            .collect();
        // Best first; the earlier evaluation wins ties (a stable sort).
        done.sort_by(|a, b| b.1.total_cmp(&a.1));
        let allowed = done.len() / eta;
        if let Some((a, _)) = done
            .iter()
            .take(allowed)
            .find(|(a, _)| !started.contains(&(*a, k + 1)))
        {
            return Some(Rung {
                arch: (*a).clone(),
                rung: k + 1,
            });
        }
    }
    None
}

/// The bottom rung of a ladder's history as a history of the inner space.
pub(crate) fn bottom_rung<A: Clone>(history: &[Observation<Rung<A>>]) -> Vec<Observation<A>> {
    history
        .iter()
        .filter(|o| o.arch.rung == 0)
        .map(|o| Observation {
            arch: o.arch.arch.clone(),
            value: o.value,
            pending: o.pending,
            metrics: o.metrics.clone(),
        })
        .collect()
}

/// The index of the best finished evaluation at the highest rung that has one.
pub fn best_at_top<A>(history: &[Observation<Rung<A>>]) -> Option<usize> {
    history
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.value.map(|v| (i, o.arch.rung, v)))
        // Highest rung first, then the best value; the earliest wins ties.
        .fold(None, |best: Option<(usize, usize, f64)>, c| match best {
            Some(b) if (b.1, b.2) >= (c.1, c.2) => Some(b),
            _ => Some(c),
        })
        .map(|b| b.0)
}

impl<S: SearchSpace> Strategy<Ladder<S>> for Asha<S> {
    fn name(&self) -> &str {
        &self.name
    }

    fn ask(
        &mut self,
        space: &Ladder<S>,
        history: &[Observation<Rung<S::Arch>>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<Rung<S::Arch>>> {
        if let Some(up) = promotion(history, space.top(), self.eta) {
            return Ok(Some(up));
        }
        let bottom = bottom_rung(history);
        let inner = space.inner();
        let next = match &mut self.sampler {
            Sampler::Random(r) => r.ask(inner, &bottom, rng)?,
            Sampler::Bo(bo) => bo.ask(inner, &bottom, rng)?,
        };
        Ok(next.map(|arch| Rung { arch, rung: 0 }))
    }

    fn recommend(
        &mut self,
        _space: &Ladder<S>,
        history: &[Observation<Rung<S::Arch>>],
    ) -> Option<usize> {
        best_at_top(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(arch: u32, rung: usize, value: Option<f64>) -> Observation<Rung<u32>> {
        Observation {
            arch: Rung { arch, rung },
            value,
            pending: value.is_none(),
            metrics: Vec::new(),
        }
    }

    #[test]
    fn the_top_third_goes_up_one_at_a_time() {
        let mut h: Vec<_> = (0..5).map(|a| obs(a, 0, Some(f64::from(a)))).collect();
        // 5 finished at rung 0, eta 3: only the best (4) may go up.
        assert_eq!(promotion(&h, 1, 3), Some(Rung { arch: 4, rung: 1 }));
        h.push(obs(4, 1, None));
        assert_eq!(promotion(&h, 1, 3), None);
        // A sixth result lets the second best (3) go up too.
        h.push(obs(5, 0, Some(-1.0)));
        assert_eq!(promotion(&h, 1, 3), Some(Rung { arch: 3, rung: 1 }));
        // With three rungs, the higher rung promotes first once it can: 9 results at rung 0
        // sent 8, 7 and 6 up; of those 3 results at rung 1, the best (7) goes up again.
        let mut h3: Vec<_> = (0..9).map(|a| obs(a, 0, Some(f64::from(a)))).collect();
        h3.extend([
            obs(8, 1, Some(1.0)),
            obs(7, 1, Some(9.0)),
            obs(6, 1, Some(5.0)),
        ]);
        assert_eq!(promotion(&h3, 2, 3), Some(Rung { arch: 7, rung: 2 }));
    }

    #[test]
    fn the_incumbent_is_the_best_at_the_highest_rung() {
        let h = vec![
            obs(0, 0, Some(95.0)),
            obs(1, 1, Some(80.0)),
            obs(2, 1, Some(85.0)),
            obs(3, 1, None),
        ];
        assert_eq!(best_at_top(&h), Some(2));
        assert_eq!(best_at_top(&h[..1]), Some(0));
        assert_eq!(best_at_top::<u32>(&[]), None);
    }
}
