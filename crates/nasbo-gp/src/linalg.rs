//! Dense linear algebra for the GP: a recursive, blocked Cholesky factorisation, triangular
//! solves and inverses, all built on ndarray's matrix multiply for the bulk of the work.
//!
//! Every routine works on the lower triangle; strict upper triangles of results are zero.

use crate::error::{GpError, Result};
use crate::kernel::symmetrise;
use crate::parallel::{gemm, join};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, Slice};

/// A rectangular block of a matrix view (rows `r`, columns `c`).
pub(crate) fn blk<'a>(
    a: ArrayView2<'a, f64>,
    r: impl Into<Slice>,
    c: impl Into<Slice>,
) -> ArrayView2<'a, f64> {
    a.slice_axis_move(Axis(0), r.into())
        .slice_axis_move(Axis(1), c.into())
}

/// A mutable rectangular block of a matrix view.
pub(crate) fn blk_mut<'a>(
    a: ArrayViewMut2<'a, f64>,
    r: impl Into<Slice>,
    c: impl Into<Slice>,
) -> ArrayViewMut2<'a, f64> {
    a.slice_axis_move(Axis(0), r.into())
        .slice_axis_move(Axis(1), c.into())
}

/// Side of the blocks handled by scalar kernels; larger problems recurse onto matrix multiplies.
const NB: usize = 48;
/// Base block of the triangular solve: narrower, so that more of it runs as matrix multiply.
const NB_TRSM: usize = 32;

/// Dot product of two equal-length slices with four accumulators.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let ca = a.chunks_exact(4);
    let cb = b.chunks_exact(4);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

/// Split point of a recursion on `n` rows, rounded to a multiple of the block size.
fn split(n: usize) -> usize {
    let half = n / 2;
    let rounded = half.div_ceil(NB) * NB;
    if rounded > 0 && rounded < n {
        rounded
    } else {
        half
    }
}

/// Unblocked Cholesky of a small dense row-major `n × n` buffer; `Err(j)` at a bad pivot.
fn chol_small(a: &mut [f64], n: usize) -> std::result::Result<(), usize> {
    for j in 0..n {
        let d = a[j * n + j] - dot(&a[j * n..j * n + j], &a[j * n..j * n + j]);
        if !(d > 0.0 && d.is_finite()) {
            return Err(j);
        }
        let ljj = d.sqrt();
        a[j * n + j] = ljj;
        for i in j + 1..n {
            let s = dot(&a[i * n..i * n + j], &a[j * n..j * n + j]);
            a[i * n + j] = (a[i * n + j] - s) / ljj;
        }
    }
    Ok(())
}

fn chol_rec(mut a: ArrayViewMut2<f64>, offset: usize) -> std::result::Result<(), usize> {
    let n = a.nrows();
    if n <= NB {
        let mut buf: Vec<f64> = a.iter().copied().collect();
        chol_small(&mut buf, n).map_err(|j| j + offset)?;
        for i in 0..n {
            for j in 0..=i {
                a[[i, j]] = buf[i * n + j];
            }
        }
        return Ok(());
    }
    let n1 = split(n);
    let (mut top, bottom) = a.view_mut().split_at(Axis(0), n1);
    let (mut a11, _) = top.view_mut().split_at(Axis(1), n1);
    chol_rec(a11.view_mut(), offset)?;
    let (mut a21, mut a22) = bottom.split_at(Axis(1), n1);
    trsm_right_lower_t(a11.view(), a21.view_mut());
    syrk_lower(-1.0, a21.view(), a22.view_mut());
    chol_rec(a22, offset + n1)
}

