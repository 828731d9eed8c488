//! Acquisition functions on a fitted [`Gp`].
//!
//! **Convention.** Every acquisition value is *higher is better*: the BO loop maximises it,
//! whichever way the objective goes. The objective's own direction is a [`Direction`]:
//! with [`Direction::Maximize`] an improvement is `f − best − ξ`, with
//! [`Direction::Minimize`] it is `best − f − ξ`. Confidence bounds are
//! `μ + βσ` (UCB) when maximising and `−(μ − βσ)` (negated LCB) when minimising.
//!
//! Each acquisition gives its value on a batch of candidates ([`Acquisition::evaluate`]) and its
//! value and input gradient at a point ([`Acquisition::value_and_gradient`]). Thompson samples
//! are drawn jointly over a candidate set with [`thompson_samples`].
//!
//! ```
//! use linfa::prelude::*;
//! use nasbo_gp::acquisition::{Acquisition, LogExpectedImprovement};
//! use nasbo_gp::{Direction, Gp};
//! use ndarray::{array, Array1};
//!
//! // Maximise accuracy: log-EI over a candidate matrix.
//! let x = array![[0.1, 0.2], [0.4, 0.9], [0.8, 0.3], [0.5, 0.5]];
//! let acc = array![0.61, 0.72, 0.58, 0.70];
//! let gp = Gp::params().seed(1).fit(&Dataset::new(x, acc.clone())).unwrap();
//! let best = acc.fold(f64::MIN, |m, &v| m.max(v));
//! let log_ei = LogExpectedImprovement::new(best, Direction::Maximize);
//! let candidates = array![[0.45, 0.8], [0.9, 0.1], [0.4, 0.9]];
//! let scores: Array1<f64> = log_ei.evaluate(&gp, candidates.view());
//! assert!(scores.iter().all(|s| s.is_finite()));
//! ```

use crate::error::Result;
use crate::gp::Gp;
use crate::linalg::cholesky_jittered;
use crate::special::{dlog_ei_unit, ei_unit, log_ei_unit, norm_cdf, norm_pdf};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::Rng;
use rand_distr::StandardNormal;

/// Whether the objective is to be minimised or maximised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Direction {
    /// Smaller objective values are better.
    Minimize,
    /// Larger objective values are better.
    Maximize,
}

impl Direction {
    /// `+1` when maximising, `−1` when minimising.
    pub fn sign(self) -> f64 {
        match self {
            Direction::Maximize => 1.0,
            Direction::Minimize => -1.0,
        }
    }

    /// Whether `a` is better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        self.sign() * (a - b) > 0.0
    }
}

/// An acquisition function: higher values are better candidates.
pub trait Acquisition {
    /// Values at each row of `x`.
    fn evaluate(&self, gp: &Gp, x: ArrayView2<f64>) -> Array1<f64>;
    /// Value and gradient with respect to the input at one point.
    fn value_and_gradient(&self, gp: &Gp, x: ArrayView1<f64>) -> (f64, Array1<f64>);
}

/// Predictive standard deviation floor: `1e-9` of the signal standard deviation.
fn std_floor(gp: &Gp) -> f64 {
    1e-9 * gp.hyperparameters().signal_variance.sqrt() + 1e-300
}

/// Mean, standard deviation and their input gradients at one point.
fn point(gp: &Gp, x: ArrayView1<f64>) -> (f64, f64, Array1<f64>, Array1<f64>) {
    let p = gp.predict_gradients(x);
    let floor = std_floor(gp);
    let sd = p.variance.sqrt();
    if sd > floor {
        let sd_grad = p.variance_grad.mapv(|v| v / (2.0 * sd));
        (p.mean, sd, p.mean_grad, sd_grad)
    } else {
        let zeros = Array1::zeros(x.len());
        (p.mean, floor, p.mean_grad, zeros)
    }
}

fn batch(gp: &Gp, x: ArrayView2<f64>) -> (Array1<f64>, Array1<f64>) {
    let (m, v) = gp.predict_mean_variance(x);
    let floor = std_floor(gp);
    (m, v.mapv(|v| v.sqrt().max(floor)))
}

