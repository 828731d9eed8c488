//! Bayesian optimisation: the acquisition maximiser, batches, and search quality.

use std::collections::{BTreeMap, HashSet};

use nasbo_core::nb201::{Cell, Nb201Space, Op};
use nasbo_core::{ArchError, Evaluation, Evaluator, SearchSpace};
use nasbo_gp::acquisition::{Acquisition, LogExpectedImprovement};
use nasbo_gp::Direction;
use nasbo_search::bo::{nb201_features, propose_batch, EncodingKind, Features};
use nasbo_search::{BayesOpt, BoConfig, Budget, Observation, RandomSearch, Runner, Strategy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Four decisions of four choices: 256 architectures, small enough to enumerate.
#[derive(Debug, Clone, Copy)]
struct Tiny;

impl SearchSpace for Tiny {
    type Arch = [u8; 4];

    fn name(&self) -> &str {
        "tiny"
    }

    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> [u8; 4] {
        [
            rng.gen_range(0..4),
            rng.gen_range(0..4),
            rng.gen_range(0..4),
            rng.gen_range(0..4),
        ]
    }

    fn mutate<R: Rng + ?Sized>(&self, arch: &[u8; 4], rng: &mut R) -> [u8; 4] {
        let mut out = *arch;
        let d = rng.gen_range(0..4);
        out[d] = (out[d] + rng.gen_range(1..4)) % 4;
        out
    }

    fn neighbours(&self, arch: &[u8; 4]) -> Vec<[u8; 4]> {
        let mut out = Vec::new();
        for d in 0..4 {
            for k in 1..4 {
                let mut n = *arch;
                n[d] = (n[d] + k) % 4;
                out.push(n);
            }
        }
        out
    }

    fn validate(&self, arch: &[u8; 4]) -> nasbo_core::Result<()> {
        if arch.iter().all(|&c| c < 4) {
            Ok(())
        } else {
            Err(ArchError::Invalid(format!("{arch:?}")))
        }
    }

    fn cardinality(&self) -> Option<u128> {
        Some(256)
    }

    fn format_arch(&self, arch: &[u8; 4]) -> String {
        format!("{arch:?}")
    }

    fn parse_arch(&self, text: &str) -> nasbo_core::Result<[u8; 4]> {
        Err(ArchError::Parse {
            input: text.into(),
            reason: "not needed".into(),
        })
    }

    fn decisions(&self) -> Option<Vec<usize>> {
        Some(vec![4; 4])
    }

    fn to_choices(&self, arch: &[u8; 4]) -> Option<Vec<usize>> {
        Some(arch.iter().map(|&c| c as usize).collect())
    }

    fn from_choices(&self, c: &[usize]) -> nasbo_core::Result<[u8; 4]> {
        Ok([c[0] as u8, c[1] as u8, c[2] as u8, c[3] as u8])
    }
}

fn tiny_value(a: &[u8; 4]) -> f64 {
    // A smooth-ish landscape with interactions and a unique optimum at [3, 1, 2, 0].
    let target = [3u8, 1, 2, 0];
    let hits = a.iter().zip(target).filter(|(x, y)| **x == *y).count() as f64;
    90.0 - 10.0 / (1.0 + hits * hits)
        + (a[0] as f64 * 0.37 + a[1] as f64 * a[2] as f64 * 0.11).sin()
}

#[test]
fn the_acquisition_maximiser_finds_the_true_argmax_on_an_enumerable_space() {
    let all: Vec<[u8; 4]> = (0..256u32)
        .map(|i| {
            [
                (i % 4) as u8,
                (i / 4 % 4) as u8,
                (i / 16 % 4) as u8,
                (i / 64) as u8,
            ]
        })
        .collect();
    for seed in 0..5u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let history: Vec<Observation<[u8; 4]>> = (0..25)
            .map(|_| Tiny.sample(&mut rng))
            .collect::<HashSet<_>>()
            .into_iter()
            .map(|a| Observation {
                arch: a,
                value: Some(tiny_value(&a)),
                pending: false,
                metrics: Vec::new(),
            })
            .collect();
        let config = BoConfig {
            pool: 40,
            top_k: 3,
            ..BoConfig::default()
        };
        let features = vec![Features::one_hot(&Tiny).unwrap()];
        let mut bo = BayesOpt::<Tiny>::new(config, features).unwrap();
        // Ask once to register the history (and fit), then inspect the surrogate it fits.
        let proposal = bo.ask(&Tiny, &history, &mut rng).unwrap().unwrap();
        let surrogate = bo.fit(&history, 99).unwrap().unwrap();
        let seen: HashSet<[u8; 4]> = history.iter().map(|o| o.arch).collect();
        let unseen: Vec<[u8; 4]> = all.iter().copied().filter(|a| !seen.contains(a)).collect();
        let x = bo.features()[0].matrix(unseen.iter());
        let acq = LogExpectedImprovement::new(surrogate.best, Direction::Maximize);
        let scores = acq.evaluate(&surrogate.gp, x.view());
        let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let chosen = bo
            .maximise(&Tiny, &surrogate, &history, &mut rng)
            .unwrap()
            .unwrap();
        let chosen_score = scores[unseen
            .iter()
            .position(|a| *a == chosen)
            .expect("never an evaluated one")];
        assert!(
            (chosen_score - best).abs() < 1e-9,
            "seed {seed}: chose {chosen_score}, true max {best}"
        );
        assert!(!seen.contains(&proposal));
    }
}