/// `C += α A Aᵀ` on the lower triangle of `C` (the upper triangle of small diagonal blocks is
/// overwritten too and must be ignored by the caller).
fn syrk_lower(alpha: f64, a: ArrayView2<f64>, mut c: ArrayViewMut2<f64>) {
    let m = c.nrows();
    if m <= 2 * NB {
        gemm(alpha, &a, &a.t(), 1.0, &mut c);
        return;
    }
    let m1 = split(m);
    let (a1, a2) = a.split_at(Axis(0), m1);
    let (mut ctop, cbot) = c.view_mut().split_at(Axis(0), m1);
    let (c11, _) = ctop.view_mut().split_at(Axis(1), m1);
    let (mut c21, c22) = cbot.split_at(Axis(1), m1);
    syrk_lower(alpha, a1, c11);
    gemm(alpha, &a2, &a1.t(), 1.0, &mut c21);
    syrk_lower(alpha, a2, c22);
}

/// Solves `X Lᵀ = B` in place (`B ← B L⁻ᵀ`), with `L` lower triangular `m × m`, `B` `p × m`.
pub fn trsm_right_lower_t(l: ArrayView2<f64>, mut b: ArrayViewMut2<f64>) {
    let m = l.nrows();
    if m <= NB_TRSM {
        // Forward substitution on a transposed copy of a chunk of rows, one column at a time,
        // so that the inner loops run along contiguous rows of the copy.
        let lv: Vec<f64> = l.iter().copied().collect();
        let p = b.nrows();
        let width = TRMM_CHUNK.min(p);
        let mut bt = vec![0.0; m * width];
        for a in (0..p).step_by(width) {
            let rows = blk_mut(b.view_mut(), a..(a + width).min(p), ..);
            let w = rows.nrows();
            for (r, row) in rows.rows().into_iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    bt[j * width + r] = *v;
                }
            }
            for j in 0..m {
                let (done, rest) = bt.split_at_mut(j * width);
                let xj = &mut rest[..w];
                for i in 0..j {
                    let lji = lv[j * m + i];
                    for (x, xi) in xj.iter_mut().zip(&done[i * width..i * width + w]) {
                        *x -= lji * xi;
                    }
                }
                let ljj = lv[j * m + j];
                for x in xj.iter_mut() {
                    *x /= ljj;
                }
            }
            let mut rows = blk_mut(b.view_mut(), a..a + w, ..);
            for (r, mut row) in rows.rows_mut().into_iter().enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = bt[j * width + r];
                }
            }
        }
        return;
    }
    let m1 = (m / 2).div_ceil(NB_TRSM) * NB_TRSM;
    let l1 = blk(l.view(), ..m1, ..m1);
    let l2 = blk(l.view(), m1.., ..m1);
    let l3 = blk(l.view(), m1.., m1..);
    let (mut b1, mut b2) = b.view_mut().split_at(Axis(1), m1);
    trsm_right_lower_t(l1, b1.view_mut());
    gemm(-1.0, &b1, &l2.t(), 1.0, &mut b2);
    trsm_right_lower_t(l3, b2);
}

/// Cholesky factorisation in place: on success the lower triangle of `a` holds `L` with
/// `L Lᵀ = a` and the strict upper triangle is zero. Only the lower triangle of `a` is read.
///
/// Returns `Err(j)` with the first non-positive pivot `j`; `a` is then garbage.
///
/// ```
/// use ndarray::array;
/// let mut a = array![[4.0, 2.0], [2.0, 3.0]];
/// nasbo_gp::linalg::cholesky_in_place(&mut a).unwrap();
/// assert!((a[[0, 0]] - 2.0).abs() < 1e-12 && (a[[1, 0]] - 1.0).abs() < 1e-12);
/// assert_eq!(a[[0, 1]], 0.0);
/// ```
pub fn cholesky_in_place(a: &mut Array2<f64>) -> std::result::Result<(), usize> {
    assert_eq!(a.nrows(), a.ncols(), "Cholesky needs a square matrix");
    if !a.is_standard_layout() {
        *a = a.as_standard_layout().into_owned();
    }
    chol_rec(a.view_mut(), 0)?;
    let n = a.nrows();
    for i in 0..n {
        a.row_mut(i)
            .slice_axis_mut(Axis(0), Slice::from(i + 1..))
            .fill(0.0);
    }
    Ok(())
}

