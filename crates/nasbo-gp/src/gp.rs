//! The fitted Gaussian process: fitting, prediction and incremental updates.

use crate::error::{GpError, Result};
use crate::hyper::{self, covariance, pack, unpack, Space};
use crate::kernel::{Hyperparameters, Kernel};
use crate::linalg::{
    blk, cho_solve, cholesky_append, cholesky_jittered, lower_inverse, trmm_right_lower_t,
    trsm_right_lower_t,
};
use crate::parallel::{join, with_spare_cores, SpareCores};
use crate::params::{GpParams, GpValidParams};
use linfa::dataset::{AsSingleTargets, DatasetBase};
use linfa::traits::{Fit, PredictInplace};
use ndarray::{
    concatenate, Array1, Array2, ArrayBase, ArrayView1, ArrayView2, Axis, Data, Ix2, Slice,
};
use std::sync::OnceLock;

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
/// Test points handled per block in prediction (bounds memory to a few `CHUNK × n` blocks).
const CHUNK: usize = 256;

/// A fitted exact GP regression model with constant mean and standardised outputs.
#[derive(Debug, Clone)]
pub struct Gp {
    hyper: Hyperparameters,
    kernel: Kernel,
    /// Signal and noise variance in standardised units.
    sf2: f64,
    sn2: f64,
    y_scale: f64,
    x: Array2<f64>,
    y: Array1<f64>,
    /// `(y − mean)/scale`.
    ys: Array1<f64>,
    chol: Array2<f64>,
    /// `L⁻¹`, formed by the first large batch prediction (variances of `m` points then cost
    /// `n² m` flops of matrix multiply instead of as many in triangular solves).
    chol_inv: OnceLock<Array2<f64>>,
    alpha: Array1<f64>,
    jitter: f64,
    fit_iterations: u64,
    fit_evaluations: u64,
    fit_screening: (u64, u64),
}

/// Prediction at one point with gradients with respect to the input.
#[derive(Debug, Clone, PartialEq)]
pub struct PointPrediction {
    /// Posterior mean.
    pub mean: f64,
    /// Posterior variance of the latent function (target units squared).
    pub variance: f64,
    /// Gradient of the mean.
    pub mean_grad: Array1<f64>,
    /// Gradient of the variance.
    pub variance_grad: Array1<f64>,
}

fn check_data(x: ArrayView2<f64>, y: ArrayView1<f64>) -> Result<()> {
    if x.nrows() == 0 {
        return Err(GpError::NoSamples);
    }
    if x.nrows() != y.len() {
        return Err(GpError::ShapeMismatch {
            expected: format!("{} targets", x.nrows()),
            got: format!("{}", y.len()),
        });
    }
    if x.ncols() == 0 {
        return Err(GpError::ShapeMismatch {
            expected: "at least one input column".into(),
            got: "0".into(),
        });
    }
    for (i, row) in x.rows().into_iter().enumerate() {
        if row.iter().any(|v| !v.is_finite()) {
            return Err(GpError::NonFinite {
                what: "input",
                row: i,
            });
        }
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(GpError::NonFinite {
            what: "target",
            row: i,
        });
    }
    Ok(())
}

