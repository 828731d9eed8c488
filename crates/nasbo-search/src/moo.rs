//! Searches with several objectives or with constraints on measured metrics.
//!
//! An [`ObjectiveSet`] names the objectives (each maximised or minimised) and the constraints.
//! The runner shows their metrics to the strategies ([`ObjectiveSet::metric_names`], in
//! [`Observation::metrics`]) and an [`MoAnnotator`] records in each trial whether it is feasible
//! and the hypervolume of the feasible Pareto front so far. The strategies:
//! - [`ParEgo`]: Bayesian optimisation of a random augmented-Chebyshev scalarisation of the
//!   normalised objectives, a new weight vector at every proposal (Knowles, 2006);
//! - [`MoEvolution`]: regularized evolution whose tournaments rank by Pareto front, then by
//!   crowding distance (as NSGA-II), feasible before infeasible;
//! - random search needs nothing: it never reads the values.

use std::collections::BTreeMap;
use std::fmt;

use nasbo_core::SearchSpace;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::pareto::{
    augmented_chebyshev, crowding_distance, hypervolume, non_dominated_sort, sample_simplex,
    Constraint, Objective,
};
use crate::random::sample_fresh;
use crate::runner::Annotator;
use crate::strategy::{metric_values, SeenSet};
use crate::{BayesOpt, Observation, Result, Status, Strategy, Study, Trial};

/// The objectives and constraints of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveSet {
    /// The objectives, the first being the one a single-objective strategy optimises.
    pub objectives: Vec<Objective>,
    /// The constraints a returned architecture must meet.
    pub constraints: Vec<Constraint>,
}

impl ObjectiveSet {
    /// The constraints as text, `a<=1, b>=2`.
    pub fn constraints_text(&self) -> String {
        self.constraints
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether there is more than one objective.
    pub fn is_multi(&self) -> bool {
        self.objectives.len() > 1
    }

    /// The metrics strategies need to see: the objectives, then the constrained metrics, each
    /// once. [`ObjectiveSet::oriented`] and [`ObjectiveSet::violation`] read
    /// [`Observation::metrics`] in this order.
    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for name in self
            .objectives
            .iter()
            .map(|o| &o.name)
            .chain(self.constraints.iter().map(|c| &c.metric))
        {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// Position of `name` in [`ObjectiveSet::metric_names`], without building the list (this
    /// runs for every metric of every observation the strategies read).
    fn index(&self, name: &str) -> usize {
        let names = || {
            self.objectives
                .iter()
                .map(|o| o.name.as_str())
                .chain(self.constraints.iter().map(|c| c.metric.as_str()))
        };
        let mut position = 0;
        for (k, n) in names().enumerate() {
            if n == name {
                return position;
            }
            if !names().take(k).any(|earlier| earlier == n) {
                position += 1;
            }
        }
        panic!("`{name}` is neither an objective nor a constrained metric")
    }

    /// The objective vector of an observation in the minimisation convention (maximised
    /// objectives negated); `None` unless every objective is a finite number.
    pub fn oriented(&self, metrics: &[f64]) -> Option<Vec<f64>> {
        if metrics.is_empty() {
            return None;
        }
        self.objectives
            .iter()
            .map(|o| {
                let v = *metrics.get(self.index(&o.name))?;
                v.is_finite().then_some(if o.maximize { -v } else { v })
            })
            .collect()
    }

    /// The total violation of the constraints (0 when all hold; infinite where a constrained
    /// metric is missing).
    pub fn violation(&self, metrics: &[f64]) -> f64 {
        self.constraints
            .iter()
            .map(|c| match metrics.get(self.index(&c.metric)) {
                Some(v) if v.is_finite() => c.violation(*v),
                _ => f64::INFINITY,
            })
            .sum()
    }

    /// The metric values of a trial, in [`ObjectiveSet::metric_names`] order: a name equal to
    /// `objective_name` is the trial's objective, any other a reported value.
    pub fn metrics_of<A>(&self, trial: &Trial<A>, objective_name: &str) -> Vec<f64> {
        metric_values(trial, &self.metric_names(), objective_name)
    }

    /// The finished observations with every objective: each architecture, its objective vector
    /// (minimisation convention) and its total constraint violation.
    pub fn evaluated<'a, A>(&self, history: &'a [Observation<A>]) -> Vec<(&'a A, Vec<f64>, f64)> {
        history
            .iter()
            .filter(|o| o.value.is_some())
            .filter_map(|o| {
                Some((
                    &o.arch,
                    self.oriented(&o.metrics)?,
                    self.violation(&o.metrics),
                ))
            })
            .collect()
    }

    /// The feasible, finished trials' objective vectors (minimisation convention).
    pub fn feasible_points<'a, A: 'a>(
        &self,
        trials: impl IntoIterator<Item = &'a Trial<A>>,
        objective_name: &str,
    ) -> Vec<Vec<f64>> {
        trials
            .into_iter()
            .filter(|t| t.status == Status::Ok && t.feasible != Some(false))
            .filter_map(|t| self.oriented(&self.metrics_of(t, objective_name)))
            .collect()
    }
}

/// Completes each trial of a search with an [`ObjectiveSet`]: metrics known without training
/// (a cost model's FLOPs) go into `reported`, then `feasible` (when there are constraints) and
/// the hypervolume so far (when there are several objectives).
pub struct MoAnnotator<A> {
    set: ObjectiveSet,
    objective_name: String,
    reference: Option<Vec<f64>>,
    known: Option<KnownMetrics<A>>,
}

/// Metrics computed from the architecture alone.
pub type KnownMetrics<A> = Box<dyn Fn(&A) -> BTreeMap<String, f64> + Send + Sync>;

impl<A> fmt::Debug for MoAnnotator<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MoAnnotator")
            .field("set", &self.set)
            .field("reference", &self.reference)
            .finish()
    }
}