/// The largest relative jitter tried by [`cholesky_jittered`].
pub const MAX_RELATIVE_JITTER: f64 = 1e-3;

/// Cholesky factor of a symmetric matrix, adding `jitter · I` when needed: first none, then
/// `1e-10`, `1e-9`, … up to [`MAX_RELATIVE_JITTER`] times the mean diagonal. Returns the factor
/// and the jitter used; a typed error only when even the largest jitter fails.
pub fn cholesky_jittered(a: &Array2<f64>) -> Result<(Array2<f64>, f64)> {
    let mut l = Array2::<f64>::zeros(a.raw_dim());
    let jitter = cholesky_jittered_into(&mut l, |l, jitter| {
        l.assign(a);
        if jitter > 0.0 {
            l.diag_mut().mapv_inplace(|v| v + jitter);
        }
    })?;
    Ok((l, jitter))
}

/// [`cholesky_jittered`] into a caller's square, standard-layout buffer: `fill(l, jitter)` writes
/// (at least the lower triangle of) the matrix plus `jitter · I` into `l`, once per attempt.
/// The first attempt, without jitter, also sets the jitter's scale (the mean diagonal).
pub(crate) fn cholesky_jittered_into(
    l: &mut Array2<f64>,
    fill: impl Fn(&mut Array2<f64>, f64),
) -> Result<f64> {
    let n = l.nrows();
    fill(l, 0.0);
    let mean_diag = if n == 0 {
        1.0
    } else {
        l.diag().iter().map(|v| v.abs()).sum::<f64>() / n as f64
    };
    let scale = if mean_diag > 0.0 && mean_diag.is_finite() {
        mean_diag
    } else {
        1.0
    };
    let mut rel = 0.0;
    loop {
        let last_pivot = match cholesky_in_place(l) {
            Ok(()) => return Ok(rel * scale),
            Err(p) => p,
        };
        rel = if rel == 0.0 { 1e-10 } else { rel * 10.0 };
        if rel > MAX_RELATIVE_JITTER * 1.0001 {
            return Err(GpError::NotPositiveDefinite {
                pivot: last_pivot,
                jitter: MAX_RELATIVE_JITTER * scale,
            });
        }
        fill(l, rel * scale);
    }
}

/// Solves `L x = b` for lower-triangular `L` (standard layout) by forward substitution.
pub fn solve_lower(l: &Array2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    let n = l.nrows();
    let ls = l.as_slice().expect("standard layout factor");
    let mut x = b.to_owned();
    let xs = x.as_slice_mut().expect("contiguous");
    for i in 0..n {
        let s = dot(&ls[i * n..i * n + i], &xs[..i]);
        xs[i] = (xs[i] - s) / ls[i * n + i];
    }
    x
}

/// Solves `Lᵀ x = b` for lower-triangular `L` (standard layout) by back substitution.
pub fn solve_lower_t(l: &Array2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    let n = l.nrows();
    let ls = l.as_slice().expect("standard layout factor");
    let mut x = b.to_owned();
    let xs = x.as_slice_mut().expect("contiguous");
    for i in (0..n).rev() {
        let xi = xs[i] / ls[i * n + i];
        xs[i] = xi;
        for (xk, lk) in xs[..i].iter_mut().zip(&ls[i * n..i * n + i]) {
            *xk -= xi * lk;
        }
    }
    x
}

/// Solves `(L Lᵀ) x = b`.
pub fn cho_solve(l: &Array2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    let z = solve_lower(l, b);
    solve_lower_t(l, z.view())
}

