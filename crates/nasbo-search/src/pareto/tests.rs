use super::*;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

// ------------------------------------------------------------------ brute-force references

/// Non-dominated by definition: no other point dominates it.
fn brute_front(points: &[Vec<f64>]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| !points.iter().any(|q| dominates(q, &points[i])))
        .collect()
}

/// Rank by definition: 0 when nothing dominates the point, else one more than the largest rank
/// among its dominators (the longest chain of dominators above it).
fn brute_ranks(points: &[Vec<f64>]) -> Vec<usize> {
    let n = points.len();
    let mut rank = vec![None; n];
    fn go(i: usize, points: &[Vec<f64>], rank: &mut Vec<Option<usize>>) -> usize {
        if let Some(r) = rank[i] {
            return r;
        }
        let mut r = 0;
        for j in 0..points.len() {
            if dominates(&points[j], &points[i]) {
                r = r.max(go(j, points, rank) + 1);
            }
        }
        rank[i] = Some(r);
        r
    }
    (0..n).map(|i| go(i, points, &mut rank)).collect()
}

/// The hypervolume of integer points under the reference (g, …, g) by counting unit cells: the
/// cell with lower corner c is dominated exactly when some point p has p ≤ c.
fn grid_count(points: &[Vec<f64>], g: i64, d: usize) -> f64 {
    let mut count = 0;
    let cells = (g as usize).pow(d as u32);
    for code in 0..cells {
        let c: Vec<f64> = (0..d)
            .map(|j| ((code / (g as usize).pow(j as u32)) % g as usize) as f64)
            .collect();
        if points.iter().any(|p| p.iter().zip(&c).all(|(x, y)| x <= y)) {
            count += 1;
        }
    }
    count as f64
}

/// Random small-integer point sets: many ties and duplicates.
fn int_points(max_d: usize, max_n: usize, g: i64) -> impl Strategy<Value = Vec<Vec<f64>>> {
    (1..=max_d).prop_flat_map(move |d| {
        prop::collection::vec(
            prop::collection::vec((0..=g).prop_map(|v| v as f64), d),
            0..max_n,
        )
    })
}