impl GpValidParams {
    /// Fits on a record matrix and a target vector.
    pub fn fit_xy(&self, x: ArrayView2<f64>, y: ArrayView1<f64>) -> Result<Gp> {
        check_data(x, y)?;
        let d = x.ncols();
        let n = y.len();
        let y_mean = y.mean().unwrap_or(0.0);
        let std = y.std(0.0);
        let y_scale = if std > 1e-12 * y_mean.abs().max(1.0) && std.is_finite() {
            std
        } else {
            1.0
        };
        let n_ls = if self.ard { d } else { 1 };
        let template = match &self.initial {
            Some(h) => {
                if !h.kernel.accepts_dim(d) {
                    return Err(GpError::ShapeMismatch {
                        expected: format!("{d} lengthscales (or 1)"),
                        got: format!("{}", h.kernel.params().len()),
                    });
                }
                h.kernel.clone()
            }
            None => Kernel::new(self.kernel, n_ls, 1.0),
        };
        let s2 = y_scale * y_scale;
        let mut iterations = 0;
        let mut evaluations = 0;
        let mut screening = (0, 0);
        let (kernel, sf2, sn2, mean) = if self.optimize {
            let ys = y.mapv(|v| (v - y_mean) / y_scale);
            let space = Space::new(&template, x, self.noise_floor);
            let first = match &self.initial {
                Some(h) => pack(
                    &h.kernel,
                    h.signal_variance / s2,
                    (h.noise_variance / s2).max(self.noise_floor),
                ),
                None => space.default.clone(),
            };
            let effort = hyper::Effort {
                restarts: if n < 2 { 1 } else { self.restarts },
                seed: self.seed,
                max_iters: self.max_iters,
            };
            let opt = hyper::optimise(x.view(), ys.view(), &template, &space, first, effort)?;
            let (k, a, b) = unpack(&template, opt.theta.as_slice().expect("contiguous"));
            iterations = opt.iterations;
            evaluations = opt.evaluations;
            screening = (opt.screening_iterations, opt.screening_evaluations);
            (k, a, b, y_mean)
        } else {
            let h = self.initial.as_ref().expect("checked by ParamGuard");
            (
                h.kernel.clone(),
                h.signal_variance / s2,
                h.noise_variance / s2,
                h.mean,
            )
        };
        let spare = SpareCores::beside_caller();
        let mut gp = with_spare_cores(&spare, || {
            Gp::assemble(x.to_owned(), y.to_owned(), kernel, sf2, sn2, mean, y_scale)
        })?;
        gp.fit_iterations = iterations;
        gp.fit_evaluations = evaluations;
        gp.fit_screening = screening;
        Ok(gp)
    }
}

impl Gp {
    /// Default parameters (see [`GpParams`]).
    pub fn params() -> GpParams {
        GpParams::default()
    }

    fn assemble(
        x: Array2<f64>,
        y: Array1<f64>,
        kernel: Kernel,
        sf2: f64,
        sn2: f64,
        mean: f64,
        y_scale: f64,
    ) -> Result<Gp> {
        let ys = y.mapv(|v| (v - mean) / y_scale);
        let k = covariance(x.view(), &kernel, sf2, sn2);
        let (chol, jitter) = cholesky_jittered(&k)?;
        let alpha = cho_solve(&chol, ys.view());
        let s2 = y_scale * y_scale;
        Ok(Gp {
            hyper: Hyperparameters {
                kernel: kernel.clone(),
                signal_variance: sf2 * s2,
                noise_variance: sn2 * s2,
                mean,
            },
            kernel,
            sf2,
            sn2,
            y_scale,
            x,
            y,
            ys,
            chol,
            chol_inv: OnceLock::new(),
            alpha,
            jitter,
            fit_iterations: 0,
            fit_evaluations: 0,
            fit_screening: (0, 0),
        })
    }

    /// The hyperparameters in data units: pass them to
    /// [`GpParams::initial_hyperparameters`] for a warm start or a fixed refit.
    pub fn hyperparameters(&self) -> &Hyperparameters {
        &self.hyper
    }

    /// L-BFGS iterations the hyperparameter fit took on all training points, over all starts
    /// (0 when fixed).
    pub fn fit_iterations(&self) -> u64 {
        self.fit_iterations
    }

    /// Likelihood evaluations the hyperparameter fit took on all training points, each
    /// start's first point included (0 when fixed).
    pub fn fit_evaluations(&self) -> u64 {
        self.fit_evaluations
    }

    /// L-BFGS iterations and likelihood evaluations of the hyperparameter fit on its
    /// screening subset, over all starts: on training sets of 600 points or more every start
    /// runs on every fourth point first and only the best continues on all of them
    /// (`(0, 0)` on smaller sets and when fixed).
    pub fn fit_screening(&self) -> (u64, u64) {
        self.fit_screening
    }

