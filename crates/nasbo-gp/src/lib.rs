//! Exact Gaussian-process regression with expected-improvement-family acquisitions.
//!
//! The model follows linfa's vocabulary: [`GpParams`] (an unchecked builder) is checked into
//! [`GpValidParams`] through [`linfa::ParamGuard`], fitted with [`linfa::traits::Fit`] on a
//! [`linfa::Dataset`] and gives a [`Gp`]. The mean comes through [`linfa::traits::Predict`];
//! variance, joint covariance and input gradients are inherent methods of [`Gp`].
//!
//! ```
//! use linfa::prelude::*;
//! use nasbo_gp::{Gp, KernelKind};
//! use ndarray::{array, Array1};
//!
//! let x = array![[0.0], [0.25], [0.5], [0.75], [1.0]];
//! let y: Array1<f64> = x.column(0).mapv(|v: f64| (6.0 * v).sin());
//! let gp = Gp::params()
//!     .kernel(KernelKind::Matern52)
//!     .restarts(3)
//!     .seed(7)
//!     .fit(&Dataset::new(x.clone(), y.clone()))
//!     .unwrap();
//! let mean = gp.predict(&x);
//! assert!((&mean - &y).mapv(f64::abs).iter().all(|&e| e < 0.05));
//! let (_, var) = gp.predict_mean_variance(array![[0.6]].view());
//! assert!(var[0] >= 0.0);
//! ```
//!
//! Two lower-level modules are public API too, for callers that build their own acquisitions
//! or factorisations: [`special`] (the error function family, the standard normal and the
//! unit expected improvement with its logarithm) and [`linalg`] (Cholesky factorisation,
//! triangular solves and inverses on the lower triangle).
#![warn(missing_docs)]

pub mod acquisition;
pub mod bo;
mod error;
mod gp;
mod hyper;
pub mod kernel;
pub mod linalg;
mod parallel;
mod params;
pub mod special;

pub use acquisition::Direction;
pub use error::{GpError, GpParamsError, Result};
pub use gp::{Gp, PointPrediction};
pub use kernel::{Hyperparameters, Kernel, KernelKind};
pub use params::{GpParams, GpValidParams};

/// The README's example, run as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
