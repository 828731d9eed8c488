//! A continuous ask/tell Bayesian-optimisation loop over a box.
//!
//! [`ContinuousBo`] proposes points ([`ContinuousBo::ask`]) and records results ([`ContinuousBo::tell`]);
//! it never evaluates the objective itself. After a seeded Latin-hypercube design it fits a GP
//! on the unit cube (warm-started from the previous fit), and maximises log-EI by multi-start
//! L-BFGS (argmin) from the best of many random and local candidates.
//!
//! ```
//! use nasbo_gp::bo::{ContinuousBo, ContinuousBoConfig};
//! use nasbo_gp::Direction;
//!
//! let config = ContinuousBoConfig { n_initial: 4, seed: 3, ..ContinuousBoConfig::default() };
//! let mut bo = ContinuousBo::new(&[(-2.0, 2.0)], Direction::Minimize, config).unwrap();
//! for _ in 0..12 {
//!     let x = bo.ask().unwrap();
//!     bo.tell(x.view(), (x[0] - 0.5).powi(2)).unwrap();
//! }
//! let (x, y) = bo.best().unwrap();
//! assert!(y < 1e-3 && (x[0] - 0.5).abs() < 0.05);
//! ```

use crate::acquisition::{Acquisition, Direction, LogExpectedImprovement};
use crate::error::{GpError, Result};
use crate::gp::Gp;
use crate::hyper::Tracker;
use crate::kernel::{Hyperparameters, KernelKind};
use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use ndarray::{Array1, Array2, ArrayView1, Axis};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;

/// Settings of the BO loop.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousBoConfig {
    /// Kernel of the surrogate.
    pub kernel: KernelKind,
    /// Size of the initial Latin-hypercube design (at least 1).
    pub n_initial: usize,
    /// Hyperparameter optimiser starts for the first fit.
    pub gp_restarts: usize,
    /// Starts for later fits, the first warm-started from the previous hyperparameters.
    pub refit_restarts: usize,
    /// L-BFGS iterations per hyperparameter start.
    pub gp_max_iters: u64,
    /// Random candidates scored before local optimisation of the acquisition.
    pub n_candidates: usize,
    /// L-BFGS starts for the acquisition (the best-scoring candidates).
    pub n_local_starts: usize,
    /// EI margin `ξ` (in objective units).
    pub xi: f64,
    /// The loop's only entropy.
    pub seed: u64,
}

impl Default for ContinuousBoConfig {
    fn default() -> Self {
        ContinuousBoConfig {
            kernel: KernelKind::Matern52,
            n_initial: 5,
            gp_restarts: 4,
            refit_restarts: 2,
            gp_max_iters: 100,
            n_candidates: 1000,
            n_local_starts: 5,
            xi: 0.0,
            seed: 0,
        }
    }
}

/// Ask/tell Bayesian optimisation over a box.
#[derive(Debug, Clone)]
pub struct ContinuousBo {
    lower: Array1<f64>,
    width: Array1<f64>,
    direction: Direction,
    config: ContinuousBoConfig,
    rng: ChaCha8Rng,
    design: Vec<Array1<f64>>,
    x_unit: Vec<Array1<f64>>,
    y: Vec<f64>,
    hyper: Option<Hyperparameters>,
    n_fits: u64,
}

impl ContinuousBo {
    /// A loop over the box `bounds` (`(low, high)` per input, `low < high`).
    pub fn new(
        bounds: &[(f64, f64)],
        direction: Direction,
        config: ContinuousBoConfig,
    ) -> Result<Self> {
        if bounds.is_empty()
            || bounds
                .iter()
                .any(|(lo, hi)| !(lo < hi && lo.is_finite() && hi.is_finite()))
        {
            return Err(GpError::ShapeMismatch {
                expected: "non-empty finite bounds with low < high".into(),
                got: format!("{bounds:?}"),
            });
        }
        let d = bounds.len();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let n0 = config.n_initial.max(1);
        // Latin hypercube: one point per stratum in every coordinate.
        let mut design = vec![Array1::<f64>::zeros(d); n0];
        for j in 0..d {
            let mut strata: Vec<usize> = (0..n0).collect();
            strata.shuffle(&mut rng);
            for (p, s) in design.iter_mut().zip(strata) {
                p[j] = (s as f64 + rng.gen::<f64>()) / n0 as f64;
            }
        }
        design.reverse();
        Ok(ContinuousBo {
            lower: bounds.iter().map(|b| b.0).collect(),
            width: bounds.iter().map(|b| b.1 - b.0).collect(),
            direction,
            config,
            rng,
            design,
            x_unit: Vec::new(),
            y: Vec::new(),
            hyper: None,
            n_fits: 0,
        })
    }

