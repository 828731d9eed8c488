//! Multi-fidelity BO (`mf-bo`): one GP model over architecture × fidelity, and a cost-aware
//! acquisition that chooses between a new architecture at the cheapest level and taking an
//! evaluated one a level up.
//!
//! **The model** is the autoregressive multi-fidelity GP of Kennedy & O'Hagan (2000) in the
//! recursive form of Le Gratiet & Garnier (2014): the cheapest level is BO's own GP (its
//! encodings, kernel and defaults), and each level above is
//! `f_k(x) = a_k + ρ_k · f_{k−1}(x) + δ_k(x)`, with `a_k, ρ_k` fitted by least squares to the
//! architectures evaluated at level `k` and the gap `δ_k` a GP of its own on the same encoding.
//! Evaluations at the full fidelity correct the cheap model where it is wrong, instead of only
//! choosing the winner. Until a level has [`MIN_GAP_FIT`] results, `ρ_k = 1` and the gap is a
//! constant with a prior variance of [`PRIOR_GAP`] × the variance of the cheapest level's
//! targets.
//!
//! **The acquisition** is the value of information per unit of cost: an evaluation of `x` at
//! level `l` moves the full-fidelity mean of `x` by a normal amount of standard deviation
//! `Π_{j>l} ρ_j · sd(f_l(x))`, and it is worth what that can add to the recommendation, the
//! knowledge gradient of one point `E[max(M, other)] − max(mean, other)` (`other` the best
//! full-fidelity mean among the other evaluated architectures), divided by the level's cost
//! (its number: epochs). New architectures start at the cheapest level, chosen by BO's own
//! proposal on the cheapest level's model (as `asha-bo` does), and are worth the best value of
//! BO's candidate pool; an evaluated architecture may go one level up. Taking the incumbent up
//! is worth the chance that it falls below the runner-up; when the cheap signal ranks well (a
//! high `ρ`, a small gap) the strategy keeps exploring cheaply, and when it does not, it spends
//! on the higher levels.
//!
//! The recommendation (the incumbent, the architecture a search reports and retrains) is the
//! evaluated architecture of highest full-fidelity posterior mean, whatever level it was
//! evaluated at: a cell known only at 12 epochs can be the incumbent, as it is for a search on
//! the 12-epoch signal alone.

use std::collections::HashMap;
use std::hash::Hash;

use linfa::ParamGuard;
use nasbo_core::fidelity::{Ladder, Rung};
use nasbo_core::SearchSpace;
use nasbo_gp::special::log_ei_unit;
use nasbo_gp::{Gp, GpParams};
use ndarray::{Array1, Array2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::asha::{best_at_top, bottom_rung as bottom};
use crate::bo::Features;
use crate::{BayesOpt, Observation, Result, Strategy};

/// Results a level needs before its gap `δ_k` gets a GP and `ρ_k` is fitted.
pub const MIN_GAP_FIT: usize = 3;

/// The prior variance of a level's gap before it has [`MIN_GAP_FIT`] results, as a fraction of
/// the variance of the cheapest level's targets, floored at their order statistic at BO's floor
/// quantile. A guess, not tuned: the gap's spread is taken to be half the cheap signal's.
pub const PRIOR_GAP: f64 = 0.25;

/// Multi-fidelity BO over a [`Ladder`] (see the module documentation).
#[derive(Debug)]
pub struct MfBo<S: SearchSpace> {
    bo: BayesOpt<S>,
}

impl<S: SearchSpace> MfBo<S> {
    /// Multi-fidelity BO whose cheapest level is modelled, and new architectures proposed, by
    /// `bo`.
    pub fn new(bo: BayesOpt<S>) -> MfBo<S> {
        MfBo { bo }
    }
}

/// One level above the cheapest: `f_k = a + ρ f_{k−1} + δ`.
struct Level {
    a: f64,
    rho: f64,
    /// The gap's GP; `None`: the gap is `N(0, prior_var)` everywhere.
    gap: Option<Gp>,
    prior_var: f64,
}

/// The fitted model of every level.
struct Model<'f, A> {
    cheapest: &'f Gp,
    features: &'f Features<A>,
    above: Vec<Level>,
    /// The (transformed) results of each evaluated architecture, by level: at an evaluated
    /// point a level is known exactly (the recursive model conditions on it, variance 0).
    known: HashMap<A, Vec<Option<f64>>>,
}

/// Means and variances of `f_0 … f_top` at a set of architectures.
struct Prediction {
    mean: Vec<Array1<f64>>,
    var: Vec<Array1<f64>>,
}

