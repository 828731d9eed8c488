//! Shared test data.
#![allow(dead_code)]

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` points in `[0, 1]^d` and a smooth noisy target.
pub fn smooth(n: usize, d: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::<f64>::from_shape_fn((n, d), |_| rng.gen_range(0.0..1.0));
    let y = x
        .rows()
        .into_iter()
        .map(|r| {
            (4.0 * r[0]).sin()
                + 0.5 * r.iter().map(|v| v * v).sum::<f64>()
                + rng.gen_range(-0.01f64..0.01)
        })
        .collect();
    (x, y)
}

/// Central finite difference of `f` at `x` along each coordinate, with one Richardson
/// extrapolation step (error O(h⁴)), so steep functions such as log-EI in the tail check well.
pub fn fd_grad(f: impl Fn(&Array1<f64>) -> f64, x: &Array1<f64>, h: f64) -> Array1<f64> {
    let central = |i: usize, h: f64| {
        let mut a = x.clone();
        a[i] += h;
        let mut b = x.clone();
        b[i] -= h;
        (f(&a) - f(&b)) / (2.0 * h)
    };
    Array1::from_shape_fn(x.len(), |i| {
        let coarse = central(i, 2.0 * h);
        let fine = central(i, h);
        (4.0 * fine - coarse) / 3.0
    })
}

/// Asserts two gradients agree to `rel` relative (and `abs` absolute) tolerance.
pub fn assert_close(a: &Array1<f64>, b: &Array1<f64>, rel: f64, abs: f64, what: &str) {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= abs + rel * x.abs().max(y.abs()),
            "{what}[{i}]: {x} vs {y} (all: {a} vs {b})"
        );
    }
}
