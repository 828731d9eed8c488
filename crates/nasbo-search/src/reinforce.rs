//! REINFORCE (Williams, 1992) with a per-decision categorical policy, as the NAS-Bench-201
//! paper's reinforcement-learning baseline.

use nasbo_core::SearchSpace;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::random::sample_fresh;
use crate::strategy::{seen_key, SeenSet};
use crate::{Observation, Result, SearchError, Strategy};

/// Settings of REINFORCE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReinforceConfig {
    /// Adam's learning rate on the policy's logits.
    pub learning_rate: f64,
    /// Momentum of the moving-average reward baseline.
    pub baseline_decay: f64,
}

impl ReinforceConfig {
    /// Checks the settings: a finite, positive learning rate and a decay in [0, 1).
    pub fn validate(&self) -> Result<()> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(SearchError::Config(format!(
                "reinforce.learning-rate must be a finite number > 0, got {}",
                self.learning_rate
            )));
        }
        if !(0.0..1.0).contains(&self.baseline_decay) {
            return Err(SearchError::Config(format!(
                "reinforce.baseline-decay must lie in [0, 1), got {}",
                self.baseline_decay
            )));
        }
        Ok(())
    }
}

impl Default for ReinforceConfig {
    fn default() -> Self {
        ReinforceConfig {
            learning_rate: 0.05,
            baseline_decay: 0.9,
        }
    }
}

/// A policy of independent categorical distributions, one per decision of the space, trained
/// by policy gradient with a moving-average baseline and Adam. Proposals already evaluated
/// are redrawn (never re-queried).
#[derive(Debug, Clone)]
pub struct Reinforce<A> {
    config: ReinforceConfig,
    logits: Vec<Vec<f64>>,
    adam_m: Vec<Vec<f64>>,
    adam_v: Vec<Vec<f64>>,
    steps: i32,
    baseline: Option<f64>,
    seen: SeenSet<A>,
}

impl<A> Reinforce<A> {
    /// REINFORCE with the given settings.
    pub fn new(config: ReinforceConfig) -> Self {
        Reinforce {
            config,
            logits: Vec::new(),
            adam_m: Vec::new(),
            adam_v: Vec::new(),
            steps: 0,
            baseline: None,
            seen: SeenSet::default(),
        }
    }

    /// The policy's probabilities of each choice of each decision.
    pub fn probabilities(&self) -> Vec<Vec<f64>> {
        self.logits.iter().map(|l| softmax(l)).collect()
    }

    fn init(&mut self, decisions: &[usize]) {
        if self.logits.is_empty() {
            self.logits = decisions.iter().map(|&n| vec![0.0; n]).collect();
            self.adam_m = self.logits.clone();
            self.adam_v = self.logits.clone();
        }
    }
}

fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

fn draw(probs: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let u: f64 = rng.gen();
    let mut acc = 0.0;
    for (i, p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    probs.len() - 1
}

impl<S: SearchSpace> Strategy<S> for Reinforce<S::Arch> {
    fn name(&self) -> &str {
        "reinforce"
    }

    fn ask(
        &mut self,
        space: &S,
        history: &[Observation<S::Arch>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<S::Arch>> {
        let decisions = space.decisions().ok_or_else(|| SearchError::Strategy {
            strategy: "reinforce".into(),
            message: format!(
                "space `{}` is not a product of categorical decisions",
                space.name()
            ),
        })?;
        self.init(&decisions);
        let key = seen_key(space, false);
        self.seen.update(history, key);
        let probs = self.probabilities();
        for _ in 0..1000 {
            let choices: Vec<usize> = probs.iter().map(|p| draw(p, rng)).collect();
            // A space cut down by a filter rejects some choice vectors: draw again.
            let Ok(arch) = space.from_choices(&choices) else {
                continue;
            };
            if !self.seen.set.contains(&key(&arch)) {
                return Ok(Some(arch));
            }
        }
        // The policy has collapsed onto evaluated architectures: explore uniformly.
        Ok(sample_fresh(space, &self.seen.set, key, rng))
    }

    fn tell(&mut self, space: &S, observation: &Observation<S::Arch>) {
        let (Some(reward), Some(choices)) =
            (observation.value, space.to_choices(&observation.arch))
        else {
            return;
        };
        if let Some(decisions) = space.decisions() {
            self.init(&decisions);
        }
        let baseline = *self.baseline.get_or_insert(reward);
        let advantage = reward - baseline;
        self.baseline = Some(
            self.config.baseline_decay * baseline + (1.0 - self.config.baseline_decay) * reward,
        );
        // Gradient ascent on advantage × log π(choices): ∂/∂logit_k = advantage × (1[k = c] − p_k).
        self.steps += 1;
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        let lr = self.config.learning_rate;
        for (d, &c) in choices.iter().enumerate() {
            let probs = softmax(&self.logits[d]);
            for (k, &p) in probs.iter().enumerate() {
                let grad = advantage * (if k == c { 1.0 } else { 0.0 } - p);
                let m = &mut self.adam_m[d][k];
                let v = &mut self.adam_v[d][k];
                *m = b1 * *m + (1.0 - b1) * grad;
                *v = b2 * *v + (1.0 - b2) * grad * grad;
                let m_hat = *m / (1.0 - b1.powi(self.steps));
                let v_hat = *v / (1.0 - b2.powi(self.steps));
                self.logits[d][k] += lr * m_hat / (v_hat.sqrt() + eps);
            }
        }
    }
}
