//! Multi-objective building blocks: Pareto dominance, non-dominated sorting, crowding distance,
//! hypervolume, (expected) hypervolume improvement, ParEGO's scalarisation, and the specs of
//! objectives (`valid_acc:max`) and constraints (`flops_m<=100`).
//!
//! # Conventions
//!
//! - **Every objective is minimised.** Callers negate maximised objectives first;
//!   [`Objective::minimized`] does it for a parsed spec.
//! - A point is a slice of `d` objective values; a set of points is a slice of anything that
//!   views as `&[f64]` (`Vec<f64>`, `[f64; 2]`, `&[f64]`), all of the same length `d`.
//! - Values should not be NaN (leave failed trials out). A NaN coordinate makes a point
//!   incomparable: it neither dominates nor is dominated, and it never counts towards a
//!   hypervolume.
//!
//! ```
//! use nasbo_search::pareto::{hypervolume, pareto_front};
//!
//! // (error %, latency ms), both minimised.
//! let points = [[8.0, 3.0], [6.0, 5.0], [7.0, 6.0], [9.0, 1.0]];
//! assert_eq!(pareto_front(&points), vec![0, 1, 3]); // [7, 6] is dominated by [6, 5]
//! // Boxes up to the reference (10, 10): 4·5 (from [6, 5]) + 2·2 (from [8, 3]) + 1·2 (from [9, 1]).
//! assert_eq!(hypervolume(&points, &[10.0, 10.0]), 26.0);
//! ```

use nasbo_gp::special::ei_unit;
use rand::Rng;
use std::cmp::Ordering;

pub use nasbo_core::objective::{Comparison, Constraint, Objective, SpecError};

/// The default weight `ρ` of the linear term of ParEGO's augmented Chebyshev scalarisation.
pub const PAREGO_RHO: f64 = 0.05;

/// Whether `a` Pareto-dominates `b` (both minimised): `a` is no worse in every objective and
/// strictly better in at least one. Equal points do not dominate each other.
///
/// # Panics
/// When the lengths differ.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    assert_eq!(
        a.len(),
        b.len(),
        "points with {} and {} objectives",
        a.len(),
        b.len()
    );
    let mut strictly = false;
    for (x, y) in a.iter().zip(b) {
        // A NaN compares as `None`: such points are incomparable.
        match x.partial_cmp(y) {
            Some(Ordering::Less) => strictly = true,
            Some(Ordering::Equal) => {}
            _ => return false,
        }
    }
    strictly
}

/// Lexicographic order of two points: `total_cmp` (NaN last) with `−0.0` read as `0.0`, so that
/// it agrees with `<` wherever `<` is defined and a dominator always sorts first.
fn lexicographic(a: &[f64], b: &[f64]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x + 0.0).total_cmp(&(y + 0.0)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Point indices in lexicographic order of their values (ties by index). A point can only be
/// dominated by points before it in this order.
fn lexicographic_order<P: AsRef<[f64]>>(points: &[P]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&i, &j| lexicographic(points[i].as_ref(), points[j].as_ref()).then(i.cmp(&j)));
    order
}

/// Splits `order` (lexicographic) into the points no other point of `order` dominates and the
/// rest, both in the same order.
fn peel<P: AsRef<[f64]>>(points: &[P], order: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let (mut front, mut rest) = (Vec::new(), Vec::new());
    for &i in order {
        // A dominator of i precedes it, and is itself dominated by an earlier front point if
        // it is not on the front, so checking the front found so far suffices.
        if front
            .iter()
            .any(|&j: &usize| dominates(points[j].as_ref(), points[i].as_ref()))
        {
            rest.push(i);
        } else {
            front.push(i);
        }
    }
    (front, rest)
}

fn check_dims<P: AsRef<[f64]>>(points: &[P]) {
    if let Some(first) = points.first() {
        let d = first.as_ref().len();
        for p in points {
            assert_eq!(
                p.as_ref().len(),
                d,
                "points with {} and {} objectives",
                d,
                p.as_ref().len()
            );
        }
    }
}

/// Indices (ascending) of the non-dominated points. Duplicates do not dominate each other, so
/// every copy of a non-dominated point is kept; this is the first front of
/// [`non_dominated_sort`].
///
/// # Panics
/// When the points have different lengths.
pub fn pareto_front<P: AsRef<[f64]>>(points: &[P]) -> Vec<usize> {
    check_dims(points);
    let mut front = peel(points, &lexicographic_order(points)).0;
    front.sort_unstable();
    front
}