#[test]
fn batches_by_kriging_believer_are_distinct_and_new() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let history: Vec<Observation<[u8; 4]>> = (0..20u8)
        .map(|i| [i % 4, (i / 4) % 4, (i * 7) % 4, (i * 3) % 4])
        .collect::<HashSet<_>>()
        .into_iter()
        .map(|a| Observation {
            arch: a,
            value: Some(tiny_value(&a)),
            pending: false,
            metrics: Vec::new(),
        })
        .collect();
    let mut bo =
        BayesOpt::<Tiny>::new(BoConfig::default(), vec![Features::one_hot(&Tiny).unwrap()])
            .unwrap();
    let batch = propose_batch(&mut bo, &Tiny, &history, 6, &mut rng).unwrap();
    assert_eq!(batch.len(), 6);
    let distinct: HashSet<_> = batch.iter().collect();
    assert_eq!(distinct.len(), 6);
    assert!(batch.iter().all(|a| history.iter().all(|o| o.arch != *a)));
}

/// The hidden-target objective of the strategy tests.
struct Target(Cell);

impl Evaluator<Cell> for Target {
    fn evaluate(&mut self, arch: &Cell, _seed: u64) -> Evaluation {
        let hits = arch
            .ops
            .iter()
            .zip(self.0.ops)
            .filter(|(a, b)| **a == *b)
            .count() as f64;
        Evaluation::Ok {
            objective: 40.0 + 8.0 * hits + (arch.code() % 97) as f64 * 1e-3,
            reported: BTreeMap::new(),
            cost_s: 1.0,
        }
    }

    fn objective_name(&self) -> &str {
        "agreement"
    }
}

fn queries_to_find(
    strategy: &mut dyn Strategy<Nb201Space>,
    target: Cell,
    seed: u64,
    budget: usize,
) -> usize {
    let study = Runner::new(&Nb201Space, Budget::Queries(budget), seed, true)
        .unwrap()
        .run(strategy, &mut Target(target))
        .unwrap();
    study
        .trials()
        .iter()
        .position(|t| t.arch == target)
        .map_or(budget, |i| i + 1)
}

