//! Covariance functions and the hyperparameters that go with them.
//!
//! Kernels are a plain enum (static dispatch, serde-friendly). Values here are for unit signal
//! variance; the GP multiplies by the signal variance.
//!
//! Stationary kernels use the ARD distance `r² = Σᵢ ((xᵢ − x'ᵢ)/ℓᵢ)²`; a single lengthscale is
//! shared by every input. Their derivative with respect to `r²` is `−g(r²)/2`, which gives both
//! the lengthscale gradient (`∂k/∂ln ℓᵢ = g sᵢ`, `sᵢ = ((xᵢ − x'ᵢ)/ℓᵢ)²`) and the input gradient.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

const SQRT3: f64 = 1.732_050_807_568_877_2;
const SQRT5: f64 = 2.236_067_977_499_79;

/// The kind of covariance function, without its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum KernelKind {
    /// Matérn ν = 5/2.
    Matern52,
    /// Matérn ν = 3/2.
    Matern32,
    /// Squared exponential (RBF).
    SquaredExponential,
    /// Dot product plus offset, `x·x' + c`: for feature-count vectors such as
    /// Weisfeiler-Lehman histograms.
    Linear,
}

impl KernelKind {
    /// Parses `matern52`, `matern32`, `se`/`rbf`/`squared-exponential` or `linear`.
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "matern52" => Some(Self::Matern52),
            "matern32" => Some(Self::Matern32),
            "se" | "rbf" | "squaredexponential" => Some(Self::SquaredExponential),
            "linear" | "dot" | "dotproduct" => Some(Self::Linear),
            _ => None,
        }
    }
}

/// A covariance function with its own parameters (lengthscales in input units).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Kernel {
    /// Matérn 5/2: `(1 + √5 r + 5r²/3) e^{−√5 r}`.
    Matern52 {
        /// One lengthscale per input (ARD) or a single shared one.
        lengthscales: Vec<f64>,
    },
    /// Matérn 3/2: `(1 + √3 r) e^{−√3 r}`.
    Matern32 {
        /// One lengthscale per input (ARD) or a single shared one.
        lengthscales: Vec<f64>,
    },
    /// Squared exponential: `e^{−r²/2}`.
    SquaredExponential {
        /// One lengthscale per input (ARD) or a single shared one.
        lengthscales: Vec<f64>,
    },
    /// `x·x' + offset`.
    Linear {
        /// The constant added to the dot product (> 0).
        offset: f64,
    },
}

/// The full set of GP hyperparameters, in the units of the data.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "kebab-case", deny_unknown_fields)
)]
pub struct Hyperparameters {
    /// The covariance function and its parameters.
    pub kernel: Kernel,
    /// Signal variance (target units squared).
    pub signal_variance: f64,
    /// Observation noise variance (target units squared).
    pub noise_variance: f64,
    /// The constant prior mean. With hyperparameter optimisation it is the training mean and
    /// the value given here is ignored; with fixed hyperparameters it is used as given.
    pub mean: f64,
}