/// Random real point sets of dimension d.
fn real_points(d: usize, max_n: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
    prop::collection::vec(prop::collection::vec(0.0..10.0f64, d), 0..max_n)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

// ------------------------------------------------------------------ dominance and sorting

#[test]
fn dominance_by_hand() {
    assert!(dominates(&[1.0, 2.0], &[1.0, 3.0]));
    assert!(dominates(&[0.0, 2.0], &[1.0, 3.0]));
    assert!(!dominates(&[1.0, 2.0], &[1.0, 2.0]), "equal points");
    assert!(!dominates(&[1.0, 4.0], &[2.0, 3.0]), "a trade-off");
    assert!(
        !dominates(&[f64::NAN, 0.0], &[1.0, 1.0]),
        "NaN never dominates"
    );
    assert!(
        !dominates(&[0.0, 0.0], &[f64::NAN, 1.0]),
        "NaN is never dominated"
    );
}

#[test]
fn nsga2_sort_by_hand() {
    let p = vec![
        vec![1.0, 5.0], // 0: front 0
        vec![2.0, 2.0], // 1: front 0
        vec![3.0, 3.0], // 2: dominated by 1 → front 1
        vec![5.0, 1.0], // 3: front 0
        vec![2.0, 2.0], // 4: duplicate of 1 → front 0 as well
        vec![4.0, 4.0], // 5: dominated by 2 → front 2
    ];
    assert_eq!(pareto_front(&p), vec![0, 1, 3, 4]);
    assert_eq!(
        non_dominated_sort(&p),
        vec![vec![0, 1, 3, 4], vec![2], vec![5]]
    );
    let empty: Vec<Vec<f64>> = vec![];
    assert!(pareto_front(&empty).is_empty() && non_dominated_sort(&empty).is_empty());
    // −0.0 equals 0.0: (0, 1) dominates (−0, 2) although `total_cmp` puts −0 first.
    let signed = [[-0.0, 2.0], [0.0, 1.0]];
    assert_eq!(pareto_front(&signed), vec![1]);
    // A point with a NaN is incomparable: on the first front, dominating nothing.
    let nan = [[f64::NAN, 0.0], [1.0, 1.0], [2.0, 2.0]];
    assert_eq!(non_dominated_sort(&nan), vec![vec![0, 1], vec![2]]);
}

proptest! {
    #[test]
    fn pareto_front_is_the_brute_force_front(points in int_points(4, 40, 5)) {
        prop_assert_eq!(pareto_front(&points), brute_front(&points));
    }

    #[test]
    fn fronts_are_the_brute_force_ranks(points in int_points(4, 40, 5)) {
        let fronts = non_dominated_sort(&points);
        let ranks = brute_ranks(&points);
        let mut seen = vec![false; points.len()];
        for (r, front) in fronts.iter().enumerate() {
            prop_assert!(!front.is_empty());
            prop_assert!(front.windows(2).all(|w| w[0] < w[1]), "ascending indices");
            for &i in front {
                prop_assert_eq!(ranks[i], r, "point {} {:?}", i, points[i]);
                prop_assert!(!seen[i]);
                seen[i] = true;
            }
        }
        prop_assert!(seen.iter().all(|s| *s), "every point in one front");
    }

    #[test]
    fn crowding_distance_is_nonnegative_and_extremes_infinite(points in real_points(3, 30)) {
        let front = pareto_front(&points);
        let dist = crowding_distance(&points, &front);
        prop_assert_eq!(dist.len(), front.len());
        prop_assert!(dist.iter().all(|d| *d >= 0.0));
        for m in [0, 1, 2] {
            if let Some(k) = (0..front.len()).min_by(|&a, &b| points[front[a]][m].total_cmp(&points[front[b]][m])) {
                prop_assert!(dist[k].is_infinite(), "the minimum of objective {} is infinite", m);
            }
        }
    }
}

#[test]
fn crowding_distance_by_hand() {
    // Objective 0 spans 1..6 (range 5), objective 1 spans 1..5 (range 4).
    // (2,3): (4 − 1)/5 + (5 − 2)/4 = 0.6 + 0.75 = 1.35; (4,2): (6 − 2)/5 + (3 − 1)/4 = 0.8 + 0.5 = 1.3.
    let p = vec![
        vec![4.0, 2.0],
        vec![1.0, 5.0],
        vec![6.0, 1.0],
        vec![2.0, 3.0],
    ];
    let d = crowding_distance(&p, &[0, 1, 2, 3]);
    assert!(close(d[0], 1.3, 1e-12) && close(d[3], 1.35, 1e-12), "{d:?}");
    assert!(d[1].is_infinite() && d[2].is_infinite());
    assert!(crowding_distance(&p, &[0, 3])
        .iter()
        .all(|d| d.is_infinite()));
    assert!(crowding_distance(&p, &[]).is_empty());
}

// ------------------------------------------------------------------ hypervolume

#[test]
fn hypervolume_2d_by_hand() {
    // The same front as `optuna_mo.py --self-test`: (5.5, 20), (6, 12), (8.25, 10), the dominated
    // (7, 15), reference (10, 25). Sweep by the first objective:
    // (5.5, 20): (10 − 5.5)·(25 − 20) = 4.5·5 = 22.5
    // (6, 12):   (10 − 6)·(20 − 12)   = 4·8   = 32
    // (7, 15):   15 > 12, adds nothing
    // (8.25, 10): (10 − 8.25)·(12 − 10) = 1.75·2 = 3.5        total 58.
    let p = [[8.25, 10.0], [7.0, 15.0], [5.5, 20.0], [6.0, 12.0]];
    assert_eq!(hypervolume(&p, &[10.0, 25.0]), 58.0);
    // Staircase (1,3), (2,2), (3,1) under (4,4): 3 + 2 + 1 = 6 unit squares.
    assert_eq!(
        hypervolume(&[[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]], &[4.0, 4.0]),
        6.0
    );
    // On or beyond the reference: nothing. (1,3) alone: 3·1 = 3.
    let edge = [[1.0, 3.0], [4.0, 0.0], [0.0, 4.0], [5.0, 5.0]];
    assert_eq!(hypervolume(&edge, &[4.0, 4.0]), 3.0);
}

#[test]
fn hypervolume_3d_by_hand() {
    // Reference (4,4,4). A = (1,1,3): 3·3·1 = 9; B = (2,2,1): 2·2·3 = 12; C = (0,3,2): 4·1·2 = 8.
    // Pairwise intersections (boxes from the componentwise max):
    // A∩B = (2,2,3): 2·2·1 = 4; A∩C = (1,3,3): 3·1·1 = 3; B∩C = (2,3,2): 2·1·2 = 4;
    // A∩B∩C = (2,3,3): 2·1·1 = 2.  Inclusion–exclusion: 9 + 12 + 8 − 4 − 3 − 4 + 2 = 20.
    let r = [4.0, 4.0, 4.0];
    let (a, b, c) = ([1.0, 1.0, 3.0], [2.0, 2.0, 1.0], [0.0, 3.0, 2.0]);
    assert_eq!(hypervolume(&[a, b], &r), 17.0); // 9 + 12 − 4
    assert_eq!(hypervolume(&[a, b, c], &r), 20.0);
    assert_eq!(hypervolume(&[c, a, b, [3.0, 3.0, 3.0]], &r), 20.0); // plus a dominated point
                                                                    // One objective: the distance from the best point to the reference.
    assert_eq!(hypervolume(&[[3.0], [1.5], [7.0]], &[4.0]), 2.5);
    let none: [[f64; 3]; 0] = [];
    assert_eq!(hypervolume(&none, &r), 0.0);
}

proptest! {
    #[test]
    fn hypervolume_counts_unit_cells(points in int_points(4, 12, 4)) {
        let d = points.first().map_or(2, Vec::len);
        let reference = vec![4.0; d];
        prop_assert_eq!(hypervolume(&points, &reference), grid_count(&points, 4, d));
    }

    #[test]
    fn hypervolume_invariances(points in real_points(3, 15), extra in prop::collection::vec(0.0..10.0f64, 3)) {
        let r = [10.0, 10.0, 10.0];
        let hv = hypervolume(&points, &r);
        // Only the front matters, in any order.
        let front: Vec<Vec<f64>> = pareto_front(&points).into_iter().map(|i| points[i].clone()).collect();
        prop_assert!(close(hypervolume(&front, &r), hv, 1e-12));
        let mut reversed = points.clone();
        reversed.reverse();
        prop_assert!(close(hypervolume(&reversed, &r), hv, 1e-12));
        // A point dominated by one of the set changes nothing.
        if let Some(p) = points.first() {
            let mut more = points.clone();
            more.push(p.iter().map(|x| x + 0.5 * (10.0 - x)).collect());
            prop_assert!(close(hypervolume(&more, &r), hv, 1e-12));
        }
        // A single point: the volume of its box.
        let single: f64 = extra.iter().map(|x| 10.0 - x).product();
        prop_assert!(close(hypervolume(std::slice::from_ref(&extra), &r), single, 1e-12));
        // Improvement: the difference of hypervolumes, never negative.
        let mut with = points.clone();
        with.push(extra.clone());
        let hvi = hypervolume_improvement(&points, &r, &extra);
        prop_assert!(hvi >= 0.0);
        prop_assert!(close(hvi, hypervolume(&with, &r) - hv, 1e-9), "{} vs {}", hvi, hypervolume(&with, &r) - hv);
    }
}

#[test]
fn improvement_of_a_dominated_or_outside_point_is_zero() {
    let front = [[1.0, 3.0], [3.0, 1.0]];
    let r = [4.0, 4.0];
    assert_eq!(hypervolume_improvement(&front, &r, &[2.0, 3.5]), 0.0);
    assert_eq!(hypervolume_improvement(&front, &r, &[1.0, 3.0]), 0.0);
    assert_eq!(hypervolume_improvement(&front, &r, &[0.0, 4.0]), 0.0);
    // The front covers 3·1 + 1·2 = 5 (sweep); with (2,2) the staircase (1,3), (2,2), (3,1)
    // covers 3 + 2 + 1 = 6, so (2,2) adds the unit square [2,3]×[2,3].
    assert_eq!(hypervolume(&front, &r), 5.0);
    assert_eq!(hypervolume_improvement(&front, &r, &[2.0, 2.0]), 1.0);
}

// ------------------------------------------------------------------ expected improvement

const FRONT: [[f64; 2]; 4] = [[1.0, 4.0], [2.0, 2.5], [3.5, 1.0], [3.0, 3.0]]; // (3,3) dominated
const REF: [f64; 2] = [5.0, 5.0];

#[test]
fn ehvi_2d_matches_monte_carlo() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let draws = standard_normal_draws(&mut rng, 200_000, 2);
    let cases = [
        ([2.0, 2.0], [0.5, 1.0]),
        ([0.5, 0.5], [1.0, 0.3]),
        ([4.0, 4.0], [2.0, 2.0]),
        ([3.0, 3.0], [0.2, 0.2]),
        ([6.0, 0.0], [1.0, 1.0]), // mean beyond the reference in the first objective
        ([1.5, 1.5], [0.0, 0.8]), // one exact objective
    ];
    for (mean, std) in cases {
        let exact = expected_hypervolume_improvement_2d(&FRONT, REF, mean, std);
        let mc = expected_hypervolume_improvement_mc(&FRONT, &REF, &mean, &std, &draws);
        assert!(
            (exact - mc.mean).abs() <= 4.0 * mc.std_error + 1e-12,
            "mean {mean:?} std {std:?}: closed form {exact}, Monte Carlo {} ± {}",
            mc.mean,
            mc.std_error
        );
        assert!(exact > 0.0, "{mean:?} {std:?}");
    }
}