/// NSGA-II's non-dominated sorting: the fronts by rank, each with ascending indices. Front 0 is
/// [`pareto_front`]; front `k` holds the points that are non-dominated once fronts `0..k` are
/// removed. Every point is in exactly one front; duplicates share a front.
///
/// # Panics
/// When the points have different lengths.
pub fn non_dominated_sort<P: AsRef<[f64]>>(points: &[P]) -> Vec<Vec<usize>> {
    check_dims(points);
    let mut rest = lexicographic_order(points);
    let mut fronts = Vec::new();
    while !rest.is_empty() {
        let (mut front, next) = peel(points, &rest);
        front.sort_unstable();
        fronts.push(front);
        rest = next;
    }
    fronts
}

/// NSGA-II's crowding distance of each point of `front` (indices into `points`), in the order
/// of `front`: for each objective, the gap between a point's two neighbours in that objective,
/// divided by the front's range in it, summed over objectives. The extreme points of each
/// objective (one each, ties broken by position in `front`) get `+∞`, so fronts of one or two
/// points are all infinite. An objective with zero range adds nothing.
///
/// # Panics
/// When an index is out of range or the points have different lengths.
pub fn crowding_distance<P: AsRef<[f64]>>(points: &[P], front: &[usize]) -> Vec<f64> {
    let n = front.len();
    let mut distance = vec![0.0; n];
    if n == 0 {
        return distance;
    }
    let d = points[front[0]].as_ref().len();
    let mut order: Vec<usize> = (0..n).collect();
    for m in 0..d {
        let value = |k: usize| {
            let p = points[front[k]].as_ref();
            assert_eq!(p.len(), d, "points with {} and {} objectives", d, p.len());
            p[m]
        };
        order.sort_by(|&a, &b| value(a).total_cmp(&value(b)).then(a.cmp(&b)));
        distance[order[0]] = f64::INFINITY;
        distance[order[n - 1]] = f64::INFINITY;
        let range = value(order[n - 1]) - value(order[0]);
        if range.is_nan() || range <= 0.0 {
            continue;
        }
        for w in order.windows(3) {
            distance[w[1]] += (value(w[2]) - value(w[0])) / range;
        }
    }
    distance
}

/// The hypervolume (Lebesgue measure) of the region dominated by `points` and bounded by
/// `reference`: the union over the points of the boxes `[p, reference]`. Exact for any number
/// of objectives: a sweep for 2, slicing along the last objective for more (`O(n^(d−1) log n)`,
/// fine for a few hundred points in 3-D). Points not strictly better than the reference in every
/// objective contribute nothing; no points give 0.
///
/// # Panics
/// When `reference` is empty or a point's length differs from it.
pub fn hypervolume<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> f64 {
    let d = reference.len();
    assert!(d > 0, "the hypervolume needs at least one objective");
    let mut inside: Vec<&[f64]> = points
        .iter()
        .map(AsRef::as_ref)
        .inspect(|p| {
            assert_eq!(
                p.len(),
                d,
                "a point with {} objectives, reference with {d}",
                p.len()
            )
        })
        .filter(|p| strictly_inside(p, reference))
        .collect();
    hypervolume_rec(&mut inside, reference, d)
}

fn strictly_inside(p: &[f64], reference: &[f64]) -> bool {
    p.iter().zip(reference).all(|(x, r)| x < r)
}

/// The hypervolume of `points` (all strictly inside the reference) in their first `k`
/// coordinates.
fn hypervolume_rec(points: &mut [&[f64]], reference: &[f64], k: usize) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    match k {
        1 => {
            let best = points.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min);
            reference[0] - best
        }
        2 => {
            points.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
            let (mut area, mut best) = (0.0, reference[1]);
            for p in points.iter() {
                // Each point that lowers the best second objective so far adds the strip
                // between the old and the new best, from its first objective to the reference.
                if p[1] < best {
                    area += (reference[0] - p[0]) * (best - p[1]);
                    best = p[1];
                }
            }
            area
        }
        _ => {
            let z = k - 1;
            points.sort_by(|a, b| a[z].total_cmp(&b[z]));
            let mut volume = 0.0;
            for i in 0..points.len() {
                // Between this point's last objective and the next one's, the dominated slice
                // is that of the points up to i in the other objectives.
                let next = points.get(i + 1).map_or(reference[z], |p| p[z]);
                let height = next - points[i][z];
                if height > 0.0 {
                    let mut slice = points[..=i].to_vec();
                    volume += hypervolume_rec(&mut slice, reference, z) * height;
                }
            }
            volume
        }
    }
}