/// `(k(r²), g(r²))` for a stationary kind with unit variance; `g = −2 ∂k/∂r²`.
#[inline]
fn stationary(kind: KernelKind, r2: f64) -> (f64, f64) {
    match kind {
        KernelKind::SquaredExponential => {
            let e = (-0.5 * r2).exp();
            (e, e)
        }
        KernelKind::Matern52 => {
            let r = r2.sqrt();
            let e = (-SQRT5 * r).exp();
            (
                (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e,
                5.0 / 3.0 * (1.0 + SQRT5 * r) * e,
            )
        }
        KernelKind::Matern32 => {
            let r = r2.sqrt();
            let e = (-SQRT3 * r).exp();
            ((1.0 + SQRT3 * r) * e, 3.0 * e)
        }
        KernelKind::Linear => unreachable!("linear kernel is not stationary"),
    }
}

/// Squared distances between the rows of `a` and `b` (already divided by the lengthscales).
pub(crate) fn sq_dist(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
    let na: Array1<f64> = a.rows().into_iter().map(|r| r.dot(&r)).collect();
    let nb: Array1<f64> = b.rows().into_iter().map(|r| r.dot(&r)).collect();
    let mut d = a.dot(&b.t());
    for (i, mut row) in d.axis_iter_mut(Axis(0)).enumerate() {
        let ni = na[i];
        for (v, nj) in row.iter_mut().zip(nb.iter()) {
            *v = (ni + nj - 2.0 * *v).max(0.0);
        }
    }
    d
}

impl Kernel {
    /// The kind of this kernel.
    pub fn kind(&self) -> KernelKind {
        match self {
            Kernel::Matern52 { .. } => KernelKind::Matern52,
            Kernel::Matern32 { .. } => KernelKind::Matern32,
            Kernel::SquaredExponential { .. } => KernelKind::SquaredExponential,
            Kernel::Linear { .. } => KernelKind::Linear,
        }
    }

    /// A kernel of `kind` with all lengthscales (or the offset) equal to `value`;
    /// `n_lengthscales` is the input dimension for ARD or 1 for a shared lengthscale.
    pub fn new(kind: KernelKind, n_lengthscales: usize, value: f64) -> Kernel {
        let ls = vec![value; n_lengthscales.max(1)];
        match kind {
            KernelKind::Matern52 => Kernel::Matern52 { lengthscales: ls },
            KernelKind::Matern32 => Kernel::Matern32 { lengthscales: ls },
            KernelKind::SquaredExponential => Kernel::SquaredExponential { lengthscales: ls },
            KernelKind::Linear => Kernel::Linear { offset: value },
        }
    }

    /// The lengthscales of a stationary kernel; `None` for the linear kernel.
    pub fn lengthscales(&self) -> Option<&[f64]> {
        match self {
            Kernel::Matern52 { lengthscales }
            | Kernel::Matern32 { lengthscales }
            | Kernel::SquaredExponential { lengthscales } => Some(lengthscales),
            Kernel::Linear { .. } => None,
        }
    }

    /// The kernel's own parameters (lengthscales or offset), as a flat list.
    pub fn params(&self) -> Vec<f64> {
        match self {
            Kernel::Linear { offset } => vec![*offset],
            _ => self.lengthscales().unwrap_or_default().to_vec(),
        }
    }

    /// The same kind with new parameters (same count as [`Kernel::params`]).
    pub fn with_params(&self, p: &[f64]) -> Kernel {
        match self {
            Kernel::Matern52 { .. } => Kernel::Matern52 {
                lengthscales: p.to_vec(),
            },
            Kernel::Matern32 { .. } => Kernel::Matern32 {
                lengthscales: p.to_vec(),
            },
            Kernel::SquaredExponential { .. } => Kernel::SquaredExponential {
                lengthscales: p.to_vec(),
            },
            Kernel::Linear { .. } => Kernel::Linear { offset: p[0] },
        }
    }

    /// Whether the kernel accepts inputs of dimension `d`.
    pub fn accepts_dim(&self, d: usize) -> bool {
        match self.lengthscales() {
            Some(ls) => ls.len() == 1 || ls.len() == d,
            None => true,
        }
    }

    /// Inputs divided by the lengthscales (stationary kernels only).
    pub(crate) fn scale_inputs(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let ls = self.lengthscales().expect("stationary kernel");
        let mut xs = x.to_owned();
        if ls.len() == 1 {
            xs.mapv_inplace(|v| v / ls[0]);
        } else {
            for mut row in xs.rows_mut() {
                for (v, l) in row.iter_mut().zip(ls) {
                    *v /= l;
                }
            }
        }
        xs
    }

    /// Cross-covariance matrix `k(aᵢ, bⱼ)` for unit signal variance.
    pub fn cross(&self, a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        match self {
            Kernel::Linear { offset } => a.dot(&b.t()).mapv(|v| v + offset),
            _ => {
                let kind = self.kind();
                let mut d = sq_dist(self.scale_inputs(a).view(), self.scale_inputs(b).view());
                d.mapv_inplace(|r2| stationary(kind, r2).0);
                d
            }
        }
    }

    /// Gram matrix `k(xᵢ, xⱼ)` for unit signal variance (exactly symmetric).
    pub fn gram(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut k = self.cross(x, x);
        symmetrise(&mut k);
        if self.kind() != KernelKind::Linear {
            k.diag_mut().fill(1.0);
        }
        k
    }

    /// `k(x, x)` for each row, unit signal variance.
    pub fn diag(&self, x: ArrayView2<f64>) -> Array1<f64> {
        match self {
            Kernel::Linear { offset } => x.rows().into_iter().map(|r| r.dot(&r) + offset).collect(),
            _ => Array1::ones(x.nrows()),
        }
    }

    /// Gradient of `k(x, bⱼ)` with respect to `x`, one row per `bⱼ` (unit signal variance).
    pub fn grad_x(&self, x: ArrayView1<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        match self {
            Kernel::Linear { .. } => b.to_owned(),
            _ => {
                let ls = self.lengthscales().expect("stationary");
                let kind = self.kind();
                let d = x.len();
                let inv_l2: Vec<f64> = (0..d)
                    .map(|i| {
                        let l = if ls.len() == 1 { ls[0] } else { ls[i] };
                        1.0 / (l * l)
                    })
                    .collect();
                let mut out = Array2::<f64>::zeros(b.raw_dim());
                for (mut orow, brow) in out.rows_mut().into_iter().zip(b.rows()) {
                    let mut r2 = 0.0;
                    for i in 0..d {
                        let diff = x[i] - brow[i];
                        r2 += diff * diff * inv_l2[i];
                    }
                    let g = stationary(kind, r2).1;
                    for i in 0..d {
                        orow[i] = -g * (x[i] - brow[i]) * inv_l2[i];
                    }
                }
                out
            }
        }
    }

    /// Gradient of `k(x, x)` with respect to `x` (unit signal variance).
    pub fn diag_grad_x(&self, x: ArrayView1<f64>) -> Array1<f64> {
        match self {
            Kernel::Linear { .. } => x.mapv(|v| 2.0 * v),
            _ => Array1::zeros(x.len()),
        }
    }

    /// Gram matrix and, for stationary kernels, `g(r²)` (see the module docs) and the scaled
    /// inputs, for the likelihood gradient.
    pub(crate) fn gram_parts(&self, x: ArrayView2<f64>) -> GramParts {
        match self {
            Kernel::Linear { offset } => {
                let mut k = x.dot(&x.t());
                k.mapv_inplace(|v| v + offset);
                symmetrise(&mut k);
                GramParts {
                    k,
                    g: None,
                    xs: None,
                }
            }
            _ => {
                let kind = self.kind();
                let xs = self.scale_inputs(x);
                let mut r2 = sq_dist(xs.view(), xs.view());
                let n = r2.nrows();
                let mut g = Array2::<f64>::zeros((n, n));
                // Evaluate the lower triangle only (exp is the cost here), then mirror.
                for i in 0..n {
                    for j in 0..i {
                        let (kv, gv) = stationary(kind, r2[[i, j]]);
                        r2[[i, j]] = kv;
                        g[[i, j]] = gv;
                    }
                    let (kv, gv) = stationary(kind, 0.0);
                    r2[[i, i]] = kv;
                    g[[i, i]] = gv;
                }
                symmetrise(&mut r2);
                symmetrise(&mut g);
                GramParts {
                    k: r2,
                    g: Some(g),
                    xs: Some(xs),
                }
            }
        }
    }
}

/// Pieces of the Gram matrix reused by the likelihood gradient.
pub(crate) struct GramParts {
    /// Unit-variance Gram matrix.
    pub k: Array2<f64>,
    /// `g(r²)` for stationary kernels.
    pub g: Option<Array2<f64>>,
    /// Inputs divided by the lengthscales (stationary kernels).
    pub xs: Option<Array2<f64>>,
}

/// Makes a square matrix exactly symmetric by copying its lower triangle upwards.
pub(crate) fn symmetrise(a: &mut Array2<f64>) {
    // Tiled, so that the transposed writes stay in cache.
    const TILE: usize = 32;
    let n = a.nrows();
    for bi in (0..n).step_by(TILE) {
        for bj in (0..=bi).step_by(TILE) {
            for i in bi..(bi + TILE).min(n) {
                for j in bj..(bj + TILE).min(i) {
                    a[[j, i]] = a[[i, j]];
                }
            }
        }
    }
}
