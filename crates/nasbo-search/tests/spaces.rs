//! Every strategy works on every space through `SearchSpace` alone: NASNet cells and a space
//! declared in a file, scored by synthetic evaluators (no training, no table).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use nasbo_core::declared::{DeclaredArch, DeclaredOneHot, DeclaredSpace};
use nasbo_core::nasnet::{Genotype, NasnetSpace};
use nasbo_core::{Evaluation, Evaluator, SearchSpace};
use nasbo_search::bo::{EncodingKind, Features};
use nasbo_search::{
    BayesOpt, BoConfig, Budget, EvolutionConfig, LocalSearch, RandomSearch, RegularizedEvolution,
    Reinforce, ReinforceConfig, Runner, Strategy, Study,
};

/// A deterministic score from an architecture's choices: a weighted sum that strategies can
/// climb (larger choice indices on earlier decisions are better).
fn score(choices: &[usize]) -> f64 {
    choices
        .iter()
        .enumerate()
        .map(|(i, &c)| c as f64 / (1.0 + i as f64 % 7.0))
        .sum()
}

struct ByChoices<'a, S>(&'a S);

impl<S: SearchSpace> Evaluator<S::Arch> for ByChoices<'_, S> {
    fn evaluate(&mut self, arch: &S::Arch, _seed: u64) -> Evaluation {
        let choices = self.0.to_choices(arch).expect("a categorical space");
        Evaluation::Ok {
            objective: score(&choices),
            reported: BTreeMap::new(),
            cost_s: 1.0,
        }
    }

    fn objective_name(&self) -> &str {
        "score"
    }
}

fn strategies<S: SearchSpace + 'static>(
    features: impl Fn() -> Vec<Features<S::Arch>>,
) -> Vec<Box<dyn Strategy<S>>>
where
    S::Arch: 'static,
{
    vec![
        Box::new(RandomSearch::<S::Arch>::default()),
        Box::new(RegularizedEvolution::<S::Arch>::new(
            EvolutionConfig::default(),
        )),
        Box::new(LocalSearch::<S::Arch>::default()),
        Box::new(Reinforce::<S::Arch>::new(ReinforceConfig::default())),
        Box::new(BayesOpt::<S>::new(BoConfig::default(), features()).unwrap()),
    ]
}

fn run_all<S: SearchSpace + 'static>(
    space: &S,
    strategies: Vec<Box<dyn Strategy<S>>>,
) -> Vec<(String, Study<S::Arch>)>
where
    S::Arch: 'static,
{
    strategies
        .into_iter()
        .map(|mut st| {
            let name = st.name().to_string();
            let study = Runner::new(space, Budget::Queries(40), 3, true)
                .unwrap()
                .run(st.as_mut(), &mut ByChoices(space))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, study)
        })
        .collect()
}

fn check<S: SearchSpace>(space: &S, runs: &[(String, Study<S::Arch>)]) {
    for (name, study) in runs {
        assert_eq!(study.len(), 40, "{name}");
        let mut seen = HashSet::new();
        for t in study.trials() {
            space
                .validate(&t.arch)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                seen.insert(t.arch.clone()),
                "{name} proposed an architecture twice"
            );
        }
    }
}

#[test]
fn every_strategy_searches_nasnet_cells() {
    let space = NasnetSpace::default();
    let runs = run_all(
        &space,
        strategies::<NasnetSpace>(|| vec![Features::one_hot(&NasnetSpace::default()).unwrap()]),
    );
    check(&space, &runs);
    // Text forms round-trip through the journal format.
    for (_, study) in &runs {
        for t in study.trials() {
            let g: Genotype = space.parse_arch(&space.format_arch(&t.arch)).unwrap();
            assert_eq!(g, t.arch);
        }
    }
}

#[test]
fn every_strategy_searches_a_declared_space() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/declared/chain.toml");
    let space = DeclaredSpace::from_path(&path).unwrap();
    let s2 = space.clone();
    let runs = run_all(
        &space,
        strategies::<DeclaredSpace>(move || {
            vec![Features::from_encoder("one-hot", DeclaredOneHot::new(&s2))]
        }),
    );
    check(&space, &runs);
}

/// Three parallel branches whose operations may be permuted, and a learning rate outside the
/// graph: 4³ · 2 = 128 architectures in 20 · 2 = 40 classes.
const BRANCHES: &str = r#"
name = "branches"

[graph]
nodes = ["in", "x0", "x1", "x2", "out"]
edges = [["x0", "out"], ["x1", "out"], ["x2", "out"]]

[[decision]]
name = "b0"
edge = ["in", "x0"]
choices = ["zero", "skip", "conv3", "conv5"]

[[decision]]
name = "b1"
edge = ["in", "x1"]
choices = ["zero", "skip", "conv3", "conv5"]

[[decision]]
name = "b2"
edge = ["in", "x2"]
choices = ["zero", "skip", "conv3", "conv5"]

[[decision]]
name = "lr"
choices = ["0.1", "0.01"]

[[equivalent]]
decisions = ["b0", "b1", "b2"]
"#;

/// A table that gives equivalent architectures one value (a sum over the branches).
struct BranchTable;

impl Evaluator<DeclaredArch> for BranchTable {
    fn evaluate(&mut self, arch: &DeclaredArch, _seed: u64) -> Evaluation {
        let c = arch.choices();
        let branches: f64 = c[..3]
            .iter()
            .map(|&v| [0.0, 1.0, 2.5, 2.0][v as usize])
            .sum();
        Evaluation::Ok {
            objective: branches + c[3] as f64 * 0.5,
            reported: BTreeMap::new(),
            cost_s: 1.0,
        }
    }

    fn objective_name(&self) -> &str {
        "score"
    }
}

#[test]
fn strategies_never_evaluate_two_equivalent_architectures_of_a_declared_space() {
    let space = DeclaredSpace::from_toml_str(BRANCHES, "branches.toml").unwrap();
    assert_eq!(space.cardinality(), Some(128));
    let wl =
        Features::from_encoder("wl-h1", space.wl_features(1).unwrap()).with_kind(EncodingKind::Wl);
    let config = BoConfig {
        initial: 5,
        ..BoConfig::default()
    };
    let strategies: Vec<Box<dyn Strategy<DeclaredSpace>>> = vec![
        Box::new(RandomSearch::<DeclaredArch>::default()),
        Box::new(RegularizedEvolution::<DeclaredArch>::new(
            EvolutionConfig::default(),
        )),
        Box::new(LocalSearch::<DeclaredArch>::default()),
        Box::new(Reinforce::<DeclaredArch>::new(ReinforceConfig::default())),
        Box::new(BayesOpt::<DeclaredSpace>::new(config, vec![wl]).unwrap()),
    ];
    for mut st in strategies {
        let name = st.name().to_string();
        let study = Runner::new(&space, Budget::Queries(50), 5, true)
            .unwrap()
            .run(st.as_mut(), &mut BranchTable)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let classes: HashSet<DeclaredArch> = study
            .trials()
            .iter()
            .map(|t| space.canonical(&t.arch))
            .collect();
        // Every class once, then the space is exhausted: 40 trials, not 50.
        assert_eq!(
            classes.len(),
            study.len(),
            "{name} evaluated one class twice"
        );
        assert_eq!(study.len(), 40, "{name}");
    }
}