impl<A: Eq + Hash> Model<'_, A> {
    /// Predictions at `archs` of the levels fitted so far.
    fn predict(&self, archs: &[&A]) -> Prediction {
        let x = self.features.matrix(archs.iter().copied());
        let (m0, v0) = self.cheapest.predict_mean_variance(x.view());
        let mut mean = vec![m0];
        let mut var = vec![v0.mapv(|v| v.max(0.0))];
        self.condition(archs, 0, &mut mean, &mut var);
        for (k, level) in self.above.iter().enumerate() {
            let (gm, gv) = match &level.gap {
                Some(gp) => gp.predict_mean_variance(x.view()),
                None => (
                    Array1::zeros(x.nrows()),
                    Array1::from_elem(x.nrows(), level.prior_var),
                ),
            };
            let m = mean[k].mapv(|v| level.a + level.rho * v) + &gm;
            let v = var[k].mapv(|v| level.rho * level.rho * v) + &gv.mapv(|v| v.max(0.0));
            mean.push(m);
            var.push(v);
            self.condition(archs, k + 1, &mut mean, &mut var);
        }
        Prediction { mean, var }
    }

    /// Level `k` at evaluated points is their result.
    fn condition(&self, archs: &[&A], k: usize, mean: &mut [Array1<f64>], var: &mut [Array1<f64>]) {
        for (i, a) in archs.iter().enumerate() {
            if let Some(y) = self.known.get(*a).and_then(|l| l.get(k).copied().flatten()) {
                mean[k][i] = y;
                var[k][i] = 0.0;
            }
        }
    }

    /// How far one evaluation of candidate `i` at level `l` can move its full-fidelity mean:
    /// the standard deviation of the change, `Π_{j>l} |ρ_j| · sd(f_l)`.
    fn reach(&self, p: &Prediction, l: usize, i: usize) -> f64 {
        let scale: f64 = self.above[l..].iter().map(|lv| lv.rho.abs()).product();
        scale * p.var[l][i].max(0.0).sqrt()
    }
}

/// `ln` of the value of an evaluation that moves a full-fidelity mean `mean` by `N(0, reach²)`
/// when the recommendation is the better of it and `other` (the best of the other evaluated
/// architectures): `E[max(M, other)] − max(mean, other) = reach · h(−|mean − other| / reach)`,
/// the knowledge gradient of one point. `−∞` when it cannot change the recommendation.
fn log_value(mean: f64, reach: f64, other: f64) -> f64 {
    if reach <= 1e-12 || !mean.is_finite() {
        return f64::NEG_INFINITY;
    }
    if other == f64::NEG_INFINITY {
        // Nothing else to recommend: knowing more cannot change the choice.
        return f64::NEG_INFINITY;
    }
    reach.ln() + log_ei_unit(-(mean - other).abs() / reach)
}

/// The best and second-best full-fidelity means among evaluated architectures, with the
/// history index of the best (its highest finished evaluation).
struct Standing<A> {
    best: Option<(usize, A, f64)>,
    second: f64,
}