impl<A> MoAnnotator<A> {
    /// An annotator for `set`; `objective_name` is the evaluator's name of its objective;
    /// `reference` the hypervolume's reference point in the minimisation convention (one
    /// coordinate per objective).
    pub fn new(set: ObjectiveSet, objective_name: &str, reference: Option<Vec<f64>>) -> Self {
        MoAnnotator {
            set,
            objective_name: objective_name.to_string(),
            reference,
            known: None,
        }
    }

    /// Adds metrics computed from the architecture alone to every trial's `reported`.
    pub fn with_known(mut self, known: KnownMetrics<A>) -> Self {
        self.known = Some(known);
        self
    }
}

impl<A: Clone> Annotator<A> for MoAnnotator<A> {
    fn annotate(&mut self, trial: &mut Trial<A>, study: &Study<A>) {
        if let Some(known) = &self.known {
            if trial.status == Status::Ok {
                trial.reported.extend(known(&trial.arch));
            }
        }
        let metrics = self.set.metrics_of(trial, &self.objective_name);
        if !self.set.constraints.is_empty() && trial.status == Status::Ok {
            trial.feasible = Some(self.set.violation(&metrics) == 0.0);
        }
        if let (true, Some(reference)) = (self.set.is_multi(), &self.reference) {
            let points = self.set.feasible_points(
                study.trials().iter().chain(std::iter::once(&*trial)),
                &self.objective_name,
            );
            trial.hypervolume = Some(hypervolume(&points, reference));
        }
    }
}

/// ParEGO: BO of a fresh random scalarisation of the objectives at every proposal.
#[derive(Debug)]
pub struct ParEgo<S: SearchSpace> {
    set: ObjectiveSet,
    rho: f64,
    inner: BayesOpt<S>,
}

impl<S: SearchSpace> ParEgo<S> {
    /// ParEGO over `set` with the given BO (whose target transform should be the identity:
    /// the scalarised values lie in [0, 1 + rho·d]; its unset settings take
    /// [`BoConfig::with_several_metrics_defaults`](crate::BoConfig::with_several_metrics_defaults)).
    pub fn new(set: ObjectiveSet, inner: BayesOpt<S>) -> Self {
        ParEgo {
            set,
            rho: 0.05,
            inner: inner.for_several_metrics(),
        }
    }