#[test]
fn bo_finds_the_optimum_much_faster_than_random_search_and_is_reproducible() {
    // The objective counts the edges that agree with a hidden cell: a function of positions,
    // which one-hot features represent exactly and WL features (the NB201 default, blind to
    // where in the cell an operation sits) cannot, so this test measures BO on one-hot.
    let budget = 80;
    let (mut bo_total, mut random_total) = (0, 0);
    for seed in 0..5u64 {
        let target = Nb201Space.sample(&mut ChaCha8Rng::seed_from_u64(500 + seed));
        let config = BoConfig {
            encoding: Some(EncodingKind::OneHot),
            ..BoConfig::default()
        };
        let mut bo = BayesOpt::<Nb201Space>::new(config.clone(), nb201_features(&config)).unwrap();
        bo_total += queries_to_find(&mut bo, target, seed, budget);
        random_total += queries_to_find(&mut RandomSearch::<Cell>::default(), target, seed, budget);
    }
    assert!(
        bo_total * 2 < random_total,
        "BO {bo_total} vs random {random_total} queries over 5 seeds"
    );

    let run = |seed| {
        let config = BoConfig::default();
        let mut bo = BayesOpt::<Nb201Space>::new(config.clone(), nb201_features(&config)).unwrap();
        let study = Runner::new(&Nb201Space, Budget::Queries(30), seed, true)
            .unwrap()
            .run(&mut bo, &mut Target(Cell::new([Op::Conv3x3; 6])))
            .unwrap();
        study.trials().iter().map(|t| t.arch).collect::<Vec<_>>()
    };
    let a = run(1);
    assert_eq!(a, run(1));
    assert_ne!(a, run(2));
    assert_eq!(a.iter().collect::<HashSet<_>>().len(), 30);
}

#[test]
fn the_default_encoding_is_wl_on_nb201_and_one_hot_elsewhere() {
    let config = BoConfig::default();
    let bo = BayesOpt::<Nb201Space>::new(config.clone(), nb201_features(&config)).unwrap();
    assert_eq!(bo.config().encoding, Some(EncodingKind::Wl));
    let names: Vec<&str> = bo.features().iter().map(|f| f.name()).collect();
    assert_eq!(names, ["wl-h0", "wl-h1"]);
    assert_eq!(bo.config().target_floor_quantile(), 0.25);
    assert_eq!(bo.config().thompson_period(), 0);
    assert_eq!(bo.config().polish_period(), 2);
    let bo = BayesOpt::<Tiny>::new(config, vec![Features::one_hot(&Tiny).unwrap()]).unwrap();
    assert_eq!(bo.config().encoding, Some(EncodingKind::OneHot));
    assert_eq!(bo.config().target_floor_quantile(), 0.0);
    assert_eq!(bo.config().thompson_period(), 2);
    assert_eq!(bo.config().polish_period(), 0);
    // With several metrics, BO keeps the settings issue 4 measured: one-hot, no floor.
    let several = BoConfig::default().with_several_metrics_defaults();
    assert_eq!(several.encoding, Some(EncodingKind::OneHot));
    assert_eq!(several.kernel, Some(nasbo_gp::kernel::KernelKind::Matern52));
    assert_eq!(several.target_floor_quantile(), 0.0);
    assert_eq!(several.thompson_period(), 0);
    assert_eq!(several.polish_period(), 0);
}

#[test]
fn the_floor_lifts_the_worst_targets_to_the_quantile_and_keeps_the_best() {
    // 40 cells, a quarter of them disastrous (10 %): floored at the lower quartile, the GP
    // sees none of the disasters, and the incumbent is untouched.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut cells = HashSet::new();
    while cells.len() < 40 {
        cells.insert(Nb201Space.sample(&mut rng));
    }
    let history: Vec<Observation<Cell>> = cells
        .into_iter()
        .enumerate()
        .map(|(i, arch)| Observation {
            arch,
            value: Some(if i % 4 == 0 {
                10.0
            } else {
                80.0 + i as f64 / 4.0
            }),
            pending: false,
            metrics: Vec::new(),
        })
        .collect();
    let log_error = |v: f64| -(100.0 - v).ln();
    let fit = |floor: Option<f64>| {
        let config = BoConfig {
            encoding: Some(EncodingKind::Wl),
            floor_quantile: floor,
            ..BoConfig::default()
        };
        let mut bo = BayesOpt::<Nb201Space>::new(config.clone(), nb201_features(&config)).unwrap();
        let s = bo.fit(&history, 1).unwrap().unwrap();
        (s.gp.y_train().to_vec(), s.best)
    };
    let (floored, best) = fit(None);
    let mut sorted: Vec<f64> = history
        .iter()
        .map(|o| log_error(o.value.unwrap()))
        .collect();
    sorted.sort_by(f64::total_cmp);
    // The lower quartile of 40 values lies between the 10th and 11th smallest (0-based 9.75).
    let quartile = sorted[9] + 0.75 * (sorted[10] - sorted[9]);
    let lowest = floored.iter().copied().fold(f64::INFINITY, f64::min);
    assert!((lowest - quartile).abs() < 1e-12, "{lowest} vs {quartile}");
    assert_eq!(floored.iter().filter(|&&y| y == lowest).count(), 10);
    assert_eq!(best, log_error(80.0 + 39.0 / 4.0));
    let (raw, raw_best) = fit(Some(0.0));
    assert_eq!(
        raw.iter().copied().fold(f64::INFINITY, f64::min),
        log_error(10.0)
    );
    assert_eq!(best, raw_best);
}