#[test]
fn ehvi_2d_tends_to_the_improvement() {
    for mean in [
        [2.0, 2.0],
        [0.5, 4.5],
        [4.0, 0.2],
        [3.0, 3.0],
        [2.5, 1.5],
        [6.0, 1.0],
    ] {
        let hvi = hypervolume_improvement(&FRONT, &REF, &mean);
        let exact = expected_hypervolume_improvement_2d(&FRONT, REF, mean, [0.0, 0.0]);
        assert!(close(exact, hvi, 1e-12), "{mean:?}: {exact} vs {hvi}");
        let tiny = expected_hypervolume_improvement_2d(&FRONT, REF, mean, [1e-7, 1e-7]);
        assert!((tiny - hvi).abs() < 1e-6, "{mean:?}: {tiny} vs {hvi}");
    }
    // With no front, the expectation factorises: E[(5 − Y₁)⁺] E[(5 − Y₂)⁺] → (5 − 2)(5 − 1) = 12.
    let none: [[f64; 2]; 0] = [];
    assert_eq!(
        expected_hypervolume_improvement_2d(&none, REF, [2.0, 1.0], [0.0, 0.0]),
        12.0
    );
}

proptest! {
    #[test]
    fn ehvi_2d_is_nonnegative_and_below_the_box(
        front in real_points(2, 10),
        mean in prop::collection::vec(-2.0..12.0f64, 2),
        std in prop::collection::vec(0.0..5.0f64, 2),
    ) {
        let r = [10.0, 10.0];
        let (m, s) = ([mean[0], mean[1]], [std[0], std[1]]);
        let e = expected_hypervolume_improvement_2d(&front, r, m, s);
        prop_assert!(e >= 0.0 && e.is_finite());
        // HVI(y) ≤ Π_j (r_j − y_j)⁺ (the box of y), whose expectation factorises.
        let bound: f64 = (0..2).map(|j| if s[j] > 0.0 { s[j] * ei_unit((r[j] - m[j]) / s[j]) } else { (r[j] - m[j]).max(0.0) }).product();
        prop_assert!(e <= bound + 1e-9, "{} > {}", e, bound);
    }
}

