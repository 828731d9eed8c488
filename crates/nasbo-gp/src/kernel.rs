//! Covariance functions and the hyperparameters that go with them.
//!
//! Kernels are a plain enum (static dispatch, serde-friendly). Values here are for unit signal
//! variance; the GP multiplies by the signal variance.
//!
//! Stationary kernels use the ARD distance `r² = Σᵢ ((xᵢ − x'ᵢ)/ℓᵢ)²`; a single lengthscale is
//! shared by every input. Their derivative with respect to `r²` is `−g(r²)/2`, which gives both
//! the lengthscale gradient (`∂k/∂ln ℓᵢ = g sᵢ`, `sᵢ = ((xᵢ − x'ᵢ)/ℓᵢ)²`) and the input gradient.

use crate::parallel::gemm;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis};

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
    /// Interactions of every order for one-hot (0/1) inputs: `Σₖ wₖ C(x·x', k)`, k = 0…6.
    /// On one-hot encodings of categorical decisions `x·x'` counts the decisions two inputs
    /// share and `C(x·x', k)` the k-way combinations of choices they share, so `wₖ` is the
    /// prior variance of k-way interaction effects: the data choose between an additive model
    /// (low orders), a local one (high orders) and anything between.
    Interactions,
}

impl KernelKind {
    /// Parses `matern52`, `matern32`, `se`/`rbf`/`squared-exponential`, `linear` or
    /// `interactions`.
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "matern52" => Some(Self::Matern52),
            "matern32" => Some(Self::Matern32),
            "se" | "rbf" | "squaredexponential" => Some(Self::SquaredExponential),
            "linear" | "dot" | "dotproduct" => Some(Self::Linear),
            "interactions" | "additive" => Some(Self::Interactions),
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
    /// `Σₖ wₖ C(x·x', k)` over orders k = 0…[`Kernel::MAX_ORDER`] (see
    /// [`KernelKind::Interactions`]); positive semi-definite for 0/1 inputs.
    Interactions {
        /// `wₖ > 0`, one per order from 0.
        weights: Vec<f64>,
    },
}

/// `C(m, k)` as the polynomial `m (m − 1) … (m − k + 1) / k!` and its derivative in `m`, for
/// k = 0, 1, 2, …, each from the one before.
#[inline]
pub(crate) fn binomials(m: f64) -> impl Iterator<Item = (f64, f64)> {
    (0..).scan((1.0, 0.0), move |state: &mut (f64, f64), i: usize| {
        let (value, deriv) = *state;
        let factor = (m - i as f64) / (i + 1) as f64;
        *state = (value * factor, deriv * factor + value / (i + 1) as f64);
        Some((value, deriv))
    })
}