#[test]
fn bad_settings_are_rejected() {
    let bad = BoConfig {
        restarts: 0,
        ..BoConfig::default()
    };
    assert!(BayesOpt::<Nb201Space>::new(bad.clone(), nb201_features(&bad)).is_err());
    // The kernel is typed: a config names it, and an unknown name is refused when read.
    let err = serde_json::from_str::<BoConfig>(r#"{"kernel": "cubic"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown kernel `cubic`"), "{err}");
    let read: BoConfig = serde_json::from_str(r#"{"kernel": "rbf"}"#).unwrap();
    assert_eq!(
        read.kernel,
        Some(nasbo_gp::kernel::KernelKind::SquaredExponential)
    );
    // Every default that depends on the encoding is settled in one place.
    let settled = BoConfig::default().for_encoding(EncodingKind::Wl);
    assert_eq!(settled.kernel, Some(nasbo_gp::kernel::KernelKind::Linear));
    assert_eq!(
        (
            settled.thompson_every,
            settled.polish_after,
            settled.floor_quantile
        ),
        (Some(0), Some(2), Some(0.25))
    );
    let one_hot = BoConfig::default().for_encoding(EncodingKind::OneHot);
    assert_eq!(
        one_hot.kernel,
        Some(nasbo_gp::kernel::KernelKind::Interactions)
    );
    assert_eq!(
        (one_hot.thompson_every, one_hot.polish_after),
        (Some(2), Some(0))
    );
    let bad = BoConfig {
        floor_quantile: Some(1.5),
        ..BoConfig::default()
    };
    let err = BayesOpt::<Nb201Space>::new(bad.clone(), nb201_features(&bad))
        .unwrap_err()
        .to_string();
    assert!(err.contains("floor-quantile"), "{err}");
    let from_toml: Result<BoConfig, _> = toml::from_str("encodin = \"path\"");
    assert!(from_toml.unwrap_err().to_string().contains("unknown field"));
}

#[test]
fn the_pairs_encoding_counts_shared_choices_and_shared_pairs_of_choices() {
    let pairs = Features::pairs(&Tiny).unwrap();
    // 4 decisions × 4 choices, then 6 pairs of decisions × 16 combinations.
    let archs = [[0, 1, 2, 3], [0, 1, 3, 0], [3, 2, 1, 0], [0, 1, 2, 3]];
    let x = pairs.matrix(archs.iter());
    assert_eq!(x.ncols(), 4 * 4 + 6 * 16);
    for row in x.rows() {
        assert!(row.iter().all(|&v| v == 0.0 || v == 1.0));
        assert_eq!(row.sum(), 4.0 + 6.0);
    }
    let gram = x.dot(&x.t());
    // Two shared choices (decisions 0 and 1) make one shared pair: 2 + 1.
    assert_eq!(gram[[0, 1]], 3.0);
    // One shared choice (decision 3 of the second and third) makes no pair.
    assert_eq!(gram[[1, 2]], 1.0);
    assert_eq!(gram[[0, 3]], 10.0);
    assert_eq!(gram[[0, 2]], 0.0);
}

#[test]
fn thompson_turns_replace_the_acquisition_on_schedule() {
    // Thompson sampling on every turn must give exactly the trajectory of the Thompson
    // acquisition, and a turn every second proposal a trajectory of its own.
    let run = |config: BoConfig| {
        let mut bo = BayesOpt::<Nb201Space>::new(config.clone(), nb201_features(&config)).unwrap();
        let study = Runner::new(&Nb201Space, Budget::Queries(24), 5, true)
            .unwrap()
            .run(&mut bo, &mut Target(Cell::new([Op::Conv3x3; 6])))
            .unwrap();
        study.trials().iter().map(|t| t.arch).collect::<Vec<_>>()
    };
    let base = BoConfig {
        acquisition: nasbo_search::bo::AcquisitionKind::LogEi,
        thompson_every: Some(0),
        ..BoConfig::default()
    };
    let every = run(BoConfig {
        thompson_every: Some(1),
        ..base.clone()
    });
    let thompson = run(BoConfig {
        acquisition: nasbo_search::bo::AcquisitionKind::Thompson,
        ..base.clone()
    });
    assert_eq!(every, thompson);
    let ei = run(base.clone());
    let mixed = run(BoConfig {
        thompson_every: Some(2),
        ..base
    });
    // The initial design is shared; the first proposal is EI's in both; the second differs.
    assert_eq!(mixed[..11], ei[..11]);
    assert_ne!(mixed, ei);
    assert_ne!(mixed, thompson);
}

#[test]
fn a_stale_incumbent_gets_its_neighbourhood_polished() {
    // The best of 30 observations comes first, so it has stood for 29 proposals: with
    // polish-after = 10 the next proposal must be one of its unevaluated neighbours. The
    // incumbent is the best architecture three or more edits from the optimum, so that
    // proposals without polishing need not be its neighbours.
    let mut archs: Vec<[u8; 4]> = (0..=255u8)
        .map(|i| [i % 4, (i / 4) % 4, (i / 16) % 4, i / 64])
        .collect();
    archs.sort_by(|a, b| tiny_value(b).total_cmp(&tiny_value(a)));
    let far = archs
        .iter()
        .position(|a| a.iter().zip(archs[0]).filter(|(x, y)| **x != *y).count() >= 3)
        .unwrap();
    let history: Vec<Observation<[u8; 4]>> = std::iter::once(&archs[far])
        .chain(&archs[far + 10..far + 39])
        .map(|&a| Observation {
            arch: a,
            value: Some(tiny_value(&a)),
            pending: false,
            metrics: Vec::new(),
        })
        .collect();
    let incumbent = archs[far];
    let neighbours: HashSet<[u8; 4]> = Tiny.neighbours(&incumbent).into_iter().collect();
    let propose = |polish_after: Option<usize>, seed: u64| {
        let config = BoConfig {
            thompson_every: Some(0),
            polish_after,
            ..BoConfig::default()
        };
        let mut bo =
            BayesOpt::<Tiny>::new(config, vec![Features::one_hot(&Tiny).unwrap()]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        propose_batch(&mut bo, &Tiny, &history, 1, &mut rng).unwrap()[0]
    };
    for seed in 0..4 {
        let p = propose(Some(10), seed);
        assert!(
            neighbours.contains(&p),
            "{p:?} is not a neighbour of {incumbent:?}"
        );
        assert!(history.iter().all(|o| o.arch != p));
    }
    // Once the neighbourhood is exhausted, proposals come from the whole pool again.
    let mut exhausted = history.clone();
    exhausted.extend(neighbours.iter().map(|&a| Observation {
        arch: a,
        value: Some(tiny_value(&a).min(tiny_value(&incumbent) - 1.0)),
        pending: false,
        metrics: Vec::new(),
    }));
    let config = BoConfig {
        thompson_every: Some(0),
        polish_after: Some(10),
        ..BoConfig::default()
    };
    let mut bo = BayesOpt::<Tiny>::new(config, vec![Features::one_hot(&Tiny).unwrap()]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let p = propose_batch(&mut bo, &Tiny, &exhausted, 1, &mut rng).unwrap()[0];
    assert!(exhausted.iter().all(|o| o.arch != p));
}