#[test]
fn ehvi_mc_3d_without_front_factorises() {
    // With no front the improvement is Π_j (r_j − Y_j)⁺, whose expectation is the product of the
    // one-dimensional expected shortfalls σ h((r − μ)/σ).
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let draws = standard_normal_draws(&mut rng, 100_000, 3);
    let (r, mean, std) = ([3.0, 2.0, 4.0], [1.0, 2.5, 3.0], [1.0, 0.5, 2.0]);
    let exact: f64 = (0..3)
        .map(|j| std[j] * ei_unit((r[j] - mean[j]) / std[j]))
        .product();
    let none: [[f64; 3]; 0] = [];
    let mc = expected_hypervolume_improvement_mc(&none, &r, &mean, &std, &draws);
    assert!(
        (mc.mean - exact).abs() <= 4.0 * mc.std_error,
        "{exact} vs {mc:?}"
    );
    // The same draws give the same estimate.
    assert_eq!(
        expected_hypervolume_improvement_mc(&none, &r, &mean, &std, &draws),
        mc
    );
}

#[test]
fn ehvi_mc_3d_with_a_flat_front_matches_the_2d_closed_form() {
    // Every front point has third objective c = 2 and the candidate's third objective is exactly
    // 2: the improvement is the 2-D one times the slab thickness r₃ − c = 3.
    let front3: Vec<[f64; 3]> = FRONT.iter().map(|p| [p[0], p[1], 2.0]).collect();
    let r3 = [REF[0], REF[1], 5.0];
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let draws = standard_normal_draws(&mut rng, 50_000, 3);
    let (mean, std) = ([2.0, 2.0], [0.7, 1.2]);
    let exact = 3.0 * expected_hypervolume_improvement_2d(&FRONT, REF, mean, std);
    let mc = expected_hypervolume_improvement_mc(
        &front3,
        &r3,
        &[mean[0], mean[1], 2.0],
        &[std[0], std[1], 0.0],
        &draws,
    );
    assert!(
        (mc.mean - exact).abs() <= 4.0 * mc.std_error,
        "{exact} vs {mc:?}"
    );
    // Zero std: the improvement of the mean exactly, with zero standard error.
    let point = [1.5, 3.5, 1.0];
    let mc0 = expected_hypervolume_improvement_mc(&front3, &r3, &point, &[0.0; 3], &draws[..10]);
    assert_eq!(mc0.mean, hypervolume_improvement(&front3, &r3, &point));
    assert_eq!(mc0.std_error, 0.0);
    let one = expected_hypervolume_improvement_mc(&front3, &r3, &point, &[0.0; 3], &draws[..1]);
    assert_eq!(one.mean, mc0.mean);
    assert!(one.std_error.is_nan(), "one sample has no standard error");
}