    fn to_box(&self, u: &Array1<f64>) -> Array1<f64> {
        &self.lower + &(u * &self.width)
    }

    /// The next point to evaluate.
    pub fn ask(&mut self) -> Result<Array1<f64>> {
        if let Some(u) = self.design.pop() {
            return Ok(self.to_box(&u));
        }
        if self.y.is_empty() {
            let d = self.lower.len();
            let u = Array1::from_shape_fn(d, |_| self.rng.gen::<f64>());
            return Ok(self.to_box(&u));
        }
        let gp = self.fit()?;
        let u = self.maximise_acquisition(&gp);
        Ok(self.to_box(&u))
    }

    /// Records the objective value `y` at `x` (a point in the box).
    pub fn tell(&mut self, x: ArrayView1<f64>, y: f64) -> Result<()> {
        if x.len() != self.lower.len() {
            return Err(GpError::ShapeMismatch {
                expected: format!("{} inputs", self.lower.len()),
                got: format!("{}", x.len()),
            });
        }
        if !y.is_finite() || x.iter().any(|v| !v.is_finite()) {
            return Err(GpError::NonFinite {
                what: if y.is_finite() { "input" } else { "target" },
                row: self.y.len(),
            });
        }
        let u = ((&x - &self.lower) / &self.width).mapv(|v| v.clamp(0.0, 1.0));
        self.x_unit.push(u);
        self.y.push(y);
        Ok(())
    }

    /// The best observation so far, `(x, y)`.
    pub fn best(&self) -> Option<(Array1<f64>, f64)> {
        let i = self.best_index()?;
        Some((self.to_box(&self.x_unit[i]), self.y[i]))
    }

    /// Number of recorded observations.
    pub fn n_observations(&self) -> usize {
        self.y.len()
    }

    /// Hyperparameters of the latest surrogate fit (on the unit cube).
    pub fn hyperparameters(&self) -> Option<&Hyperparameters> {
        self.hyper.as_ref()
    }

    fn best_index(&self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, &v) in self.y.iter().enumerate() {
            if best.is_none_or(|b| self.direction.better(v, self.y[b])) {
                best = Some(i);
            }
        }
        best
    }

    fn fit(&mut self) -> Result<Gp> {
        let d = self.lower.len();
        let x = Array2::from_shape_fn((self.y.len(), d), |(i, j)| self.x_unit[i][j]);
        let y = Array1::from(self.y.clone());
        let mut params = Gp::params()
            .kernel(self.config.kernel)
            .seed(self.config.seed.wrapping_add(self.n_fits))
            .max_iters(self.config.gp_max_iters)
            .restarts(self.config.gp_restarts.max(1));
        if let Some(h) = &self.hyper {
            params = params
                .initial_hyperparameters(h.clone())
                .restarts(self.config.refit_restarts.max(1));
        }
        self.n_fits += 1;
        let checked = linfa::ParamGuard::check(params)?;
        let gp = checked.fit_xy(x.view(), y.view())?;
        self.hyper = Some(gp.hyperparameters().clone());
        Ok(gp)
    }

    fn maximise_acquisition(&mut self, gp: &Gp) -> Array1<f64> {
        let d = self.lower.len();
        let best_i = self.best_index().expect("observations exist");
        let acq =
            LogExpectedImprovement::new(self.y[best_i], self.direction).with_xi(self.config.xi);
        let n_cand = self.config.n_candidates.max(1);
        let incumbent = self.x_unit[best_i].clone();
        let cand = Array2::from_shape_fn((n_cand, d), |(i, j)| {
            if i % 4 == 3 {
                let step: f64 = self.rng.gen_range(-0.1..0.1);
                (incumbent[j] + step).clamp(0.0, 1.0)
            } else {
                self.rng.gen::<f64>()
            }
        });
        let scores = acq.evaluate(gp, cand.view());
        let mut order: Vec<usize> = (0..n_cand).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let mut best_u = cand.row(order[0]).to_owned();
        let mut best_v = scores[order[0]];
        for &i in order.iter().take(self.config.n_local_starts) {
            let start = cand.row(i).to_owned();
            if let Some((u, v)) = local_max(gp, &acq, start) {
                if v > best_v {
                    best_u = u;
                    best_v = v;
                }
            }
        }
        // Never propose an existing point again: fall back to a random one.
        let duplicate = self
            .x_unit
            .iter()
            .any(|p| (p - &best_u).mapv(f64::abs).sum() < 1e-9);
        if duplicate {
            best_u = Array1::from_shape_fn(d, |_| self.rng.gen::<f64>());
        }
        best_u
    }
}