/// Inverts a lower-triangular matrix in place (the strict upper triangle must be zero and
/// stays zero).
fn tri_inv_in_place(mut l: ArrayViewMut2<f64>) {
    let n = l.nrows();
    if n <= NB {
        let lv: Vec<f64> = l.iter().copied().collect();
        // Column j of the inverse solves L x = e_j; x is zero above j.
        let mut x = vec![0.0; n];
        for j in 0..n {
            x[j] = 1.0 / lv[j * n + j];
            for i in j + 1..n {
                let s = dot(&lv[i * n + j..i * n + i], &x[j..i]);
                x[i] = -s / lv[i * n + i];
            }
            for i in j..n {
                l[[i, j]] = x[i];
            }
        }
        return;
    }
    let n1 = split(n);
    let (top, bottom) = l.split_at(Axis(0), n1);
    let (mut a, _) = top.split_at(Axis(1), n1);
    let (mut b, mut c) = bottom.split_at(Axis(1), n1);
    join(
        || tri_inv_in_place(a.view_mut()),
        || tri_inv_in_place(c.view_mut()),
    );
    // The off-diagonal block of the inverse is −C⁻¹ B A⁻¹.
    trmm_right_lower_in_place(a.view(), b.view_mut());
    trmm_left_lower_in_place(-1.0, c.view(), b);
}

/// Rows (or columns) per chunk of the base cases of the in-place triangular multiplies, so that
/// their scratch copy stays small.
const TRMM_CHUNK: usize = 128;

/// `B ← B T` in place, with `T` lower triangular (strict upper triangle zero).
fn trmm_right_lower_in_place(t: ArrayView2<f64>, mut b: ArrayViewMut2<f64>) {
    let m = t.nrows();
    if m <= 2 * NB {
        let p = b.nrows();
        for a in (0..p).step_by(TRMM_CHUNK) {
            let mut rows = blk_mut(b.view_mut(), a..(a + TRMM_CHUNK).min(p), ..);
            let copy = rows.to_owned();
            gemm(1.0, &copy, &t, 0.0, &mut rows);
        }
        return;
    }
    let m1 = split(m);
    let (mut b1, mut b2) = b.split_at(Axis(1), m1);
    // B T = [B₁T₁₁ + B₂T₂₁, B₂T₂₂]: B₁ first, while B₂ is still unchanged.
    trmm_right_lower_in_place(blk(t, ..m1, ..m1), b1.view_mut());
    gemm(1.0, &b2, &blk(t, m1.., ..m1), 1.0, &mut b1);
    trmm_right_lower_in_place(blk(t, m1.., m1..), b2.view_mut());
}

/// `Y ← α T Y` in place, with `T` lower triangular (strict upper triangle zero).
fn trmm_left_lower_in_place(alpha: f64, t: ArrayView2<f64>, mut y: ArrayViewMut2<f64>) {
    let m = t.nrows();
    if m <= 2 * NB {
        let p = y.ncols();
        for a in (0..p).step_by(TRMM_CHUNK) {
            let mut cols = blk_mut(y.view_mut(), .., a..(a + TRMM_CHUNK).min(p));
            let copy = cols.to_owned();
            gemm(alpha, &t, &copy, 0.0, &mut cols);
        }
        return;
    }
    let m1 = split(m);
    let (mut y1, mut y2) = y.split_at(Axis(0), m1);
    // T Y = [T₁₁Y₁; T₂₁Y₁ + T₂₂Y₂]: Y₂ first, while Y₁ is still unchanged.
    trmm_left_lower_in_place(alpha, blk(t, m1.., m1..), y2.view_mut());
    gemm(alpha, &blk(t, m1.., ..m1), &y1, 1.0, &mut y2);
    trmm_left_lower_in_place(alpha, blk(t, ..m1, ..m1), y1.view_mut());
}

/// Output columns per matrix multiply of [`trmm_right_lower_t`].
const TRMM_PANEL: usize = 128;

