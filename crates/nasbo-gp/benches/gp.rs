//! criterion benches: fit, predict and add-one-point over n and d.
//!
//! `cargo bench -p nasbo-gp --bench gp`. Sizes come from `NASBO_GP_BENCH_N` (default
//! `100,300,1000,3000`) and `NASBO_GP_BENCH_D` (default `30,90`), e.g.
//! `NASBO_GP_BENCH_N=100,300 cargo bench -p nasbo-gp --bench gp`.
//! The fit bench optimises hyperparameters from one start with at most 20 L-BFGS iterations,
//! so that it measures the per-iteration cost rather than a data-dependent iteration count.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use linfa::prelude::*;
use nasbo_gp::Gp;
use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

fn sizes(var: &str, default: &str) -> Vec<usize> {
    std::env::var(var)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn data(n: usize, d: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::<f64>::from_shape_fn((n, d), |_| rng.gen_range(0.0..1.0));
    let y = x
        .rows()
        .into_iter()
        .map(|r| (6.0 * r[0]).sin() + r.iter().map(|v| v * v).sum::<f64>() / d as f64)
        .collect();
    (x, y)
}

fn bench(c: &mut Criterion) {
    let ns = sizes("NASBO_GP_BENCH_N", "100,300,1000,3000");
    let ds = sizes("NASBO_GP_BENCH_D", "30,90");
    let mut group = c.benchmark_group("gp");
    group.sample_size(10);
    for &d in &ds {
        for &n in &ns {
            let (x, y) = data(n + 1, d, 1);
            let train = Dataset::new(
                x.slice_axis(Axis(0), (..n).into()).to_owned(),
                y.slice_axis(Axis(0), (..n).into()).to_owned(),
            );
            let params = Gp::params().restarts(1).max_iters(20).seed(0);
            let id = format!("n{n}_d{d}");
            group.bench_with_input(BenchmarkId::new("fit", &id), &train, |b, train| {
                b.iter(|| black_box(params.fit(train).expect("fit")))
            });
            let gp = params.fit(&train).expect("fit");
            let (xt, _) = data(1000, d, 2);
            group.bench_with_input(BenchmarkId::new("predict_1000", &id), &xt, |b, xt| {
                b.iter(|| black_box(gp.predict_mean_variance(xt.view())))
            });
            let (new_x, new_y) = (x.row(n).to_owned(), y[n]);
            group.bench_function(BenchmarkId::new("add_observation", &id), |b| {
                b.iter_batched(
                    || gp.clone(),
                    |mut g| {
                        g.add_observation(new_x.view(), new_y).expect("update");
                        g
                    },
                    BatchSize::LargeInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