/// The last point evaluated, its cost and gradient.
type Evaluated = Option<(Array1<f64>, f64, Array1<f64>)>;

/// `−acquisition` on the projection onto the unit cube, plus a penalty outside.
struct AcqProblem<'a> {
    gp: &'a Gp,
    acq: &'a LogExpectedImprovement,
    cache: RefCell<Evaluated>,
    tracker: &'a RefCell<Tracker>,
}

const BOX_PENALTY: f64 = 100.0;

impl AcqProblem<'_> {
    fn eval(
        &self,
        u: &Array1<f64>,
    ) -> std::result::Result<(f64, Array1<f64>), argmin::core::Error> {
        if let Some((p, c, g)) = self.cache.borrow().as_ref() {
            if p == u {
                return Ok((*c, g.clone()));
            }
        }
        if !self.tracker.borrow_mut().tick() {
            return Err(GpError::Optimisation("evaluation budget spent".into()).into());
        }
        let inside = u.mapv(|v| v.clamp(0.0, 1.0));
        let (v, g) = self.acq.value_and_gradient(self.gp, inside.view());
        let excess = u - &inside;
        let cost = -v + 0.5 * BOX_PENALTY * excess.dot(&excess);
        let mut grad = -g;
        for (gi, &e) in grad.iter_mut().zip(excess.iter()) {
            if e != 0.0 {
                *gi = BOX_PENALTY * e;
            }
        }
        self.tracker.borrow_mut().offer(cost, u);
        *self.cache.borrow_mut() = Some((u.clone(), cost, grad.clone()));
        Ok((cost, grad))
    }
}

impl CostFunction for AcqProblem<'_> {
    type Param = Array1<f64>;
    type Output = f64;
    fn cost(&self, p: &Array1<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.eval(p)?.0)
    }
}

impl Gradient for AcqProblem<'_> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;
    fn gradient(&self, p: &Array1<f64>) -> std::result::Result<Array1<f64>, argmin::core::Error> {
        Ok(self.eval(p)?.1)
    }
}

/// Local maximisation of the acquisition from `start`; `None` when the solver fails.
fn local_max(
    gp: &Gp,
    acq: &LogExpectedImprovement,
    start: Array1<f64>,
) -> Option<(Array1<f64>, f64)> {
    let tracker = RefCell::new(Tracker::new(500));
    let problem = AcqProblem {
        gp,
        acq,
        cache: RefCell::new(None),
        tracker: &tracker,
    };
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 5)
        .with_tolerance_grad(1e-8)
        .ok()?;
    // An aborted run (evaluation budget) still yields the best point it evaluated.
    let _ = Executor::new(problem, solver)
        .configure(|s| s.param(start).max_iters(50))
        .run();
    let (_, best) = tracker.into_inner().best?;
    let u = best.mapv(|v| v.clamp(0.0, 1.0));
    let v = acq.evaluate(gp, u.view().insert_axis(Axis(0)))[0];
    v.is_finite().then_some((u, v))
}