impl<S: SearchSpace> MfBo<S> {
    /// The model of every level: the cheapest level's GP, then each level above fitted on top
    /// of the one below.
    fn model<'f>(
        &'f self,
        space: &Ladder<S>,
        history: &[Observation<Rung<S::Arch>>],
        cheapest: &'f Gp,
        encoding: usize,
        seed: u64,
    ) -> Model<'f, S::Arch> {
        let features = &self.bo.features()[encoding];
        let levels = space.levels().len();
        let mut known: HashMap<S::Arch, Vec<Option<f64>>> = HashMap::new();
        for o in history {
            if let (Some(v), false) = (o.value, o.pending) {
                known
                    .entry(o.arch.arch.clone())
                    .or_insert_with(|| vec![None; levels])[o.arch.rung] =
                    Some(self.bo.transform(v));
            }
        }
        // The spread of the cheap level as its GP sees it: floored like BO's targets, so that
        // a few diverged trainings do not make every gap look wide.
        let mut y0: Vec<f64> = known.values().filter_map(|l| l[0]).collect();
        if let Some(floor) = lower_quantile(&y0, self.bo.config().target_floor_quantile()) {
            y0.iter_mut().for_each(|v| *v = v.max(floor));
        }
        let prior_var = PRIOR_GAP * variance(&y0).max(1e-12);
        let mut model = Model {
            cheapest,
            features,
            above: Vec::new(),
            known,
        };
        for k in 1..levels {
            let (archs, y): (Vec<&S::Arch>, Vec<f64>) = history
                .iter()
                .filter(|o| o.arch.rung == k && !o.pending)
                .filter_map(|o| o.value.map(|v| (&o.arch.arch, self.bo.transform(v))))
                .unzip();
            let level = if archs.is_empty() {
                Level {
                    a: 0.0,
                    rho: 1.0,
                    gap: None,
                    prior_var,
                }
            } else {
                let below = model.predict(&archs);
                let m = below.mean[k - 1].to_vec();
                let x = features.matrix(archs.iter().copied());
                self.fit_level(&x, &m, &y, prior_var, seed ^ ((k as u64) << 32))
            };
            model.above.push(level);
        }
        model
    }

    /// `a, ρ` by least squares of `y` on the level below's values `m`, and the gap's GP on what
    /// they leave.
    fn fit_level(&self, x: &Array2<f64>, m: &[f64], y: &[f64], prior_var: f64, seed: u64) -> Level {
        let n = y.len();
        let (mm, my) = (mean(m), mean(y));
        let vm = variance(m);
        let rho = if n >= MIN_GAP_FIT && vm > 1e-12 {
            let cov = m
                .iter()
                .zip(y)
                .map(|(a, b)| (a - mm) * (b - my))
                .sum::<f64>()
                / n as f64;
            // Clamped: a few points can suggest anything.
            (cov / vm).clamp(0.0, 2.0)
        } else {
            1.0
        };
        let a = my - rho * mm;
        let residual = Array1::from_iter(m.iter().zip(y).map(|(m, y)| y - a - rho * m));
        let gap = (n >= MIN_GAP_FIT)
            .then(|| {
                GpParams::new(self.bo.config().kernel_kind())
                    .ard(self.bo.config().ard)
                    .restarts(self.bo.config().restarts)
                    .max_iters(self.bo.config().max_iters)
                    .seed(seed)
                    .check()
                    .ok()?
                    .fit_xy(x.view(), residual.view())
                    .ok()
            })
            .flatten();
        Level {
            a,
            rho,
            gap,
            prior_var,
        }
    }

    /// The best and second-best evaluated architectures by full-fidelity mean.
    fn standing(
        model: &Model<'_, S::Arch>,
        history: &[Observation<Rung<S::Arch>>],
    ) -> Standing<S::Arch> {
        // The highest finished evaluation of each architecture, in history order.
        let mut at: HashMap<&S::Arch, usize> = HashMap::new();
        let mut order: Vec<&S::Arch> = Vec::new();
        for (i, o) in history.iter().enumerate() {
            if o.value.is_none() || o.pending {
                continue;
            }
            match at.get(&o.arch.arch) {
                Some(&j) if history[j].arch.rung >= o.arch.rung => {}
                Some(_) => {
                    at.insert(&o.arch.arch, i);
                }
                None => {
                    at.insert(&o.arch.arch, i);
                    order.push(&o.arch.arch);
                }
            }
        }
        let mut standing = Standing {
            best: None,
            second: f64::NEG_INFINITY,
        };
        if order.is_empty() {
            return standing;
        }
        let p = model.predict(&order);
        let top = p.mean.last().expect("one level");
        for (a, &m) in order.iter().zip(top.iter()) {
            match &standing.best {
                Some((_, _, b)) if *b >= m => standing.second = standing.second.max(m),
                _ => {
                    if let Some((_, _, b)) = &standing.best {
                        standing.second = standing.second.max(*b);
                    }
                    standing.best = Some((at[a], (*a).clone(), m));
                }
            }
        }
        standing
    }

    /// The best promotion: an architecture whose highest evaluation is finished below the top,
    /// taken one level up, with its log value per unit of cost.
    fn best_promotion(
        space: &Ladder<S>,
        model: &Model<'_, S::Arch>,
        history: &[Observation<Rung<S::Arch>>],
        standing: &Standing<S::Arch>,
    ) -> Option<(Rung<S::Arch>, f64)> {
        let top = space.top();
        // (highest rung started, whether that evaluation finished); pending blocks.
        let mut highest: HashMap<&S::Arch, (usize, bool)> = HashMap::new();
        for o in history {
            let e = highest.entry(&o.arch.arch).or_insert((0, false));
            if o.pending {
                *e = (usize::MAX, false);
            } else if e.0 != usize::MAX && (o.arch.rung > e.0 || (o.arch.rung == e.0 && !e.1)) {
                *e = (o.arch.rung, o.value.is_some());
            }
        }
        let mut candidates: Vec<(&S::Arch, usize)> = highest
            .into_iter()
            .filter(|(_, (rung, finished))| *finished && *rung < top)
            .map(|(a, (rung, _))| (a, rung + 1))
            .collect();
        // A fixed order (the map's is not) so that ties resolve the same way every run.
        candidates.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
        if candidates.is_empty() {
            return None;
        }
        let archs: Vec<&S::Arch> = candidates.iter().map(|c| c.0).collect();
        let p = model.predict(&archs);
        let levels = space.levels();
        let (best_arch, best) = match &standing.best {
            Some((_, a, b)) => (Some(a), *b),
            None => (None, f64::NEG_INFINITY),
        };
        candidates
            .iter()
            .enumerate()
            .map(|(i, &(arch, to))| {
                let other = if Some(arch) == best_arch {
                    standing.second
                } else {
                    best
                };
                let value = log_value(p.mean[top][i], model.reach(&p, to, i), other);
                let score = value - f64::from(levels[to]).ln();
                (
                    Rung {
                        arch: arch.clone(),
                        rung: to,
                    },
                    score,
                )
            })
            .filter(|c| c.1.is_finite())
            .fold(None, |b: Option<(Rung<S::Arch>, f64)>, c| match b {
                Some(b) if b.1 >= c.1 => Some(b),
                _ => Some(c),
            })
    }
}