#[test]
fn normal_draws_have_unit_moments() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let draws = standard_normal_draws(&mut rng, 20_000, 3);
    let all: Vec<f64> = draws.iter().flatten().copied().collect();
    let n = all.len() as f64;
    let mean = all.iter().sum::<f64>() / n;
    let var = all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    // Standard errors: 1/√n ≈ 0.0041 for the mean, √(2/n) ≈ 0.0058 for the variance.
    assert!(mean.abs() < 4.0 / n.sqrt(), "{mean}");
    assert!((var - 1.0).abs() < 4.0 * (2.0 / n).sqrt(), "{var}");
    let below = all.iter().filter(|x| **x < 1.0).count() as f64 / n;
    assert!(
        (below - norm_cdf_ref(1.0)).abs() < 4.0 * (0.16 * 0.84 / n).sqrt(),
        "{below}"
    );
}

fn norm_cdf_ref(z: f64) -> f64 {
    nasbo_gp::special::norm_cdf(z)
}

// ------------------------------------------------------------------ ParEGO

#[test]
fn augmented_chebyshev_by_hand() {
    // max(0.2·0.5, 0.8·0.25) + 0.05·(0.1 + 0.2) = 0.2 + 0.015 = 0.215
    let v = augmented_chebyshev(&[0.5, 0.25], &[0.2, 0.8], PAREGO_RHO);
    assert!(close(v, 0.215, 1e-12), "{v}");
    assert_eq!(augmented_chebyshev(&[1.0, 0.0], &[0.5, 0.5], 0.0), 0.5);
}