/// `out = X Tᵀ` with `T` lower triangular (strict upper triangle zero): for `T = L⁻¹`, the
/// rows of `out` are `L⁻¹ xᵢ`, a triangular solve done as matrix multiplies. One multiply per
/// panel of output columns, each with the full inner dimension it needs (the zeros of the
/// panel's diagonal block cost `TRMM_PANEL / (2m)` of extra work).
pub(crate) fn trmm_right_lower_t(
    x: ArrayView2<f64>,
    t: ArrayView2<f64>,
    mut out: ArrayViewMut2<f64>,
) {
    let m = t.nrows();
    for j0 in (0..m).step_by(TRMM_PANEL) {
        let j1 = (j0 + TRMM_PANEL).min(m);
        let mut panel = blk_mut(out.view_mut(), .., j0..j1);
        gemm(
            1.0,
            &blk(x, .., ..j1),
            &blk(t, j0..j1, ..j1).t(),
            0.0,
            &mut panel,
        );
    }
}

/// `out = Tᵀ Y` with `T` lower triangular (strict upper triangle zero).
fn trmm_left_lower_t(t: ArrayView2<f64>, y: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
    let m = t.nrows();
    if m <= 2 * NB {
        gemm(1.0, &t.t(), &y, 0.0, &mut out);
        return;
    }
    let m1 = split(m);
    let (y1, y2) = y.split_at(Axis(0), m1);
    let (mut o1, o2) = out.split_at(Axis(0), m1);
    // Tᵀ Y = [T₁₁ᵀY₁ + T₂₁ᵀY₂; T₂₂ᵀY₂].
    trmm_left_lower_t(blk(t, ..m1, ..m1), y1, o1.view_mut());
    gemm(1.0, &blk(t, m1.., ..m1).t(), &y2, 1.0, &mut o1);
    trmm_left_lower_t(blk(t, m1.., m1..), y2, o2);
}

/// Inverse of a lower-triangular matrix (lower triangular again).
pub fn lower_inverse(l: &Array2<f64>) -> Array2<f64> {
    let mut out = l.as_standard_layout().into_owned();
    let n = out.nrows();
    for i in 0..n {
        out.row_mut(i)
            .slice_axis_mut(Axis(0), Slice::from(i + 1..))
            .fill(0.0);
    }
    tri_inv_in_place(out.view_mut());
    out
}

/// The lower triangle of `Xᵀ X` for lower-triangular `X`, using the zero blocks and the
/// symmetry (what lands above the diagonal is garbage).
fn lauum_rec(x: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
    let n = x.nrows();
    if n <= 2 * NB {
        gemm(1.0, &x.t(), &x, 0.0, &mut out);
        return;
    }
    let n1 = split(n);
    let a = blk(x.view(), ..n1, ..n1);
    let b = blk(x.view(), n1.., ..n1);
    let c = blk(x.view(), n1.., n1..);
    {
        let mut o11 = blk_mut(out.view_mut(), ..n1, ..n1);
        lauum_rec(a, o11.view_mut());
        syrk_lower(1.0, b.t(), o11);
    }
    // The off-diagonal block Cᵀ B (lower left), a triangular multiply.
    trmm_left_lower_t(c, b, blk_mut(out.view_mut(), n1.., ..n1));
    lauum_rec(c, blk_mut(out.view_mut(), n1.., n1..));
}

/// `(L Lᵀ)⁻¹` from the Cholesky factor `L`.
pub fn cho_inverse(l: &Array2<f64>) -> Array2<f64> {
    let linv = lower_inverse(l);
    let mut out = Array2::<f64>::zeros(l.raw_dim());
    lauum_rec(linv.view(), out.view_mut());
    symmetrise(&mut out);
    out
}

/// The lower triangle of `(L Lᵀ)⁻¹` into `out`, overwriting the factor `l` (lower triangular,
/// zero above the diagonal) with its inverse on the way. `out`'s upper triangle is garbage.
pub(crate) fn cho_inverse_lower_in_place(l: &mut Array2<f64>, out: &mut Array2<f64>) {
    tri_inv_in_place(l.view_mut());
    lauum_rec(l.view(), out.view_mut());
}

