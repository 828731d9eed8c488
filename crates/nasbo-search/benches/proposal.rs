//! Time of one BO proposal (hyperparameter fit, warm-started from the previous fit, plus
//! acquisition maximisation) at several history sizes: WL features (the default on NB201) and
//! one-hot, each with log-EI and with a Thompson sample (the default alternates the two), and
//! path with log-EI; and on a declared space of 16 decisions of 4 choices (4^16 ≈ 4.3 billion
//! architectures) with the declared-space defaults (one-hot encoding, interactions kernel,
//! log-EI alternating with Thompson samples) at 150 observations.
//!
//! cargo bench -p nasbo-search --bench proposal

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use nasbo_core::nb201::Nb201Space;
use nasbo_core::SearchSpace;
use nasbo_search::bo::{nb201_features, EncodingKind};
use nasbo_search::{BayesOpt, BoConfig, Observation};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A history of `n` distinct random cells scored by a smooth synthetic function with the
/// NB201 table's range (accuracies between 10 and 92).
fn history(n: usize) -> Vec<Observation<nasbo_core::nb201::Cell>> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let arch = Nb201Space.sample(&mut rng);
        if !seen.insert(arch) {
            continue;
        }
        let score: f64 = arch
            .ops
            .iter()
            .enumerate()
            .map(|(i, op)| ((op.code() * (i + 2)) % 5) as f64)
            .sum();
        out.push(Observation {
            arch,
            value: Some(10.0 + 82.0 * score / 24.0),
            pending: false,
            metrics: Vec::new(),
        });
    }
    out
}

fn proposal(c: &mut Criterion) {
    let mut group = c.benchmark_group("bo_proposal");
    group.sample_size(10);
    // The default alternates log-EI proposals with Thompson samples: time both kinds.
    let variants = [
        ("one-hot/log-ei", EncodingKind::OneHot, Some(0)),
        ("one-hot/thompson", EncodingKind::OneHot, Some(1)),
        ("path/log-ei", EncodingKind::Path, Some(0)),
        ("wl/log-ei", EncodingKind::Wl, Some(0)),
        ("wl/thompson", EncodingKind::Wl, Some(1)),
    ];
    for (name, encoding, thompson_every) in variants {
        for n in [50usize, 150] {
            // Polishing off: a polished proposal only scores the incumbent's neighbours, so
            // the full search over the pool is the one to time.
            let config = BoConfig {
                encoding: Some(encoding),
                thompson_every,
                polish_after: Some(0),
                ..BoConfig::default()
            };
            let hist = history(n);
            let mut bo =
                BayesOpt::<Nb201Space>::new(config.clone(), nb201_features(&config)).unwrap();
            // The first fit has no warm start; a search refits after every observation.
            bo.fit(&hist, 0).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let id = BenchmarkId::new(name, n);
            group.bench_with_input(id, &hist, |b, hist| {
                b.iter(|| {
                    let surrogate = bo.fit(hist, 1).unwrap().unwrap();
                    bo.maximise(&Nb201Space, &surrogate, hist, &mut rng)
                        .unwrap()
                })
            });
        }
    }
    group.finish();
}

/// A declared space of 16 decisions, 4 choices each.
fn wide_space() -> nasbo_core::declared::DeclaredSpace {
    let mut text = String::from("name = \"wide\"\n");
    for d in 0..16 {
        text.push_str(&format!(
            "[[decision]]\nname = \"d{d}\"\nchoices = [\"a\", \"b\", \"c\", \"e\"]\n"
        ));
    }
    nasbo_core::declared::DeclaredSpace::from_toml_str(&text, "wide.toml").unwrap()
}

fn declared_proposal(c: &mut Criterion) {
    use nasbo_search::bo::Features;
    let space = wide_space();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut seen = std::collections::HashSet::new();
    let mut hist = Vec::new();
    while hist.len() < 150 {
        let arch = space.sample(&mut rng);
        if !seen.insert(arch.clone()) {
            continue;
        }
        // Main effects and one interaction per pair of neighbouring decisions.
        let choices = space.to_choices(&arch).unwrap();
        let score: f64 = choices
            .windows(2)
            .map(|w| ((w[0] * 3 + w[1]) % 4) as f64)
            .sum::<f64>()
            + choices.iter().map(|&c| c as f64 * 0.5).sum::<f64>();
        hist.push(Observation {
            arch,
            value: Some(10.0 + score),
            pending: false,
            metrics: Vec::new(),
        });
    }
    let mut group = c.benchmark_group("bo_proposal_declared_16x4");
    group.sample_size(10);
    for (name, thompson_every) in [("one-hot/log-ei", Some(0)), ("one-hot/thompson", Some(1))] {
        let config = BoConfig {
            thompson_every,
            polish_after: Some(0),
            ..BoConfig::default()
        }
        .for_encoding(EncodingKind::OneHot);
        let features = vec![Features::one_hot(&space).unwrap()];
        let mut bo = BayesOpt::new(config, features).unwrap();
        bo.fit(&hist, 0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        group.bench_with_input(BenchmarkId::new(name, 150), &hist, |b, hist| {
            b.iter(|| {
                let surrogate = bo.fit(hist, 1).unwrap().unwrap();
                bo.maximise(&space, &surrogate, hist, &mut rng).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, proposal, declared_proposal);
criterion_main!(benches);