#[test]
fn simplex_samples_are_uniform() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n = 20_000;
    let mut below = [0usize; 3];
    let quantiles = [0.1, 0.3, 0.6];
    for _ in 0..n {
        let w = sample_simplex(&mut rng, 3);
        assert!(w.iter().all(|x| *x >= 0.0) && (w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for (k, t) in quantiles.iter().enumerate() {
            below[k] += usize::from(w[0] <= *t);
        }
    }
    // Uniform on the 2-simplex: the first weight is Beta(1, 2), P(w₀ ≤ t) = 1 − (1 − t)².
    for (k, t) in quantiles.iter().enumerate() {
        let p = 1.0 - (1.0 - t) * (1.0 - t);
        let freq = below[k] as f64 / n as f64;
        assert!(
            (freq - p).abs() < 4.0 * (p * (1.0 - p) / n as f64).sqrt(),
            "t {t}: {freq} vs {p}"
        );
    }
    assert_eq!(sample_simplex(&mut rng, 1), vec![1.0]);
}

#[test]
fn columns_normalise_to_the_unit_interval() {
    let p = vec![
        vec![2.0, 5.0, 1.0],
        vec![4.0, 3.0, 1.0],
        vec![3.0, 4.0, 1.0],
    ];
    assert_eq!(
        normalize_columns(&p),
        vec![
            vec![0.0, 1.0, 0.0],
            vec![1.0, 0.0, 0.0],
            vec![0.5, 0.5, 0.0]
        ]
    );
    let ranges = ColumnRanges::of(&p).unwrap();
    assert_eq!(ranges.normalize(&[6.0, 2.0, 7.0]), vec![2.0, -0.5, 0.0]);
    let empty: Vec<Vec<f64>> = vec![];
    assert!(ColumnRanges::of(&empty).is_none() && normalize_columns(&empty).is_empty());
}

// ------------------------------------------------------------------ specs

#[test]
fn constraints_parse() {
    for (text, metric, op, bound) in [
        ("flops_m<=100", "flops_m", Comparison::Le, 100.0),
        ("latency_ms <= 5", "latency_ms", Comparison::Le, 5.0),
        ("valid_acc>=90", "valid_acc", Comparison::Ge, 90.0),
        (" params_mb < 1.5 ", "params_mb", Comparison::Lt, 1.5),
        ("x>-2e-3", "x", Comparison::Gt, -2e-3),
    ] {
        let c: Constraint = text.parse().unwrap();
        assert_eq!(
            (c.metric.as_str(), c.op, c.bound),
            (metric, op, bound),
            "{text}"
        );
        assert_eq!(
            c.to_string().parse::<Constraint>().unwrap(),
            c,
            "round trip of {text}"
        );
    }
}

#[test]
fn constraint_errors_say_what_is_wrong() {
    for (text, says) in [
        ("", "it is empty"),
        ("flops_m 100", "no comparison operator"),
        ("<=100", "metric name is missing"),
        ("flops m<=100", "contains ` `"),
        ("flops_m<=", "bound is missing after `<=`"),
        ("flops_m<=abc", "bound `abc` is not a number"),
        ("flops_m<=inf", "not a finite number"),
        ("flops_m=<100", "write `<=`"),
        ("flops_m=>100", "write `>=`"),
        ("flops_m==100", "equality"),
        ("flops_m!=100", "`!=` is not a comparison operator"),
        ("1<=flops_m<=100", "more than one comparison operator"),
    ] {
        let err = text.parse::<Constraint>().unwrap_err().to_string();
        assert!(err.contains(says), "`{text}`: {err}");
        assert!(err.contains(&format!("`{text}`")), "names the input: {err}");
        assert!(
            err.contains("e.g. `flops_m<=100`"),
            "shows the expected form: {err}"
        );
    }
}

#[test]
fn constraint_satisfaction_and_violation() {
    let le: Constraint = "m<=5".parse().unwrap();
    let lt: Constraint = "m<5".parse().unwrap();
    let ge: Constraint = "m>=5".parse().unwrap();
    let gt: Constraint = "m>5".parse().unwrap();
    for (c, at_bound) in [(&le, true), (&lt, false), (&ge, true), (&gt, false)] {
        assert_eq!(c.satisfied(5.0), at_bound, "{c}");
        for v in [-1.0, 4.0, 5.0, 6.0, 11.0, f64::NAN, f64::INFINITY] {
            assert_eq!(c.violation(v) > 0.0, !c.satisfied(v), "{c} at {v}");
        }
    }
    assert_eq!(le.violation(7.5), 2.5);
    assert_eq!(ge.violation(1.0), 4.0);
    assert_eq!(lt.violation(5.0), f64::MIN_POSITIVE);
    assert_eq!(gt.violation(f64::NAN), f64::INFINITY);
    assert!(!le.satisfied(f64::NAN) && !ge.satisfied(f64::NAN));
}

#[test]
fn objectives_parse_and_orient() {
    let acc: Objective = "valid_acc:max".parse().unwrap();
    assert_eq!(
        acc,
        Objective {
            name: "valid_acc".into(),
            maximize: true
        }
    );
    let lat: Objective = " help_pixel3_ms : min ".parse().unwrap();
    assert_eq!(
        lat,
        Objective {
            name: "help_pixel3_ms".into(),
            maximize: false
        }
    );
    assert_eq!((acc.minimized(90.0), acc.raw(-90.0)), (-90.0, 90.0));
    assert_eq!((lat.minimized(3.0), lat.raw(3.0)), (3.0, 3.0));
    // Orienting preserves "better": a higher accuracy is a lower minimised value.
    assert!(dominates(
        &[acc.minimized(92.0), lat.minimized(2.0)],
        &[acc.minimized(91.0), lat.minimized(2.0)]
    ));
    assert_eq!(acc.to_string().parse::<Objective>().unwrap(), acc);
    for (text, says) in [
        ("", "it is empty"),
        (
            "valid_acc",
            "direction is missing: write `valid_acc:max` or `valid_acc:min`",
        ),
        ("valid_acc:", "direction after `:` is missing"),
        (
            "valid_acc:maximise",
            "`maximise` is neither `max` nor `min`",
        ),
        (":max", "metric name is missing"),
        ("valid acc:max", "contains ` `"),
    ] {
        let err = text.parse::<Objective>().unwrap_err().to_string();
        assert!(err.contains(says), "`{text}`: {err}");
        assert!(
            err.contains("e.g. `valid_acc:max`"),
            "shows the expected form: {err}"
        );
    }
}