    /// Number of training points.
    pub fn n_train(&self) -> usize {
        self.x.nrows()
    }

    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.x.ncols()
    }

    /// Training inputs.
    pub fn x_train(&self) -> ArrayView2<'_, f64> {
        self.x.view()
    }

    /// Training targets.
    pub fn y_train(&self) -> ArrayView1<'_, f64> {
        self.y.view()
    }

    /// Jitter added to the covariance diagonal (standardised units) to factorise it.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Log marginal likelihood of the training targets (data units).
    pub fn log_marginal_likelihood(&self) -> f64 {
        let n = self.ys.len() as f64;
        -0.5 * self.ys.dot(&self.alpha)
            - self.chol.diag().iter().map(|v| v.ln()).sum::<f64>()
            - n * HALF_LN_2PI
            - n * self.y_scale.ln()
    }

    fn check_dim(&self, d: usize) {
        assert_eq!(
            d,
            self.dim(),
            "prediction inputs have {d} columns, the model was fitted on {}",
            self.dim()
        );
    }

    fn mean_block(&self, xt: ArrayView2<f64>) -> Array1<f64> {
        let ks = self.kernel.cross(xt, self.x.view());
        ks.dot(&self.alpha)
            .mapv(|v| self.hyper.mean + self.y_scale * self.sf2 * v)
    }

    /// Mean and variance of a block of points; `inv` is `L⁻¹` when the batch is large.
    fn mean_var_block(
        &self,
        xt: ArrayView2<f64>,
        inv: Option<&Array2<f64>>,
    ) -> (Array1<f64>, Array1<f64>) {
        let mut ks = self.kernel.cross(xt, self.x.view());
        ks.mapv_inplace(|v| v * self.sf2);
        let mean = ks
            .dot(&self.alpha)
            .mapv(|v| self.hyper.mean + self.y_scale * v);
        // Rows of V = K*ᵀ L⁻ᵀ; the variance is the prior minus their squared norms.
        let v = match inv {
            Some(inv) => {
                let mut v = Array2::zeros(ks.raw_dim());
                trmm_right_lower_t(ks.view(), inv.view(), v.view_mut());
                v
            }
            None => {
                trsm_right_lower_t(self.chol.view(), ks.view_mut());
                ks
            }
        };
        let prior = self.kernel.diag(xt);
        let s2 = self.y_scale * self.y_scale;
        let var = v
            .rows()
            .into_iter()
            .zip(prior.iter())
            .map(|(r, &p)| (s2 * (self.sf2 * p - r.dot(&r))).max(0.0))
            .collect();
        (mean, var)
    }

    /// Posterior mean and latent variance (data units) at each row of `x`. Large batches run
    /// on up to two threads; the first batch of at least `n/4` points also forms `L⁻¹` (kept
    /// for later batches), so that the variances run at matrix-multiply speed.
    ///
    /// # Panics
    /// If `x` does not have [`Gp::dim`] columns.
    pub fn predict_mean_variance(&self, x: ArrayView2<f64>) -> (Array1<f64>, Array1<f64>) {
        self.check_dim(x.ncols());
        let m = x.nrows();
        let n = self.n_train();
        let spare = SpareCores::beside_caller();
        with_spare_cores(&spare, || {
            let inv = (self.chol_inv.get().is_some() || 4 * m >= n)
                .then(|| self.chol_inv.get_or_init(|| lower_inverse(&self.chol)));
            if m > CHUNK && m * n > 200_000 {
                let half = (m / 2).next_multiple_of(CHUNK);
                let (a, b) = (blk(x.view(), ..half, ..), blk(x.view(), half.., ..));
                let ((ma, va), (mb, vb)) = join(
                    || self.predict_serial(a, inv),
                    || self.predict_serial(b, inv),
                );
                (
                    concatenate(Axis(0), &[ma.view(), mb.view()]).expect("same shape"),
                    concatenate(Axis(0), &[va.view(), vb.view()]).expect("same shape"),
                )
            } else {
                self.predict_serial(x, inv)
            }
        })
    }

    fn predict_serial(
        &self,
        x: ArrayView2<f64>,
        inv: Option<&Array2<f64>>,
    ) -> (Array1<f64>, Array1<f64>) {
        let m = x.nrows();
        let mut mean = Array1::zeros(m);
        let mut var = Array1::zeros(m);
        for a in (0..m).step_by(CHUNK) {
            let b = (a + CHUNK).min(m);
            let (mm, vv) = self.mean_var_block(blk(x.view(), a..b, ..), inv);
            mean.slice_axis_mut(Axis(0), Slice::from(a..b)).assign(&mm);
            var.slice_axis_mut(Axis(0), Slice::from(a..b)).assign(&vv);
        }
        (mean, var)
    }

    /// Joint posterior covariance of the latent function at the rows of `x` (data units).
    ///
    /// # Panics
    /// If `x` does not have [`Gp::dim`] columns.
    pub fn predict_covariance(&self, x: ArrayView2<f64>) -> Array2<f64> {
        self.check_dim(x.ncols());
        let mut ks = self.kernel.cross(x, self.x.view());
        ks.mapv_inplace(|v| v * self.sf2);
        trsm_right_lower_t(self.chol.view(), ks.view_mut());
        let mut prior = self.kernel.gram(x);
        prior.mapv_inplace(|v| v * self.sf2);
        let s2 = self.y_scale * self.y_scale;
        let mut cov = (prior - ks.dot(&ks.t())).mapv(|v| v * s2);
        crate::kernel::symmetrise(&mut cov);
        cov
    }

    /// Mean, variance and their gradients with respect to the input at one point.
    ///
    /// # Panics
    /// If `x` does not have [`Gp::dim`] entries.
    pub fn predict_gradients(&self, x: ArrayView1<f64>) -> PointPrediction {
        self.check_dim(x.len());
        let xr = x.insert_axis(Axis(0));
        let k = self
            .kernel
            .cross(xr, self.x.view())
            .row(0)
            .mapv(|v| v * self.sf2);
        let dk = self.kernel.grad_x(x, self.x.view()).mapv(|v| v * self.sf2);
        let s = self.y_scale;
        let mean = self.hyper.mean + s * k.dot(&self.alpha);
        let mean_grad = dk.t().dot(&self.alpha).mapv(|v| v * s);
        let w = cho_solve(&self.chol, k.view());
        let prior = self.sf2 * self.kernel.diag(xr)[0];
        let raw_var = s * s * (prior - k.dot(&w));
        let prior_grad = self.kernel.diag_grad_x(x).mapv(|v| v * self.sf2);
        let mut variance_grad = (prior_grad - dk.t().dot(&w).mapv(|v| 2.0 * v)).mapv(|v| v * s * s);
        let variance = if raw_var > 0.0 {
            raw_var
        } else {
            variance_grad.fill(0.0);
            0.0
        };
        PointPrediction {
            mean,
            variance,
            mean_grad,
            variance_grad,
        }
    }

    /// Adds one observation without refitting hyperparameters, extending the Cholesky factor in
    /// O(n²). The mean, scale and hyperparameters stay as they were, so the result equals a
    /// fixed-hyperparameter refit with [`Gp::hyperparameters`]. Falls back to a full jittered
    /// factorisation when the extension is not positive definite (e.g. a duplicate input with
    /// no noise).
    pub fn add_observation(&mut self, x: ArrayView1<f64>, y: f64) -> Result<()> {
        if x.len() != self.dim() {
            return Err(GpError::ShapeMismatch {
                expected: format!("{} inputs", self.dim()),
                got: format!("{}", x.len()),
            });
        }
        let n = self.n_train();
        if x.iter().any(|v| !v.is_finite()) {
            return Err(GpError::NonFinite {
                what: "input",
                row: n,
            });
        }
        if !y.is_finite() {
            return Err(GpError::NonFinite {
                what: "target",
                row: n,
            });
        }
        let xr = x.to_owned().insert_axis(Axis(0));
        let k = self
            .kernel
            .cross(xr.view(), self.x.view())
            .row(0)
            .mapv(|v| v * self.sf2);
        let c = self.sf2 * self.kernel.diag(xr.view())[0] + self.sn2 + self.jitter;
        let new_x = concatenate(Axis(0), &[self.x.view(), xr.view()]).expect("same width");
        let mut new_y = self.y.to_vec();
        new_y.push(y);
        let new_ys = Array1::from_iter(new_y.iter().map(|v| (v - self.hyper.mean) / self.y_scale));
        match cholesky_append(&self.chol, k.view(), c) {
            Ok(l) => self.chol = l,
            Err(_) => {
                let kk = covariance(new_x.view(), &self.kernel, self.sf2, self.sn2);
                let (l, jitter) = cholesky_jittered(&kk)?;
                self.chol = l;
                self.jitter = jitter;
            }
        }
        self.chol_inv = OnceLock::new();
        self.x = new_x;
        self.y = Array1::from(new_y);
        self.alpha = cho_solve(&self.chol, new_ys.view());
        self.ys = new_ys;
        Ok(())
    }
}

impl<D, T> Fit<ArrayBase<D, Ix2>, T, GpError> for GpValidParams
where
    D: Data<Elem = f64>,
    T: AsSingleTargets<Elem = f64>,
{
    type Object = Gp;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<Gp> {
        let targets = dataset.as_single_targets();
        self.fit_xy(dataset.records().view(), targets.view())
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for Gp {
    /// Posterior mean.
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        self.check_dim(x.ncols());
        assert_eq!(x.nrows(), y.len(), "one target per record");
        for a in (0..x.nrows()).step_by(CHUNK) {
            let b = (a + CHUNK).min(x.nrows());
            y.slice_axis_mut(Axis(0), Slice::from(a..b))
                .assign(&self.mean_block(blk(x.view(), a..b, ..)));
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}