/// Extends the Cholesky factor `L` of `K` to that of `[[K, k], [kᵀ, c]]` in O(n²).
pub fn cholesky_append(l: &Array2<f64>, k: ArrayView1<f64>, c: f64) -> Result<Array2<f64>> {
    let n = l.nrows();
    let row = solve_lower(l, k);
    let d = c - row.dot(&row);
    if !(d > 0.0 && d.is_finite()) {
        return Err(GpError::NotPositiveDefinite {
            pivot: n,
            jitter: 0.0,
        });
    }
    let mut out = Array2::<f64>::zeros((n + 1, n + 1));
    blk_mut(out.view_mut(), ..n, ..n).assign(l);
    out.row_mut(n)
        .slice_axis_mut(Axis(0), Slice::from(..n))
        .assign(&row);
    out[[n, n]] = d.sqrt();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa_linalg::cholesky::Cholesky;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn spd(n: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let b = Array2::from_shape_fn((n, n + 3), |_| rng.gen_range(-1.0..1.0));
        let mut a = b.dot(&b.t());
        a.diag_mut().mapv_inplace(|v| v + 0.1);
        a
    }

    #[test]
    fn blocked_cholesky_matches_linfa_linalg() {
        for &n in &[1, 2, 5, 47, 48, 49, 97, 150, 301] {
            let a = spd(n, n as u64);
            let mut l = a.clone();
            cholesky_in_place(&mut l).unwrap();
            let reference = a.cholesky().unwrap();
            let err = (&l - &reference)
                .mapv(f64::abs)
                .fold(0.0f64, |m, &v| m.max(v));
            assert!(err < 1e-9, "n={n} err={err}");
        }
    }

    #[test]
    fn inverse_and_solves_agree() {
        for n in [130, 301] {
            let a = spd(n, 3);
            let (l, jitter) = cholesky_jittered(&a).unwrap();
            assert_eq!(jitter, 0.0);
            let inv = cho_inverse(&l);
            assert_eq!(inv, inv.t());
            let eye = a.dot(&inv);
            for i in 0..n {
                for j in 0..n {
                    let t = if i == j { 1.0 } else { 0.0 };
                    assert!((eye[[i, j]] - t).abs() < 1e-7, "n={n} ({i},{j})");
                }
            }
        }
        let a = spd(130, 3);
        let (l, _) = cholesky_jittered(&a).unwrap();
        let b = Array1::from_shape_fn(130, |i| (i as f64).sin());
        let x = cho_solve(&l, b.view());
        assert!((a.dot(&x) - &b).mapv(f64::abs).sum() < 1e-8);
    }

    #[test]
    fn append_matches_full_factor() {
        let a = spd(60, 5);
        let (l, _) = cholesky_jittered(&blk(a.view(), ..59, ..59).to_owned()).unwrap();
        let ext = cholesky_append(
            &l,
            a.row(59).slice_axis(Axis(0), Slice::from(..59)),
            a[[59, 59]],
        )
        .unwrap();
        let (full, _) = cholesky_jittered(&a).unwrap();
        assert!((&ext - &full).mapv(f64::abs).sum() < 1e-9);
    }

    #[test]
    fn jitter_rescues_singular_and_errors_on_indefinite() {
        let v = Array1::from_shape_fn(10, |i| i as f64);
        let a = Array2::from_shape_fn((10, 10), |(i, j)| v[i] * v[j] + 1.0);
        let (_, jitter) = cholesky_jittered(&a).unwrap();
        assert!(jitter > 0.0);
        let neg = Array2::from_diag(&Array1::from_elem(4, -1.0));
        assert!(matches!(
            cholesky_jittered(&neg),
            Err(GpError::NotPositiveDefinite { .. })
        ));
    }
}