/// `Σₖ wₖ C(m, k)` and its derivative in `m`.
#[inline]
fn interactions(weights: &[f64], m: f64) -> (f64, f64) {
    weights
        .iter()
        .zip(binomials(m))
        .fold((0.0, 0.0), |(v, d), (&w, (b, db))| (v + w * b, d + w * db))
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
#[inline(always)]
fn stationary(kind: KernelKind, r2: f64) -> (f64, f64) {
    match kind {
        KernelKind::SquaredExponential => {
            let e = exp_nonpos(-0.5 * r2);
            (e, e)
        }
        KernelKind::Matern52 => {
            let r = r2.sqrt();
            let e = exp_nonpos(-SQRT5 * r);
            (
                (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e,
                5.0 / 3.0 * (1.0 + SQRT5 * r) * e,
            )
        }
        KernelKind::Matern32 => {
            let r = r2.sqrt();
            let e = exp_nonpos(-SQRT3 * r);
            ((1.0 + SQRT3 * r) * e, 3.0 * e)
        }
        KernelKind::Linear | KernelKind::Interactions => {
            unreachable!("dot-product kernels are not stationary")
        }
    }
}

/// `2^(j/32)` for `j = 0…31`, correctly rounded.
const EXP2_32THS: [f64; 32] = [
    f64::from_bits(0x3ff0000000000000),
    f64::from_bits(0x3ff059b0d3158574),
    f64::from_bits(0x3ff0b5586cf9890f),
    f64::from_bits(0x3ff11301d0125b51),
    f64::from_bits(0x3ff172b83c7d517b),
    f64::from_bits(0x3ff1d4873168b9aa),
    f64::from_bits(0x3ff2387a6e756238),
    f64::from_bits(0x3ff29e9df51fdee1),
    f64::from_bits(0x3ff306fe0a31b715),
    f64::from_bits(0x3ff371a7373aa9cb),
    f64::from_bits(0x3ff3dea64c123422),
    f64::from_bits(0x3ff44e086061892d),
    f64::from_bits(0x3ff4bfdad5362a27),
    f64::from_bits(0x3ff5342b569d4f82),
    f64::from_bits(0x3ff5ab07dd485429),
    f64::from_bits(0x3ff6247eb03a5585),
    f64::from_bits(0x3ff6a09e667f3bcd),
    f64::from_bits(0x3ff71f75e8ec5f74),
    f64::from_bits(0x3ff7a11473eb0187),
    f64::from_bits(0x3ff82589994cce13),
    f64::from_bits(0x3ff8ace5422aa0db),
    f64::from_bits(0x3ff93737b0cdc5e5),
    f64::from_bits(0x3ff9c49182a3f090),
    f64::from_bits(0x3ffa5503b23e255d),
    f64::from_bits(0x3ffae89f995ad3ad),
    f64::from_bits(0x3ffb7f76f2fb5e47),
    f64::from_bits(0x3ffc199bdd85529c),
    f64::from_bits(0x3ffcb720dcef9069),
    f64::from_bits(0x3ffd5818dcfba487),
    f64::from_bits(0x3ffdfc97337b9b5f),
    f64::from_bits(0x3ffea4afa2a490da),
    f64::from_bits(0x3fff50765b6e4540),
];

/// `eˣ` for `x ≤ 0`, within a few ulps of the correctly rounded value, without a call into
/// libm, so that loops over kernel values vectorise (all but the table lookup). `x = (32m + j)
/// ln 2 / 32 + r` with `|r| ≤ ln 2 / 64`; `eʳ` from its degree-6 Taylor polynomial (truncation
/// below 10⁻¹⁷), `2^(j/32)` from a table and `2ᵐ` from the exponent bits. Arguments below
/// −708 give `e⁻⁷⁰⁸ ≈ 3·10⁻³⁰⁸` instead of a smaller value.
#[inline(always)]
pub(crate) fn exp_nonpos(x: f64) -> f64 {
    // Adding 1.5·2⁵² rounds to an integer, which then sits in the low mantissa bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    // ln 2 / 32 split so that k · HI is exact (HI's low 21 mantissa bits are zero).
    const HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000) / 32.0;
    const LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76) / 32.0;
    let x = x.clamp(-708.0, 0.0);
    let t = x * (32.0 * std::f64::consts::LOG2_E) + SHIFT;
    let k = t - SHIFT;
    let r = (x - k * HI) - k * LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // k = 32m + j in the low bits of t (two's complement); m ≥ −1022 − 1 here.
    let ki = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    let j = (ki & 31) as usize;
    let m = ki >> 5;
    let scale = f64::from_bits(((m + 1023) as u64) << 52);
    p * EXP2_32THS[j] * scale
}

/// Applies a stationary kind to squared distances in place (`r² → k(r²)`), writing `g(r²)`
/// to `g` when given. One branch-free loop per kind, so that it vectorises.
pub(crate) fn stationary_slice(kind: KernelKind, k: &mut [f64], g: Option<&mut [f64]>) {
    macro_rules! apply {
        ($kind:expr) => {
            match g {
                Some(g) => {
                    for (kv, gv) in k.iter_mut().zip(g.iter_mut()) {
                        let (a, b) = stationary($kind, *kv);
                        *kv = a;
                        *gv = b;
                    }
                }
                None => {
                    for kv in k.iter_mut() {
                        *kv = stationary($kind, *kv).0;
                    }
                }
            }
        };
    }
    match kind {
        KernelKind::Matern52 => apply!(KernelKind::Matern52),
        KernelKind::Matern32 => apply!(KernelKind::Matern32),
        KernelKind::SquaredExponential => apply!(KernelKind::SquaredExponential),
        KernelKind::Linear | KernelKind::Interactions => {
            unreachable!("dot-product kernels are not stationary")
        }
    }
}

