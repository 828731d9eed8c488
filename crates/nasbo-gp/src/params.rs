//! The model's parameters: the unchecked builder [`GpParams`] and the checked [`GpValidParams`].

use crate::error::GpParamsError;
use crate::kernel::{Hyperparameters, KernelKind};
use linfa::ParamGuard;

/// Checked GP parameters; build them with [`GpParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct GpValidParams {
    pub(crate) kernel: KernelKind,
    pub(crate) ard: bool,
    pub(crate) restarts: usize,
    pub(crate) seed: u64,
    pub(crate) optimize: bool,
    pub(crate) max_iters: u64,
    pub(crate) initial: Option<Hyperparameters>,
    pub(crate) noise_floor: f64,
}

impl GpValidParams {
    /// The kernel kind.
    pub fn kernel(&self) -> KernelKind {
        self.kernel
    }
    /// Whether each input has its own lengthscale.
    pub fn ard(&self) -> bool {
        self.ard
    }
    /// Total number of optimiser starts.
    pub fn restarts(&self) -> usize {
        self.restarts
    }
    /// Seed of the random starts.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Whether hyperparameters are optimised.
    pub fn optimize(&self) -> bool {
        self.optimize
    }
    /// L-BFGS iterations per start.
    pub fn max_iters(&self) -> u64 {
        self.max_iters
    }
    /// The warm start or fixed hyperparameters, if any.
    pub fn initial_hyperparameters(&self) -> Option<&Hyperparameters> {
        self.initial.as_ref()
    }
    /// Lower bound of the noise variance, relative to the target variance.
    pub fn noise_floor(&self) -> f64 {
        self.noise_floor
    }
}

/// Unchecked builder of GP parameters.
///
/// Defaults: Matérn 5/2 with ARD lengthscales, 3 optimiser starts, seed 0, hyperparameter
/// optimisation on, 200 L-BFGS iterations per start, noise floor `1e-6` of the target variance.
#[derive(Debug, Clone, PartialEq)]
pub struct GpParams(GpValidParams);

impl Default for GpParams {
    fn default() -> Self {
        GpParams(GpValidParams {
            kernel: KernelKind::Matern52,
            ard: true,
            restarts: 3,
            seed: 0,
            optimize: true,
            max_iters: 200,
            initial: None,
            noise_floor: 1e-6,
        })
    }
}

impl GpParams {
    /// Default parameters with the given kernel kind.
    pub fn new(kernel: KernelKind) -> Self {
        Self::default().kernel(kernel)
    }
    /// The kernel kind.
    pub fn kernel(mut self, kernel: KernelKind) -> Self {
        self.0.kernel = kernel;
        self
    }
    /// One lengthscale per input (`true`, the default) or one shared lengthscale.
    pub fn ard(mut self, ard: bool) -> Self {
        self.0.ard = ard;
        self
    }
    /// Total number of optimiser starts (at least 1): the first from the initial
    /// hyperparameters (or a data-based default), the rest drawn from `seed`.
    pub fn restarts(mut self, restarts: usize) -> Self {
        self.0.restarts = restarts;
        self
    }
    /// Seed of the random optimiser starts: the only entropy of a fit.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    /// Whether to optimise hyperparameters; `false` uses the initial hyperparameters as given.
    pub fn optimize(mut self, optimize: bool) -> Self {
        self.0.optimize = optimize;
        self
    }
    /// Maximum L-BFGS iterations per start.
    pub fn max_iters(mut self, max_iters: u64) -> Self {
        self.0.max_iters = max_iters;
        self
    }
    /// Warm start for the first optimiser start, or the fixed hyperparameters when
    /// [`optimize(false)`](Self::optimize). Read them back from a fitted model with
    /// [`Gp::hyperparameters`](crate::Gp::hyperparameters).
    pub fn initial_hyperparameters(mut self, hyper: Hyperparameters) -> Self {
        self.0.initial = Some(hyper);
        self
    }
    /// Lower bound of the optimised noise variance relative to the target variance.
    pub fn noise_floor(mut self, floor: f64) -> Self {
        self.0.noise_floor = floor;
        self
    }
}

impl ParamGuard for GpParams {
    type Checked = GpValidParams;
    type Error = GpParamsError;

    fn check_ref(&self) -> Result<&GpValidParams, GpParamsError> {
        let p = &self.0;
        if p.restarts == 0 {
            return Err(GpParamsError::ZeroRestarts);
        }
        if p.optimize && p.max_iters == 0 {
            return Err(GpParamsError::ZeroIterations);
        }
        if !(p.noise_floor > 0.0 && p.noise_floor.is_finite()) {
            return Err(GpParamsError::InvalidHyperparameters);
        }
        match &p.initial {
            None if !p.optimize => return Err(GpParamsError::MissingHyperparameters),
            None => {}
            Some(h) => {
                if h.kernel.kind() != p.kernel {
                    return Err(GpParamsError::KernelMismatch);
                }
                let positive = |v: f64| v > 0.0 && v.is_finite();
                let non_negative = |v: f64| v >= 0.0 && v.is_finite();
                let kp = h.kernel.params();
                let valid = !kp.is_empty()
                    && kp.iter().all(|&v| positive(v))
                    && positive(h.signal_variance)
                    && non_negative(h.noise_variance)
                    && h.mean.is_finite();
                if !valid {
                    return Err(GpParamsError::InvalidHyperparameters);
                }
            }
        }
        Ok(p)
    }

    fn check(self) -> Result<GpValidParams, GpParamsError> {
        self.check_ref()?;
        Ok(self.0)
    }
}