    /// The observations as the inner BO sees them: each value replaced by the negated
    /// scalarisation of its normalised objective vector under `weights`.
    pub fn scalarised(
        &self,
        history: &[Observation<S::Arch>],
        weights: &[f64],
    ) -> Vec<Observation<S::Arch>> {
        let vectors: Vec<Option<Vec<f64>>> = history
            .iter()
            .map(|o| o.value.and_then(|_| self.set.oriented(&o.metrics)))
            .collect();
        let d = self.set.objectives.len();
        let mut lo = vec![f64::INFINITY; d];
        let mut hi = vec![f64::NEG_INFINITY; d];
        for v in vectors.iter().flatten() {
            for i in 0..d {
                lo[i] = lo[i].min(v[i]);
                hi[i] = hi[i].max(v[i]);
            }
        }
        history
            .iter()
            .zip(vectors)
            .map(|(o, v)| Observation {
                arch: o.arch.clone(),
                value: v.map(|v| {
                    let normalised: Vec<f64> = (0..d)
                        .map(|i| {
                            let span = hi[i] - lo[i];
                            if span > 0.0 {
                                (v[i] - lo[i]) / span
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    -augmented_chebyshev(&normalised, weights, self.rho)
                }),
                pending: o.pending,
                metrics: o.metrics.clone(),
            })
            .collect()
    }
}

impl<S: SearchSpace> Strategy<S> for ParEgo<S> {
    fn name(&self) -> &str {
        "parego"
    }

    fn ask(
        &mut self,
        space: &S,
        history: &[Observation<S::Arch>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<S::Arch>> {
        let weights = sample_simplex(rng, self.set.objectives.len());
        let scalarised = self.scalarised(history, &weights);
        self.inner.ask(space, &scalarised, rng)
    }
}

/// Hides the value of every infeasible observation from a single-objective strategy, which
/// then treats it like a failed trial: it never becomes a parent, a local-search move or a
/// reward.
#[derive(Debug)]
pub struct FeasibleOnly<St> {
    set: ObjectiveSet,
    inner: St,
}

impl<St> FeasibleOnly<St> {
    /// `inner` seeing only the feasible observations' values under `set`'s constraints.
    pub fn new(set: ObjectiveSet, inner: St) -> Self {
        FeasibleOnly { set, inner }
    }

    fn filter<A: Clone>(&self, o: &Observation<A>) -> Observation<A> {
        let mut o = o.clone();
        if o.value.is_some() && self.set.violation(&o.metrics) > 0.0 {
            o.value = None;
        }
        o
    }
}

impl<S: SearchSpace, St: Strategy<S>> Strategy<S> for FeasibleOnly<St> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn ask(
        &mut self,
        space: &S,
        history: &[Observation<S::Arch>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<S::Arch>> {
        let filtered: Vec<Observation<S::Arch>> = history.iter().map(|o| self.filter(o)).collect();
        self.inner.ask(space, &filtered, rng)
    }

    fn tell(&mut self, space: &S, observation: &Observation<S::Arch>) {
        let o = self.filter(observation);
        self.inner.tell(space, &o);
    }

    fn recommend(&mut self, space: &S, history: &[Observation<S::Arch>]) -> Option<usize> {
        let filtered: Vec<Observation<S::Arch>> = history.iter().map(|o| self.filter(o)).collect();
        self.inner.recommend(space, &filtered)
    }
}

/// Expected hypervolume improvement: one GP per objective (on the same encodings as BO), the
/// candidate pool of random unseen architectures plus every unseen neighbour of the current
/// feasible Pareto front, and the candidate of largest EHVI (exact for two objectives, Monte
/// Carlo from seeded normal draws for three), weighted by the probability of feasibility where
/// there are measured constraints.
#[derive(Debug)]
pub struct Ehvi<S: SearchSpace> {
    set: ObjectiveSet,
    reference: Vec<f64>,
    models: Vec<BayesOpt<S>>,
    seen: SeenSet<S::Arch>,
    draws: usize,
}

impl<S: SearchSpace> Ehvi<S> {
    /// EHVI over `set` with hypervolume reference point `reference` (minimisation convention),
    /// one BO model per objective (built alike, with the identity target transform; the first
    /// carries the measured constraints; unset settings take
    /// [`BoConfig::with_several_metrics_defaults`](crate::BoConfig::with_several_metrics_defaults)).
    pub fn new(set: ObjectiveSet, reference: Vec<f64>, models: Vec<BayesOpt<S>>) -> Result<Self> {
        if models.len() != set.objectives.len() || reference.len() != set.objectives.len() {
            return Err(crate::SearchError::Config(format!(
                "EHVI needs one model and one reference coordinate per objective: {} objectives, \
                 {} models, reference {:?}",
                set.objectives.len(),
                models.len(),
                reference
            )));
        }
        Ok(Ehvi {
            set,
            reference,
            models: models
                .into_iter()
                .map(BayesOpt::for_several_metrics)
                .collect(),
            seen: SeenSet::default(),
            draws: 256,
        })
    }

    /// The history as model `i` sees it: the value is objective `i`, maximised.
    fn objective_history(
        &self,
        history: &[Observation<S::Arch>],
        i: usize,
    ) -> Vec<Observation<S::Arch>> {
        history
            .iter()
            .map(|o| Observation {
                arch: o.arch.clone(),
                value: o
                    .value
                    .and_then(|_| self.set.oriented(&o.metrics))
                    .map(|v| -v[i]),
                pending: o.pending,
                metrics: o.metrics.clone(),
            })
            .collect()
    }
}

impl<S: SearchSpace> Strategy<S> for Ehvi<S> {
    fn name(&self) -> &str {
        "ehvi"
    }

    fn ask(
        &mut self,
        space: &S,
        history: &[Observation<S::Arch>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<S::Arch>> {
        self.seen.update(history, Clone::clone);
        let finished = self.set.evaluated(history);
        let initial = self.models[0].config().initial.max(2);
        if finished.len() < initial {
            return Ok(sample_fresh(space, &self.seen.set, Clone::clone, rng));
        }
        let seed: u64 = rand::Rng::gen(rng);
        let mut surrogates = Vec::with_capacity(self.models.len());
        for i in 0..self.models.len() {
            let h = self.objective_history(history, i);
            match self.models[i].fit(&h, seed ^ i as u64)? {
                Some(s) => surrogates.push(s),
                None => return Ok(sample_fresh(space, &self.seen.set, Clone::clone, rng)),
            }
        }
        // The feasible front, and the candidates: its unseen neighbours plus random samples.
        let feasible: Vec<&(&S::Arch, Vec<f64>, f64)> =
            finished.iter().filter(|f| f.2 == 0.0).collect();
        let points: Vec<&[f64]> = feasible.iter().map(|f| f.1.as_slice()).collect();
        let front_idx = crate::pareto::pareto_front(&points);
        let front: Vec<Vec<f64>> = front_idx.iter().map(|&k| feasible[k].1.clone()).collect();
        let near: Vec<S::Arch> = front_idx
            .iter()
            .flat_map(|&k| space.neighbours(feasible[k].0))
            .collect();
        // At most 20 draws per candidate the pool may hold.
        let mut pool = crate::bo::candidate_pool(
            near,
            || space.sample(rng),
            Clone::clone,
            &self.seen.set,
            self.models[0].config().pool,
            |target| 20 * target,
        );
        if pool.is_empty() {
            return Ok(sample_fresh(space, &self.seen.set, Clone::clone, rng));
        }
        // Predictions in the minimisation convention: model i predicts −objective_i.
        let d = self.models.len();
        let mut means = vec![vec![0.0; d]; pool.len()];
        let mut stds = vec![vec![0.0; d]; pool.len()];
        for (i, s) in surrogates.iter().enumerate() {
            let x = self.models[i].features()[s.encoding].matrix(pool.iter());
            let (m, v) = s.gp.predict_mean_variance(x.view());
            for j in 0..pool.len() {
                means[j][i] = -m[j];
                stds[j][i] = v[j].max(0.0).sqrt();
            }
        }
        let mut log_feasible = vec![0.0; pool.len()];
        if !surrogates[0].constraints.is_empty() {
            let x = self.models[0].features()[surrogates[0].encoding].matrix(pool.iter());
            log_feasible =
                crate::bo::log_feasibility(&surrogates[0].constraints, x.view()).to_vec();
        }
        let draws = crate::pareto::standard_normal_draws(rng, self.draws, d);
        let score = |j: usize| -> f64 {
            let ehvi = if d == 2 {
                crate::pareto::expected_hypervolume_improvement_2d(
                    &front,
                    [self.reference[0], self.reference[1]],
                    [means[j][0], means[j][1]],
                    [stds[j][0], stds[j][1]],
                )
            } else {
                crate::pareto::expected_hypervolume_improvement_mc(
                    &front,
                    &self.reference,
                    &means[j],
                    &stds[j],
                    &draws,
                )
                .mean
            };
            // Compared on the log scale; a zero EHVI falls back on the predicted distance to
            // the reference box so that the choice is never arbitrary.
            if ehvi > 0.0 {
                ehvi.ln() + log_feasible[j]
            } else {
                -1e6 - means[j]
                    .iter()
                    .zip(&self.reference)
                    .map(|(m, r)| (m - r).max(0.0))
                    .sum::<f64>()
                    + log_feasible[j]
            }
        };
        let best = (0..pool.len())
            .map(|j| (j, score(j)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(j, _)| j)
            .expect("the pool is not empty");
        Ok(Some(pool.swap_remove(best)))
    }
}

/// Settings of [`MoEvolution`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct MoEvolutionConfig {
    /// Population size (the newest members; the oldest dies when a child is born).
    pub population: usize,
    /// Members drawn for each tournament.
    pub sample: usize,
}

impl Default for MoEvolutionConfig {
    fn default() -> Self {
        MoEvolutionConfig {
            population: 20,
            sample: 4,
        }
    }
}

/// Multi-objective regularized evolution: the population is the newest `population`
/// evaluated architectures; a tournament of `sample` members picks the one of best Pareto rank
/// within the population (feasible before infeasible, less violation first), ties broken by
/// larger crowding distance; its mutation is the child.
#[derive(Debug)]
pub struct MoEvolution<A> {
    set: ObjectiveSet,
    config: MoEvolutionConfig,
    seen: SeenSet<A>,
}

impl<A> MoEvolution<A> {
    /// Multi-objective evolution over `set`.
    pub fn new(set: ObjectiveSet, config: MoEvolutionConfig) -> Self {
        MoEvolution {
            set,
            config,
            seen: SeenSet::default(),
        }
    }
}

/// Rank keys of a population: (infeasible?, violation, front, −crowding); smaller is better.
fn rank_keys(members: &[(Vec<f64>, f64)]) -> Vec<(bool, f64, usize, f64)> {
    let mut keys = vec![(true, f64::INFINITY, usize::MAX, 0.0); members.len()];
    let feasible: Vec<usize> = (0..members.len())
        .filter(|&i| members[i].1 == 0.0)
        .collect();
    let points: Vec<Vec<f64>> = feasible.iter().map(|&i| members[i].0.clone()).collect();
    for (rank, front) in non_dominated_sort(&points).into_iter().enumerate() {
        let crowding = crowding_distance(&points, &front);
        for (k, &j) in front.iter().enumerate() {
            keys[feasible[j]] = (false, 0.0, rank, -crowding[k]);
        }
    }
    for (i, m) in members.iter().enumerate() {
        if m.1 > 0.0 {
            keys[i] = (true, m.1, usize::MAX, 0.0);
        }
    }
    keys
}

impl<S: SearchSpace> Strategy<S> for MoEvolution<S::Arch> {
    fn name(&self) -> &str {
        "mo-re"
    }

    fn ask(
        &mut self,
        space: &S,
        history: &[Observation<S::Arch>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<S::Arch>> {
        self.seen.update(history, Clone::clone);
        let evaluated = self.set.evaluated(history);
        if evaluated.len() < self.config.population {
            return Ok(sample_fresh(space, &self.seen.set, Clone::clone, rng));
        }
        let population = &evaluated[evaluated.len() - self.config.population..];
        let members: Vec<(Vec<f64>, f64)> = population.iter().map(|m| (m.1.clone(), m.2)).collect();
        let keys = rank_keys(&members);
        let mut drawn: Vec<usize> = (0..population.len()).collect();
        drawn.shuffle(rng);
        drawn.truncate(self.config.sample.max(1));
        let parent = drawn
            .into_iter()
            .min_by(|&a, &b| {
                let (ka, kb) = (keys[a], keys[b]);
                ka.0.cmp(&kb.0)
                    .then(ka.1.total_cmp(&kb.1))
                    .then(ka.2.cmp(&kb.2))
                    .then(ka.3.total_cmp(&kb.3))
            })
            .expect("the tournament has members");
        for _ in 0..100 {
            let child = space.mutate(population[parent].0, rng);
            if !self.seen.set.contains(&child) {
                return Ok(Some(child));
            }
        }
        Ok(sample_fresh(space, &self.seen.set, Clone::clone, rng))
    }
}

#[cfg(test)]
mod tests {
    use nasbo_core::nb201::{Cell, Nb201Space};

    use super::*;
    use crate::{BoConfig, Budget, Runner};

    fn set(constraints: &[&str]) -> ObjectiveSet {
        ObjectiveSet {
            objectives: vec!["acc:max".parse().unwrap(), "lat:min".parse().unwrap()],
            constraints: constraints.iter().map(|c| c.parse().unwrap()).collect(),
        }
    }

    /// A synthetic two-objective evaluator over NB201: accuracy grows with the number of 3×3
    /// convolutions, latency with the number of convolutions of either size.
    struct Toy;

    impl nasbo_core::Evaluator<Cell> for Toy {
        fn evaluate(&mut self, arch: &Cell, _seed: u64) -> nasbo_core::Evaluation {
            let choices = Nb201Space.to_choices(arch).unwrap();
            let conv3 = choices.iter().filter(|&&c| c == 3).count() as f64;
            let conv1 = choices.iter().filter(|&&c| c == 2).count() as f64;
            nasbo_core::Evaluation::Ok {
                objective: 80.0 + 2.0 * conv3 + conv1,
                reported: BTreeMap::from([
                    ("lat".to_string(), 1.0 + conv3 * 2.0 + conv1),
                    ("test_acc".to_string(), 0.0),
                ]),
                cost_s: 1.0,
            }
        }

        fn objective_name(&self) -> &str {
            "acc"
        }
    }

    fn run(strategy: &mut dyn Strategy<Nb201Space>, set: &ObjectiveSet) -> Study<Cell> {
        Runner::new(&Nb201Space, Budget::Queries(40), 1, true)
            .unwrap()
            .show_metrics(set.metric_names())
            .annotate_with(MoAnnotator::new(
                set.clone(),
                "acc",
                Some(vec![-80.0, 14.0]),
            ))
            .run(strategy, &mut Toy)
            .unwrap()
    }

    #[test]
    fn metrics_orientation_and_violation_follow_the_set() {
        let s = set(&["lat<=5"]);
        assert_eq!(s.metric_names(), vec!["acc", "lat"]);
        assert_eq!(s.oriented(&[91.0, 3.0]), Some(vec![-91.0, 3.0]));
        assert_eq!(s.oriented(&[91.0, f64::NAN]), None);
        assert_eq!(s.violation(&[91.0, 3.0]), 0.0);
        assert!((s.violation(&[91.0, 7.5]) - 2.5).abs() < 1e-12);
        assert_eq!(s.violation(&[91.0]), f64::INFINITY);
    }

    #[test]
    fn the_annotator_records_feasibility_and_a_growing_hypervolume() {
        let s = set(&["lat<=9"]);
        let mut strategy = crate::RandomSearch::<Cell>::default();
        let study = run(&mut strategy, &s);
        let mut last = 0.0;
        for t in study.trials() {
            let lat = t.reported["lat"];
            assert_eq!(t.feasible, Some(lat <= 9.0));
            let hv = t.hypervolume.unwrap();
            assert!(hv >= last - 1e-12, "the hypervolume never shrinks");
            last = hv;
        }
        // Recompute the final hypervolume from the feasible trials by hand.
        let points = s.feasible_points(study.trials(), "acc");
        assert!((hypervolume(&points, &[-80.0, 14.0]) - last).abs() < 1e-9);
        assert!(last > 0.0);
        // The incumbent is feasible.
        assert!(study.best().unwrap().reported["lat"] <= 9.0);
    }

    #[test]
    fn parego_scalarises_into_the_unit_range_and_keeps_pending_trials() {
        let s = set(&[]);
        let bo = BayesOpt::<Nb201Space>::new(
            BoConfig::default(),
            vec![crate::bo::Features::one_hot(&Nb201Space).unwrap()],
        )
        .unwrap();
        let parego = ParEgo::new(s.clone(), bo);
        let cells: Vec<Cell> = (0..4).map(|i| Cell::from_code(i * 97).unwrap()).collect();
        let history = vec![
            Observation {
                arch: cells[0],
                value: Some(90.0),
                pending: false,
                metrics: vec![90.0, 5.0],
            },
            Observation {
                arch: cells[1],
                value: Some(85.0),
                pending: false,
                metrics: vec![85.0, 2.0],
            },
            Observation {
                arch: cells[2],
                value: Some(80.0),
                pending: false,
                metrics: vec![80.0, 9.0],
            },
            Observation {
                arch: cells[3],
                value: None,
                pending: true,
                metrics: vec![],
            },
        ];
        let out = parego.scalarised(&history, &[0.5, 0.5]);
        // The dominated point (80, 9) is the worst of the three under any weights.
        let v: Vec<f64> = out.iter().filter_map(|o| o.value).collect();
        assert_eq!(v.len(), 3);
        assert!(v[2] < v[0] && v[2] < v[1]);
        assert!(v.iter().all(|&x| (-1.1..=0.0).contains(&x)));
        assert!(out[3].pending && out[3].value.is_none());
        // Under weight on latency only, the fastest cell wins.
        let lat_only = parego.scalarised(&history, &[0.0, 1.0]);
        assert!(lat_only[1].value > lat_only[0].value);
    }

    #[test]
    fn multi_objective_strategies_run_and_stay_below_the_true_front() {
        let s = set(&[]);
        let hv = |strategy: &mut dyn Strategy<Nb201Space>| {
            run(strategy, &s)
                .trials()
                .last()
                .unwrap()
                .hypervolume
                .unwrap()
        };
        let mut evolution = MoEvolution::<Cell>::new(s.clone(), MoEvolutionConfig::default());
        let config = BoConfig {
            transform: crate::bo::TargetTransform::Identity,
            ..BoConfig::default()
        };
        let features = vec![crate::bo::Features::one_hot(&Nb201Space).unwrap()];
        let bo = BayesOpt::<Nb201Space>::new(config, features).unwrap();
        let mut parego = ParEgo::new(s.clone(), bo);
        // Every toy cell has acc − lat = 79 with t = 2·(3×3 convs) + (1×1 convs) in 0..=12, so
        // all lie on one front: (80 + t, 1 + t). With reference (80, 14) the union of the
        // boxes of t = 0..12 has area Σ_{j=1..12} (13 − j) = 78.
        for (name, value) in [("mo-re", hv(&mut evolution)), ("parego", hv(&mut parego))] {
            assert!(value > 0.0 && value <= 78.0 + 1e-9, "{name}: {value}");
        }
    }
}