/// The `q`-quantile of `values` (the order statistic below it); `None` when `q` is 0 or there
/// are no values.
fn lower_quantile(values: &[f64], q: f64) -> Option<f64> {
    if q <= 0.0 || values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(sorted[((q.min(1.0) * (sorted.len() - 1) as f64).floor()) as usize])
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn variance(v: &[f64]) -> f64 {
    let m = mean(v);
    if v.len() < 2 {
        0.0
    } else {
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64
    }
}

impl<S: SearchSpace> Strategy<Ladder<S>> for MfBo<S> {
    fn name(&self) -> &str {
        "mf-bo"
    }

    fn ask(
        &mut self,
        space: &Ladder<S>,
        history: &[Observation<Rung<S::Arch>>],
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<Rung<S::Arch>>> {
        let inner = space.inner();
        let cheap = bottom(history);
        let at_bottom = |a: S::Arch| Rung { arch: a, rung: 0 };
        let finished = cheap.iter().filter(|o| o.value.is_some()).count();
        if finished < self.bo.config().initial.max(2) {
            return Ok(self.bo.ask(inner, &cheap, rng)?.map(at_bottom));
        }
        let seed: u64 = rng.gen();
        let Some(surrogate) = self.bo.fit(&cheap, seed)? else {
            return Ok(self.bo.ask(inner, &cheap, rng)?.map(at_bottom));
        };
        self.bo.observe(inner, &cheap);
        let model = self.model(space, history, &surrogate.gp, surrogate.encoding, seed);
        let standing = Self::standing(&model, history);
        let promotion = Self::best_promotion(space, &model, history, &standing);
        if let Some((up, up_score)) = &promotion {
            // What a new architecture at the cheapest level is worth: the best of BO's
            // candidate pool under the same value per unit of cost.
            let pool = self.bo.pool(inner, &cheap, rng);
            let best = standing.best.as_ref().map_or(f64::NEG_INFINITY, |b| b.2);
            let cost = f64::from(space.levels()[0]).ln();
            let new_score = if pool.is_empty() {
                f64::NEG_INFINITY
            } else {
                let refs: Vec<&S::Arch> = pool.iter().collect();
                let p = model.predict(&refs);
                let top = space.top();
                (0..pool.len())
                    .map(|i| log_value(p.mean[top][i], model.reach(&p, 0, i), best) - cost)
                    .fold(f64::NEG_INFINITY, f64::max)
            };
            if *up_score > new_score {
                return Ok(Some(up.clone()));
            }
        }
        match self.bo.maximise(inner, &surrogate, &cheap, rng)? {
            Some(arch) => Ok(Some(at_bottom(arch))),
            // No unseen architecture in the pool: BO's random fallback, else the best promotion.
            None => Ok(self
                .bo
                .ask(inner, &cheap, rng)?
                .map(at_bottom)
                .or(promotion.map(|p| p.0))),
        }
    }

    /// The evaluated architecture of highest full-fidelity posterior mean (see the module
    /// documentation), under the last fit's hyperparameters; before a first fit, the best
    /// evaluation at the highest level reached.
    fn recommend(
        &mut self,
        space: &Ladder<S>,
        history: &[Observation<Rung<S::Arch>>],
    ) -> Option<usize> {
        let Some((encoding, cheapest)) = self.bo.refit(&bottom(history)) else {
            return best_at_top(history);
        };
        let model = self.model(space, history, &cheapest, encoding, history.len() as u64);
        Self::standing(&model, history).best.map(|b| b.0)
    }
}