/// Squared distances between the rows of `a` and `b` (already divided by the lengthscales).
pub(crate) fn sq_dist(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
    let mut d = Array2::<f64>::zeros((a.nrows(), b.nrows()));
    sq_dist_into(a, b, d.view_mut());
    d
}

/// [`sq_dist`] into `out`: `|a|² + |b|² − 2 a·b` with the cross term from one matrix multiply,
/// clamped at zero against cancellation.
pub(crate) fn sq_dist_into(a: ArrayView2<f64>, b: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
    let na: Vec<f64> = a.rows().into_iter().map(|r| r.dot(&r)).collect();
    let nb: Vec<f64> = b.rows().into_iter().map(|r| r.dot(&r)).collect();
    gemm(-2.0, &a, &b.t(), 0.0, &mut out);
    for (mut row, &ni) in out.axis_iter_mut(Axis(0)).zip(&na) {
        for (v, &nj) in row.iter_mut().zip(&nb) {
            *v = (ni + nj + *v).max(0.0);
        }
    }
}

impl Kernel {
    /// The kind of this kernel.
    pub fn kind(&self) -> KernelKind {
        match self {
            Kernel::Matern52 { .. } => KernelKind::Matern52,
            Kernel::Matern32 { .. } => KernelKind::Matern32,
            Kernel::SquaredExponential { .. } => KernelKind::SquaredExponential,
            Kernel::Linear { .. } => KernelKind::Linear,
            Kernel::Interactions { .. } => KernelKind::Interactions,
        }
    }

    /// The highest interaction order of [`Kernel::Interactions`].
    pub const MAX_ORDER: usize = 6;

    /// A kernel of `kind` with all lengthscales (or the offset) equal to `value`;
    /// `n_lengthscales` is the input dimension for ARD or 1 for a shared lengthscale.
    pub fn new(kind: KernelKind, n_lengthscales: usize, value: f64) -> Kernel {
        let ls = vec![value; n_lengthscales.max(1)];
        match kind {
            KernelKind::Matern52 => Kernel::Matern52 { lengthscales: ls },
            KernelKind::Matern32 => Kernel::Matern32 { lengthscales: ls },
            KernelKind::SquaredExponential => Kernel::SquaredExponential { lengthscales: ls },
            KernelKind::Linear => Kernel::Linear { offset: value },
            KernelKind::Interactions => Kernel::Interactions {
                weights: vec![value; Self::MAX_ORDER + 1],
            },
        }
    }

    /// The lengthscales of a stationary kernel; `None` for the dot-product kernels.
    pub fn lengthscales(&self) -> Option<&[f64]> {
        match self {
            Kernel::Matern52 { lengthscales }
            | Kernel::Matern32 { lengthscales }
            | Kernel::SquaredExponential { lengthscales } => Some(lengthscales),
            Kernel::Linear { .. } | Kernel::Interactions { .. } => None,
        }
    }

    /// The kernel's own parameters (lengthscales, offset or weights), as a flat list.
    pub fn params(&self) -> Vec<f64> {
        match self {
            Kernel::Linear { offset } => vec![*offset],
            Kernel::Interactions { weights } => weights.clone(),
            _ => self.lengthscales().unwrap_or_default().to_vec(),
        }
    }