/// Chain rule: `∂a/∂μ ∇μ + ∂a/∂σ ∇σ`.
fn chain(da_dm: f64, da_ds: f64, dm: &Array1<f64>, ds: &Array1<f64>) -> Array1<f64> {
    dm.mapv(|v| v * da_dm) + &ds.mapv(|v| v * da_ds)
}

/// `(sign, z)` with the standardised improvement `z = (sign·(mean − best) − ξ)/std`.
fn improvement_z(mean: f64, std: f64, best: f64, direction: Direction, xi: f64) -> (f64, f64) {
    let s = direction.sign();
    (s, (s * (mean - best) - xi) / std)
}

/// Expected improvement of `N(mean, std²)` over `best` (plus margin `xi`), and its partial
/// derivatives with respect to mean and std. Always `≥ 0`.
pub fn expected_improvement(
    mean: f64,
    std: f64,
    best: f64,
    direction: Direction,
    xi: f64,
) -> (f64, f64, f64) {
    let (s, z) = improvement_z(mean, std, best, direction, xi);
    let value = (std * ei_unit(z)).max(0.0);
    (value, s * norm_cdf(z), norm_pdf(z))
}

/// `ln EI`, finite for every finite input (far tails by an asymptotic form), with its partial
/// derivatives with respect to mean and std.
pub fn log_expected_improvement(
    mean: f64,
    std: f64,
    best: f64,
    direction: Direction,
    xi: f64,
) -> (f64, f64, f64) {
    let (s, z) = improvement_z(mean, std, best, direction, xi);
    let r = dlog_ei_unit(z);
    (std.ln() + log_ei_unit(z), s * r / std, (1.0 - z * r) / std)
}

/// Probability of improvement `Φ(z)` with its partial derivatives with respect to mean and std.
pub fn probability_of_improvement(
    mean: f64,
    std: f64,
    best: f64,
    direction: Direction,
    xi: f64,
) -> (f64, f64, f64) {
    let (s, z) = improvement_z(mean, std, best, direction, xi);
    let phi = norm_pdf(z);
    (norm_cdf(z), s * phi / std, -z * phi / std)
}

macro_rules! improvement_acquisition {
    ($(#[$doc:meta])* $name:ident, $f:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name {
            /// The incumbent (best observed value, or best posterior mean).
            pub best: f64,
            /// Whether the objective is minimised or maximised.
            pub direction: Direction,
            /// Margin `ξ ≥ 0` an improvement must exceed.
            pub xi: f64,
        }

        impl $name {
            /// With incumbent `best` and no margin.
            pub fn new(best: f64, direction: Direction) -> Self {
                Self { best, direction, xi: 0.0 }
            }
            /// Sets the margin `ξ`.
            pub fn with_xi(mut self, xi: f64) -> Self {
                self.xi = xi;
                self
            }
        }

        impl Acquisition for $name {
            fn evaluate(&self, gp: &Gp, x: ArrayView2<f64>) -> Array1<f64> {
                let (m, s) = batch(gp, x);
                ndarray::Zip::from(&m)
                    .and(&s)
                    .map_collect(|&m, &s| $f(m, s, self.best, self.direction, self.xi).0)
            }
            fn value_and_gradient(&self, gp: &Gp, x: ArrayView1<f64>) -> (f64, Array1<f64>) {
                let (m, s, dm, ds) = point(gp, x);
                let (v, a, b) = $f(m, s, self.best, self.direction, self.xi);
                (v, chain(a, b, &dm, &ds))
            }
        }
    };
}

improvement_acquisition!(
    /// Expected improvement, in a numerically stable form.
    ExpectedImprovement,
    expected_improvement
);
improvement_acquisition!(
    /// Log expected improvement: never `−∞` or NaN, so it ranks candidates deep in the tail.
    LogExpectedImprovement,
    log_expected_improvement
);
improvement_acquisition!(
    /// Probability of improvement.
    ProbabilityOfImprovement,
    probability_of_improvement
);

