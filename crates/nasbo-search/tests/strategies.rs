//! Every strategy against random search on a synthetic objective over the NB201 space.

use std::collections::{BTreeMap, HashSet};

use nasbo_core::nb201::{Cell, Nb201Space, Op};
use nasbo_core::{Evaluation, Evaluator, SearchSpace};
use nasbo_search::{
    Budget, EvolutionConfig, LocalSearch, RandomSearch, RegularizedEvolution, Reinforce,
    ReinforceConfig, Runner, Strategy, Study,
};

/// Objective: how many edges agree with a hidden target cell, plus a tiny per-cell tie-breaker,
/// so the target is the unique optimum. Cells with all edges `none` fail.
struct Target(Cell);

impl Evaluator<Cell> for Target {
    fn evaluate(&mut self, arch: &Cell, _seed: u64) -> Evaluation {
        if arch.ops.iter().all(|&o| o == Op::None) {
            return Evaluation::Failed {
                reason: "empty".into(),
                cost_s: 1.0,
            };
        }
        let hits = arch
            .ops
            .iter()
            .zip(self.0.ops)
            .filter(|(a, b)| **a == *b)
            .count() as f64;
        let tie = (arch.code() % 97) as f64 * 1e-4;
        Evaluation::Ok {
            objective: hits + tie,
            reported: BTreeMap::new(),
            cost_s: 1.0,
        }
    }

    fn objective_name(&self) -> &str {
        "agreement"
    }
}

/// Makes a fresh strategy.
type Make = Box<dyn Fn() -> Box<dyn Strategy<Nb201Space>>>;

fn strategies() -> Vec<(&'static str, Make)> {
    vec![
        (
            "random",
            Box::new(|| Box::new(RandomSearch::<Cell>::default())),
        ),
        (
            "re",
            Box::new(|| Box::new(RegularizedEvolution::<Cell>::new(EvolutionConfig::default()))),
        ),
        ("ls", Box::new(|| Box::new(LocalSearch::<Cell>::default()))),
        (
            "reinforce",
            Box::new(|| Box::new(Reinforce::<Cell>::new(ReinforceConfig::default()))),
        ),
    ]
}

fn run(
    make: &dyn Fn() -> Box<dyn Strategy<Nb201Space>>,
    target: Cell,
    seed: u64,
    budget: usize,
) -> Study<Cell> {
    let mut strategy = make();
    Runner::new(&Nb201Space, Budget::Queries(budget), seed, true)
        .unwrap()
        .run(strategy.as_mut(), &mut Target(target))
        .unwrap()
}

fn queries_to_find(study: &Study<Cell>, target: Cell, budget: usize) -> usize {
    study
        .trials()
        .iter()
        .position(|t| t.arch == target)
        .map_or(budget, |i| i + 1)
}

#[test]
fn every_strategy_finds_the_optimum_faster_than_random_search() {
    let budget = 1500;
    let seeds = 0..12u64;
    let mut means = BTreeMap::new();
    for (name, make) in strategies() {
        let total: usize = seeds
            .clone()
            .map(|seed| {
                let target = Nb201Space.sample(
                    &mut <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1000 + seed),
                );
                let study = run(make.as_ref(), target, seed, budget);
                queries_to_find(&study, target, budget)
            })
            .sum();
        means.insert(name, total as f64 / seeds.clone().count() as f64);
    }
    eprintln!("mean queries to the optimum: {means:?}");
    let random = means["random"];
    for (name, mean) in &means {
        if *name != "random" {
            assert!(
                *mean < 0.5 * random,
                "{name} needs {mean:.0} queries on average, random {random:.0}: {means:?}"
            );
        }
    }
}

#[test]
fn no_strategy_requeries_and_the_same_seed_gives_the_same_trajectory() {
    let target = Cell::new([
        Op::Conv3x3,
        Op::Skip,
        Op::Conv1x1,
        Op::AvgPool3x3,
        Op::Conv3x3,
        Op::None,
    ]);
    for (name, make) in strategies() {
        let a = run(make.as_ref(), target, 5, 400);
        let b = run(make.as_ref(), target, 5, 400);
        let c = run(make.as_ref(), target, 6, 400);
        let archs = |s: &Study<Cell>| s.trials().iter().map(|t| t.arch).collect::<Vec<_>>();
        assert_eq!(a.len(), 400, "{name}");
        assert_eq!(
            archs(&a).into_iter().collect::<HashSet<_>>().len(),
            400,
            "{name} re-queried a cell"
        );
        assert_eq!(archs(&a), archs(&b), "{name} is not reproducible");
        assert_ne!(archs(&a), archs(&c), "{name} ignores its seed");
    }
}