    /// Whether this is a stationary kernel (a function of `x − x'`).
    pub fn is_stationary(&self) -> bool {
        self.lengthscales().is_some()
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
            Kernel::Interactions { .. } => Kernel::Interactions {
                weights: p.to_vec(),
            },
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
            Kernel::Interactions { weights } => a.dot(&b.t()).mapv(|m| interactions(weights, m).0),
            _ => {
                let mut d = sq_dist(self.scale_inputs(a).view(), self.scale_inputs(b).view());
                let values = d.as_slice_mut().expect("standard layout");
                stationary_slice(self.kind(), values, None);
                d
            }
        }
    }

    /// Gram matrix `k(xᵢ, xⱼ)` for unit signal variance (exactly symmetric).
    pub fn gram(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut k = self.cross(x, x);
        symmetrise(&mut k);
        if self.is_stationary() {
            k.diag_mut().fill(1.0);
        }
        k
    }

    /// `k(x, x)` for each row, unit signal variance.
    pub fn diag(&self, x: ArrayView2<f64>) -> Array1<f64> {
        match self {
            Kernel::Linear { offset } => x.rows().into_iter().map(|r| r.dot(&r) + offset).collect(),
            Kernel::Interactions { weights } => x
                .rows()
                .into_iter()
                .map(|r| interactions(weights, r.dot(&r)).0)
                .collect(),
            _ => Array1::ones(x.nrows()),
        }
    }

    /// Gradient of `k(x, bⱼ)` with respect to `x`, one row per `bⱼ` (unit signal variance).
    pub fn grad_x(&self, x: ArrayView1<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        match self {
            Kernel::Linear { .. } => b.to_owned(),
            Kernel::Interactions { weights } => {
                let mut out = b.to_owned();
                for mut row in out.rows_mut() {
                    let slope = interactions(weights, x.dot(&row)).1;
                    row.mapv_inplace(|v| v * slope);
                }
                out
            }
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
            Kernel::Interactions { weights } => {
                let slope = interactions(weights, x.dot(&x)).1;
                x.mapv(|v| 2.0 * slope * v)
            }
            _ => Array1::zeros(x.len()),
        }
    }

    /// The lower triangle (diagonal included) of the unit-variance Gram matrix into `k` and, for
    /// stationary kernels, of `g(r²)` (see the module docs) into `g`, for the likelihood and its
    /// gradient; returns the scaled inputs of a stationary kernel. Both buffers are `n × n` in
    /// standard layout; what lies above their diagonals is garbage.
    pub(crate) fn gram_lower_into(
        &self,
        x: ArrayView2<f64>,
        k: &mut Array2<f64>,
        g: &mut Array2<f64>,
    ) -> Option<Array2<f64>> {
        let n = x.nrows();
        match self {
            Kernel::Linear { offset } => {
                gemm(1.0, &x, &x.t(), 0.0, &mut k.view_mut());
                k.mapv_inplace(|v| v + offset);
                None
            }
            Kernel::Interactions { weights } => {
                // The dot products go to `g`, which the likelihood gradient reads back.
                gemm(1.0, &x, &x.t(), 0.0, &mut g.view_mut());
                let dots = g.as_slice().expect("standard layout");
                let rows = k
                    .as_slice_mut()
                    .expect("standard layout")
                    .chunks_exact_mut(n);
                for (i, krow) in rows.enumerate() {
                    for (kv, &m) in krow[..=i].iter_mut().zip(&dots[i * n..]) {
                        *kv = interactions(weights, m).0;
                    }
                }
                None
            }
            _ => {
                let kind = self.kind();
                let xs = self.scale_inputs(x);
                sq_dist_into(xs.view(), xs.view(), k.view_mut());
                let (k0, g0) = stationary(kind, 0.0);
                let rows = k
                    .as_slice_mut()
                    .expect("standard layout")
                    .chunks_exact_mut(n);
                let g_rows = g
                    .as_slice_mut()
                    .expect("standard layout")
                    .chunks_exact_mut(n);
                for (i, (krow, grow)) in rows.zip(g_rows).enumerate() {
                    // Only the strict lower triangle: exp is the cost here.
                    stationary_slice(kind, &mut krow[..i], Some(&mut grow[..i]));
                    krow[i] = k0;
                    grow[i] = g0;
                }
                Some(xs)
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_nonpos_is_accurate_to_a_few_ulps() {
        let mut worst = 0.0f64;
        for i in 0..200_000 {
            let x = -(i as f64) * 3.54e-3 - (i % 7) as f64 * 1e-9;
            let exact = x.exp();
            let rel = (exp_nonpos(x) - exact).abs() / exact;
            worst = worst.max(rel);
        }
        assert!(worst < 1e-15, "worst relative error {worst}");
        assert_eq!(exp_nonpos(0.0), 1.0);
        assert!(exp_nonpos(-800.0) < 1e-300);
    }
}

#[cfg(test)]
mod interaction_tests {
    use super::*;
    use crate::hyper::assert_lml_gradient;
    use ndarray::array;

    /// One-hot rows of `choices` over decisions of 3 choices each.
    fn one_hot(choices: &[Vec<usize>]) -> Array2<f64> {
        let d = choices[0].len();
        Array2::from_shape_fn((choices.len(), 3 * d), |(i, j)| {
            f64::from(u8::from(choices[i][j / 3] == j % 3))
        })
    }

    fn rows() -> Vec<Vec<usize>> {
        (0..20)
            .map(|i: usize| (0..4).map(|j| (i * (j + 2) + i / 3 + j) % 3).collect())
            .collect()
    }

    #[test]
    fn counts_shared_combinations_of_choices_by_order() {
        // k = Σ_k w_k · #{k-subsets of decisions on which both rows agree}, by brute force.
        let weights = vec![0.5, 1.0, 0.25, 2.0, 0.125, 0.0, 0.0];
        let kernel = Kernel::Interactions {
            weights: weights.clone(),
        };
        let r = rows();
        let x = one_hot(&r);
        let k = kernel.gram(x.view());
        for a in 0..r.len() {
            for b in 0..r.len() {
                let mut expected = 0.0;
                for subset in 0u32..16 {
                    let agree = (0..4)
                        .filter(|j| subset & (1 << j) != 0)
                        .all(|j| r[a][j] == r[b][j]);
                    if agree {
                        expected += weights[subset.count_ones() as usize];
                    }
                }
                assert!((k[[a, b]] - expected).abs() < 1e-12, "{a} {b}");
            }
        }
        assert_eq!(kernel.diag(x.view()), k.diag());
    }

    #[test]
    fn likelihood_and_input_gradients_match_finite_differences() {
        let x = one_hot(&rows());
        let y = Array1::from_iter((0..x.nrows()).map(|i| ((i * 7 % 5) as f64 - 2.0) / 1.5));
        let kernel = Kernel::Interactions {
            weights: vec![0.3, 0.2, 0.1, 0.05, 0.4, 0.7, 0.9],
        };
        assert_lml_gradient(x.view(), y.view(), &kernel, 1.1, 0.08);
        // ∂k(x, b)/∂x and ∂k(x, x)/∂x at a fractional point.
        let p = array![0.2, 0.9, 0.1, 0.7, 0.3, 0.0, 0.5, 0.5, 0.5, 1.0, 0.0, 0.2];
        let analytic = kernel.grad_x(p.view(), x.view());
        let diag = kernel.diag_grad_x(p.view());
        for i in 0..p.len() {
            let h = 1e-6;
            let mut pp = p.clone();
            pp[i] += h;
            let mut pm = p.clone();
            pm[i] -= h;
            let row = |q: &Array1<f64>| kernel.cross(q.view().insert_axis(Axis(0)), x.view());
            let fd = (row(&pp) - row(&pm)) / (2.0 * h);
            for j in 0..x.nrows() {
                assert!(
                    (fd[[0, j]] - analytic[[j, i]]).abs() < 1e-6,
                    "input {i} row {j}"
                );
            }
            let d = |q: &Array1<f64>| kernel.diag(q.view().insert_axis(Axis(0)))[0];
            let fd = (d(&pp) - d(&pm)) / (2.0 * h);
            assert!((fd - diag[i]).abs() < 1e-6, "diag input {i}");
        }
    }
}