/// Optimistic confidence bound: `μ + βσ` when maximising, `−(μ − βσ)` when minimising.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceBound {
    /// Exploration weight `β ≥ 0` (multiplies the standard deviation).
    pub beta: f64,
    /// Whether the objective is minimised or maximised.
    pub direction: Direction,
}

impl Acquisition for ConfidenceBound {
    fn evaluate(&self, gp: &Gp, x: ArrayView2<f64>) -> Array1<f64> {
        let (m, s) = batch(gp, x);
        let sign = self.direction.sign();
        ndarray::Zip::from(&m)
            .and(&s)
            .map_collect(|&m, &s| sign * m + self.beta * s)
    }
    fn value_and_gradient(&self, gp: &Gp, x: ArrayView1<f64>) -> (f64, Array1<f64>) {
        let (m, s, dm, ds) = point(gp, x);
        let sign = self.direction.sign();
        (sign * m + self.beta * s, chain(sign, self.beta, &dm, &ds))
    }
}

/// Expected improvement times the probability of feasibility `P(c(x) ≤ threshold)` under a
/// second GP modelling the constraint `c`.
#[derive(Debug, Clone, Copy)]
pub struct ConstrainedExpectedImprovement<'a> {
    /// The objective's expected improvement (its incumbent should be feasible).
    pub ei: ExpectedImprovement,
    /// GP of the constraint function.
    pub constraint: &'a Gp,
    /// A point is feasible when `c(x) ≤ threshold`.
    pub threshold: f64,
}

impl ConstrainedExpectedImprovement<'_> {
    fn feasibility(&self, m: f64, s: f64) -> (f64, f64, f64) {
        let z = (self.threshold - m) / s;
        let phi = norm_pdf(z);
        (norm_cdf(z), -phi / s, -z * phi / s)
    }
}

impl Acquisition for ConstrainedExpectedImprovement<'_> {
    fn evaluate(&self, gp: &Gp, x: ArrayView2<f64>) -> Array1<f64> {
        let ei = self.ei.evaluate(gp, x);
        let (m, s) = batch(self.constraint, x);
        ndarray::Zip::from(&ei)
            .and(&m)
            .and(&s)
            .map_collect(|&e, &m, &s| e * self.feasibility(m, s).0)
    }
    fn value_and_gradient(&self, gp: &Gp, x: ArrayView1<f64>) -> (f64, Array1<f64>) {
        let (e, de) = self.ei.value_and_gradient(gp, x);
        let (m, s, dm, ds) = point(self.constraint, x);
        let (pf, a, b) = self.feasibility(m, s);
        let dpf = chain(a, b, &dm, &ds);
        (e * pf, de.mapv(|v| v * pf) + &dpf.mapv(|v| v * e))
    }
}

/// Joint posterior samples of the latent function over the rows of `x`: one row per sample,
/// one column per candidate. Uses the Cholesky factor of the predictive covariance (with jitter
/// escalation) and the caller's RNG. Thompson sampling takes the best column of each row.
pub fn thompson_samples<R: Rng + ?Sized>(
    gp: &Gp,
    x: ArrayView2<f64>,
    n_samples: usize,
    rng: &mut R,
) -> Result<Array2<f64>> {
    let (mean, _) = gp.predict_mean_variance(x);
    let mut cov = gp.predict_covariance(x);
    // A posterior covariance over many candidates is close to singular (rank at most the
    // candidates' own dimension plus the data's): start the jitter at 1e-8 of the mean
    // variance, far below the variances that matter, instead of escalating to it one failed
    // factorisation at a time.
    let m = x.nrows();
    let mean_var = cov.diag().sum() / m.max(1) as f64;
    if mean_var > 0.0 && mean_var.is_finite() {
        cov.diag_mut().mapv_inplace(|v| v + 1e-8 * mean_var);
    }
    let (l, _) = cholesky_jittered(&cov)?;
    let z = Array2::from_shape_fn((m, n_samples), |_| rng.sample::<f64, _>(StandardNormal));
    let mut samples = l.dot(&z).reversed_axes();
    for mut row in samples.rows_mut() {
        row += &mean;
    }
    Ok(samples.as_standard_layout().into_owned())
}