/// How much `point` adds to the hypervolume of `front`: `HV(front ∪ {point}) − HV(front)`,
/// computed as the volume of the box `[point, reference]` minus the part of it the front
/// already dominates, so it is never negative. 0 when `point` is dominated by (or equal to) a
/// front point, or not strictly better than the reference in every objective. `front` need not
/// be non-dominated.
///
/// # Panics
/// As [`hypervolume`], and when `point`'s length differs from `reference`'s.
pub fn hypervolume_improvement<P: AsRef<[f64]>>(
    front: &[P],
    reference: &[f64],
    point: &[f64],
) -> f64 {
    assert_eq!(
        point.len(),
        reference.len(),
        "a point with {} objectives, reference with {}",
        point.len(),
        reference.len()
    );
    if !strictly_inside(point, reference) {
        return 0.0;
    }
    let whole: f64 = point.iter().zip(reference).map(|(p, r)| r - p).product();
    // The front's part of the box: each front point's box clipped to start at `point`.
    let clipped: Vec<Vec<f64>> = front
        .iter()
        .map(|q| {
            q.as_ref()
                .iter()
                .zip(point)
                .map(|(q, p)| q.max(*p))
                .collect()
        })
        .collect();
    (whole - hypervolume(&clipped, reference)).max(0.0)
}

/// The non-dominated points of `front` strictly inside the reference, one copy of each, in
/// lexicographic order.
fn useful_front<P: AsRef<[f64]>>(front: &[P], reference: &[f64]) -> Vec<Vec<f64>> {
    let inside: Vec<&[f64]> = front
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| strictly_inside(p, reference))
        .collect();
    let mut kept: Vec<Vec<f64>> = pareto_front(&inside)
        .into_iter()
        .map(|i| inside[i].to_vec())
        .collect();
    kept.sort_by(|a, b| lexicographic(a, b));
    kept.dedup();
    kept
}

/// `E[(c − Y)⁺]` for `Y ~ N(mean, std²)`: `std · h((c − mean)/std)` with `h(z) = φ(z) + zΦ(z)`,
/// and `(c − mean)⁺` when `std = 0`.
fn expected_shortfall(c: f64, mean: f64, std: f64) -> f64 {
    if std > 0.0 {
        std * ei_unit((c - mean) / std)
    } else {
        (c - mean).max(0.0)
    }
}

fn check_gaussian(mean: &[f64], std: &[f64], d: usize) {
    assert!(
        mean.len() == d && std.len() == d,
        "means and stds must have {d} entries, got {} and {}",
        mean.len(),
        std.len()
    );
    for s in std {
        assert!(
            *s >= 0.0 && s.is_finite(),
            "standard deviation {s} is not finite and ≥ 0"
        );
    }
}

