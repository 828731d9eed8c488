//! Times the crate's blocked Cholesky (and linfa-linalg's, for reference) on an SPD matrix.
//!
//! `cargo run --release -p nasbo-gp --example cholesky_time -- [N] [REPS] [--no-reference]`
//! prints one JSON line with the best time of `REPS` runs.

use linfa_linalg::cholesky::Cholesky;
use nasbo_gp::linalg::cholesky_in_place;
use ndarray::Array2;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reference = !args.iter().any(|a| a == "--no-reference");
    let nums: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let n = nums.first().copied().unwrap_or(2000);
    let reps = nums.get(1).copied().unwrap_or(5).max(1);
    // A deterministic SPD matrix: a Matérn-like kernel on a 1-D grid plus a diagonal.
    let a = Array2::from_shape_fn((n, n), |(i, j)| {
        let r = (i as f64 - j as f64).abs() / n as f64 * 20.0;
        (1.0 + r) * (-r).exp() + if i == j { 1e-3 } else { 0.0 }
    });
    let mut best = f64::INFINITY;
    let mut factor = a.clone();
    for _ in 0..reps {
        let mut l = a.clone();
        let t = Instant::now();
        cholesky_in_place(&mut l).expect("SPD");
        best = best.min(t.elapsed().as_secs_f64());
        factor = l;
    }
    let residual = (factor.dot(&factor.t()) - &a)
        .mapv(f64::abs)
        .fold(0.0f64, |m, &v| m.max(v));
    let linfa_s = if reference {
        let t = Instant::now();
        let l = a.cholesky().expect("SPD");
        let s = t.elapsed().as_secs_f64();
        let diff = (&l - &factor).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v));
        assert!(diff < 1e-8, "factors differ by {diff}");
        format!("{s:.6}")
    } else {
        "null".to_string()
    };
    println!(
        "{{\"n\":{n},\"reps\":{reps},\"nasbo_gp_s\":{best:.6},\"linfa_linalg_s\":{linfa_s},\"max_residual\":{residual:.3e}}}"
    );
}