/// Exact expected hypervolume improvement, two objectives, of a candidate whose objectives are
/// independent `N(mean[j], std[j]²)`; `std[j] = 0` is allowed (then it is the plain
/// [`hypervolume_improvement`]).
///
/// Derivation. Let the useful front (non-dominated, strictly inside the reference, sorted by
/// the first objective) be `(a₁, b₁), …, (a_m, b_m)`, so `a` increases and `b` decreases; set
/// `a₀ = −∞`, `a_{m+1} = r₁`, `b₀ = r₂`. The region below the reference that the front does not
/// dominate is the union of the disjoint cells `[a_i, a_{i+1}) × (−∞, b_i)`, `i = 0..m`. A
/// candidate `y` adds the part of each cell above it: `(a_{i+1} − max(a_i, y₁))⁺ · (b_i − y₂)⁺`.
/// By independence the expectation factorises per cell, and with `ψ_j(c) = E[(c − Y_j)⁺]` (the
/// closed form of expected improvement), `(a_{i+1} − max(a_i, y₁))⁺ = (a_{i+1} − y₁)⁺ − (a_i −
/// y₁)⁺` gives
///
/// `EHVI = Σ_{i=0..m} (ψ₁(a_{i+1}) − ψ₁(a_i)) · ψ₂(b_i)`, with `ψ₁(a₀) = 0`.
///
/// Never negative. `front` need not be non-dominated: dominated points and points outside the
/// reference are ignored.
///
/// # Panics
/// When a point of `front` does not have two values, or a std is negative or not finite.
pub fn expected_hypervolume_improvement_2d<P: AsRef<[f64]>>(
    front: &[P],
    reference: [f64; 2],
    mean: [f64; 2],
    std: [f64; 2],
) -> f64 {
    check_gaussian(&mean, &std, 2);
    for p in front {
        assert_eq!(
            p.as_ref().len(),
            2,
            "a point with {} objectives, reference with 2",
            p.as_ref().len()
        );
    }
    let cells = useful_front(front, &reference); // sorted by the first objective
    let psi1 = |c: f64| expected_shortfall(c, mean[0], std[0]);
    let psi2 = |c: f64| expected_shortfall(c, mean[1], std[1]);
    let m = cells.len();
    let (mut total, mut lower) = (0.0, 0.0); // ψ₁(a₀) = 0
    for i in 0..=m {
        // Cell i: first objective in [a_i, a_{i+1}), second below b_i; `cells[k]` is
        // (a_{k+1}, b_{k+1}).
        let upper = psi1(if i < m { cells[i][0] } else { reference[0] });
        let height = if i == 0 {
            reference[1]
        } else {
            cells[i - 1][1]
        };
        total += (upper - lower).max(0.0) * psi2(height);
        lower = upper;
    }
    total
}

/// A Monte-Carlo estimate: the sample mean and its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonteCarloEstimate {
    /// The sample mean.
    pub mean: f64,
    /// The standard error of the mean (sample std / √n); NaN with fewer than two samples.
    pub std_error: f64,
}

/// Monte-Carlo expected hypervolume improvement, any number of objectives (meant for three,
/// where no closed form is used), of a candidate whose objectives are independent
/// `N(mean[j], std[j]²)`. `draws` are the caller's standard-normal vectors (each of length
/// `d`, e.g. from [`standard_normal_draws`]); sample `k` is `mean + std ⊙ draws[k]`. Reusing the
/// same draws for every candidate makes the comparison between candidates deterministic and
/// smooth (common random numbers).
///
/// # Panics
/// When `draws` is empty, lengths disagree with `reference`, or a std is negative or not finite.
pub fn expected_hypervolume_improvement_mc<P: AsRef<[f64]>, Z: AsRef<[f64]>>(
    front: &[P],
    reference: &[f64],
    mean: &[f64],
    std: &[f64],
    draws: &[Z],
) -> MonteCarloEstimate {
    let d = reference.len();
    check_gaussian(mean, std, d);
    assert!(!draws.is_empty(), "no draws for the Monte-Carlo estimate");
    for p in front {
        assert_eq!(
            p.as_ref().len(),
            d,
            "a point with {} objectives, reference with {d}",
            p.as_ref().len()
        );
    }
    let useful = useful_front(front, reference);
    let mut y = vec![0.0; d];
    // Welford's running mean and sum of squared deviations.
    let (mut count, mut running_mean, mut squares) = (0.0, 0.0, 0.0);
    for z in draws {
        let z = z.as_ref();
        assert_eq!(
            z.len(),
            d,
            "a draw with {} values, reference with {d}",
            z.len()
        );
        for j in 0..d {
            y[j] = mean[j] + std[j] * z[j];
        }
        let improvement = hypervolume_improvement(&useful, reference, &y);
        count += 1.0;
        let delta = improvement - running_mean;
        running_mean += delta / count;
        squares += delta * (improvement - running_mean);
    }
    let std_error = if count > 1.0 {
        (squares / (count - 1.0) / count).sqrt()
    } else {
        f64::NAN
    };
    MonteCarloEstimate {
        mean: running_mean,
        std_error,
    }
}

/// `n` vectors of `d` independent standard-normal values (Box–Muller), for
/// [`expected_hypervolume_improvement_mc`]; deterministic given the generator's state.
pub fn standard_normal_draws<R: Rng + ?Sized>(rng: &mut R, n: usize, d: usize) -> Vec<Vec<f64>> {
    let mut spare: Option<f64> = None;
    let mut next = || {
        if let Some(v) = spare.take() {
            return v;
        }
        let u1: f64 = 1.0 - rng.gen::<f64>(); // in (0, 1]: the log is finite
        let u2: f64 = rng.gen();
        let radius = (-2.0 * u1.ln()).sqrt();
        let angle = std::f64::consts::TAU * u2;
        spare = Some(radius * angle.sin());
        radius * angle.cos()
    };
    (0..n).map(|_| (0..d).map(|_| next()).collect()).collect()
}

/// ParEGO's augmented Chebyshev scalarisation of normalised (to `[0, 1]`), minimised values:
/// `max_j w_j f_j + ρ Σ_j w_j f_j` (minimised). [`PAREGO_RHO`] is the usual `ρ`.
///
/// # Panics
/// When `values` and `weights` differ in length.
pub fn augmented_chebyshev(values: &[f64], weights: &[f64], rho: f64) -> f64 {
    assert_eq!(
        values.len(),
        weights.len(),
        "{} values, {} weights",
        values.len(),
        weights.len()
    );
    let weighted = values.iter().zip(weights).map(|(f, w)| f * w);
    let max = weighted.clone().fold(f64::NEG_INFINITY, f64::max);
    max + rho * weighted.sum::<f64>()
}

/// A weight vector drawn uniformly from the simplex `{w ≥ 0, Σ w = 1}` in `d` dimensions
/// (normalised exponential draws, i.e. Dirichlet(1, …, 1)), as ParEGO draws one per iteration.
///
/// # Panics
/// When `d` is 0.
pub fn sample_simplex<R: Rng + ?Sized>(rng: &mut R, d: usize) -> Vec<f64> {
    assert!(d > 0, "a simplex needs at least one dimension");
    let mut w: Vec<f64> = (0..d).map(|_| -(1.0 - rng.gen::<f64>()).ln()).collect();
    let sum: f64 = w.iter().sum();
    if sum > 0.0 {
        w.iter_mut().for_each(|x| *x /= sum);
    } else {
        w.fill(1.0 / d as f64); // every draw was exactly 0: probability 2^(−53 d)
    }
    w
}

/// The observed range of each objective, to normalise values to `[0, 1]` (ParEGO).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRanges {
    /// The smallest value of each objective (NaNs ignored).
    pub min: Vec<f64>,
    /// The largest value of each objective (NaNs ignored).
    pub max: Vec<f64>,
}

impl ColumnRanges {
    /// The ranges of the columns of `points`; `None` when there are no points.
    ///
    /// # Panics
    /// When the points have different lengths.
    pub fn of<P: AsRef<[f64]>>(points: &[P]) -> Option<ColumnRanges> {
        check_dims(points);
        let d = points.first()?.as_ref().len();
        let mut ranges = ColumnRanges {
            min: vec![f64::INFINITY; d],
            max: vec![f64::NEG_INFINITY; d],
        };
        for p in points {
            for (j, v) in p.as_ref().iter().enumerate() {
                ranges.min[j] = ranges.min[j].min(*v);
                ranges.max[j] = ranges.max[j].max(*v);
            }
        }
        Some(ranges)
    }

    /// `(v − min)/(max − min)` per objective: the observed values map into `[0, 1]`, others
    /// (a candidate's prediction) may fall outside. An objective with a single observed value
    /// maps to 0.
    ///
    /// # Panics
    /// When `values` has another length than the ranges.
    pub fn normalize(&self, values: &[f64]) -> Vec<f64> {
        assert_eq!(
            values.len(),
            self.min.len(),
            "{} values for {} ranges",
            values.len(),
            self.min.len()
        );
        values
            .iter()
            .zip(self.min.iter().zip(&self.max))
            .map(|(v, (lo, hi))| {
                let span = hi - lo;
                if span > 0.0 {
                    (v - lo) / span
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// Every point normalised by [`ColumnRanges`] of the points themselves: each objective column
/// spans `[0, 1]` (or is all 0 when constant).
///
/// # Panics
/// When the points have different lengths.
pub fn normalize_columns<P: AsRef<[f64]>>(points: &[P]) -> Vec<Vec<f64>> {
    match ColumnRanges::of(points) {
        Some(ranges) => points
            .iter()
            .map(|p| ranges.normalize(p.as_ref()))
            .collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
