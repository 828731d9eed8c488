use std::collections::{BTreeMap, HashSet};
use std::io::Write;

use nasbo_core::nb201::{Cell, Nb201Space, Op};
use nasbo_core::{Evaluation, Evaluator};
use nasbo_search::journal::read_lines;
use nasbo_search::{Budget, Journal, RandomSearch, Runner, Status, Study};

/// A synthetic evaluator: the number of 3×3 convolutions plus a small tie-breaker, with a
/// failure for the all-`none` cell and a cost that depends on the cell.
#[derive(Debug)]
struct Synthetic;

impl Evaluator<Cell> for Synthetic {
    fn evaluate(&mut self, arch: &Cell, _seed: u64) -> Evaluation {
        if arch.ops.iter().all(|&o| o == Op::None) {
            return Evaluation::Failed {
                reason: "nothing to train".into(),
                cost_s: 1.0,
            };
        }
        let convs = arch.ops.iter().filter(|&&o| o == Op::Conv3x3).count() as f64;
        let objective = convs + arch.code() as f64 * 1e-6;
        let mut reported = BTreeMap::new();
        reported.insert("test_acc".into(), objective * 2.0);
        Evaluation::Ok {
            objective,
            reported,
            cost_s: 10.0 + convs,
        }
    }

    fn objective_name(&self) -> &str {
        "synthetic"
    }
}

fn run(seed: u64, budget: Budget) -> Study<Cell> {
    Runner::new(&Nb201Space, budget, seed, true)
        .unwrap()
        .run(&mut RandomSearch::default(), &mut Synthetic)
        .unwrap()
}

fn archs(study: &Study<Cell>) -> Vec<Cell> {
    study.trials().iter().map(|t| t.arch).collect()
}

#[test]
fn random_search_never_repeats_and_is_reproducible() {
    let a = run(7, Budget::Queries(300));
    let b = run(7, Budget::Queries(300));
    let c = run(8, Budget::Queries(300));
    assert_eq!(a.len(), 300);
    assert_eq!(archs(&a), archs(&b));
    assert_ne!(archs(&a), archs(&c));
    let distinct: HashSet<Cell> = archs(&a).into_iter().collect();
    assert_eq!(distinct.len(), 300);
}

#[test]
fn random_search_can_exhaust_the_space() {
    let study = run(1, Budget::Queries(20_000));
    assert_eq!(study.len(), 15_625, "stops once every cell is evaluated");
    let failed = study
        .trials()
        .iter()
        .filter(|t| t.status == Status::Failed)
        .count();
    assert_eq!(failed, 1);
    let best = study.best().unwrap();
    assert_eq!(best.arch, Cell::new([Op::Conv3x3; 6]));
}

#[test]
fn a_seconds_budget_stops_after_the_crossing_trial() {
    let study = run(3, Budget::Seconds(100.0));
    let total = study.total_cost_s();
    let last = study.trials().last().unwrap().cost_s;
    assert!(
        total >= 100.0 && total - last < 100.0,
        "total {total}, last {last}"
    );
}

#[test]
fn budget_zero_is_an_error() {
    let err = Runner::new(&Nb201Space, Budget::Queries(0), 0, true)
        .err()
        .unwrap();
    assert!(err.to_string().contains("at least one query"), "{err}");
    assert!(Runner::new(&Nb201Space, Budget::Seconds(0.0), 0, true).is_err());
}

#[test]
fn journal_round_trips_every_trial() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let journal = Journal::create(&path, false).unwrap();
    let study = Runner::new(&Nb201Space, Budget::Queries(40), 5, true)
        .unwrap()
        .with_journal(journal)
        .run(&mut RandomSearch::default(), &mut Synthetic)
        .unwrap();
    let (lines, _) = read_lines::<Cell>(&path).unwrap();
    assert_eq!(lines, study.trials());
    // The documented keys are present on every line.
    for line in std::fs::read_to_string(&path).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in [
            "trial",
            "arch",
            "status",
            "objective",
            "reported",
            "cost_s",
            "seed",
        ] {
            assert!(v.get(key).is_some(), "missing {key} in {line}");
        }
        assert!(v["arch"].as_str().unwrap().starts_with('|'));
    }
    assert!(matches!(
        Journal::create(&path, false),
        Err(nasbo_core::JournalError::Exists { .. })
    ));
}

#[test]
fn resume_after_a_torn_last_line_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let full = run(11, Budget::Queries(60));

    // A run killed after 25 trials, in the middle of writing the 26th line.
    let path = dir.path().join("killed.jsonl");
    let journal = Journal::create(&path, false).unwrap();
    Runner::new(&Nb201Space, Budget::Queries(26), 11, true)
        .unwrap()
        .with_journal(journal)
        .run(&mut RandomSearch::default(), &mut Synthetic)
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = text.trim_end().rfind('\n').unwrap() + 1 + 30;
    std::fs::write(&path, &text[..cut]).unwrap();

    let (journal, lines) = Journal::resume(&path).unwrap();
    assert_eq!(lines.len(), 25, "the torn line is ignored");
    let resumed = Runner::new(&Nb201Space, Budget::Queries(60), 11, true)
        .unwrap()
        .resume_from(journal, lines)
        .unwrap()
        .run(&mut RandomSearch::default(), &mut Synthetic)
        .unwrap();
    assert_eq!(archs(&resumed), archs(&full));
    let (on_disk, _) = read_lines::<Cell>(&path).unwrap();
    assert_eq!(on_disk.len(), 60);
    assert_eq!(
        on_disk.iter().map(|t| t.arch).collect::<Vec<_>>(),
        archs(&full)
    );
}

#[test]
fn resume_with_another_seed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    Runner::new(&Nb201Space, Budget::Queries(5), 1, true)
        .unwrap()
        .with_journal(Journal::create(&path, false).unwrap())
        .run(&mut RandomSearch::default(), &mut Synthetic)
        .unwrap();
    let (journal, lines) = Journal::resume(&path).unwrap();
    let err = Runner::new(&Nb201Space, Budget::Queries(10), 2, true)
        .unwrap()
        .resume_from(journal, lines)
        .err()
        .unwrap();
    assert!(err.to_string().contains("seed 1, not 2"), "{err}");
}

#[test]
fn a_corrupt_middle_line_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "{{not json").unwrap();
    writeln!(f, "{{}}").unwrap();
    drop(f);
    let err = Journal::resume(&path).unwrap_err().to_string();
    assert!(err.contains("bad.jsonl:1:"), "{err}");
}

/// Wraps a strategy and records, at each ask, how many observations were pending and how many
/// finished; and at each tell, which architecture was told.
struct Recording<St> {
    inner: St,
    asks: Vec<(usize, usize)>,
    told: Vec<Cell>,
    asked: Vec<Cell>,
}

impl<St: nasbo_search::Strategy<Nb201Space>> nasbo_search::Strategy<Nb201Space> for Recording<St> {
    fn name(&self) -> &str {
        "recording"
    }

    fn ask(
        &mut self,
        space: &Nb201Space,
        history: &[nasbo_search::Observation<Cell>],
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> nasbo_search::Result<Option<Cell>> {
        let pending = history.iter().filter(|o| o.pending).count();
        // The history is in the order of asking and only grows at its end.
        let archs: Vec<Cell> = history.iter().map(|o| o.arch).collect();
        assert_eq!(
            archs[..self.asked.len()],
            self.asked[..],
            "the history was reordered"
        );
        self.asked = archs;
        self.asks.push((pending, history.len() - pending));
        self.inner.ask(space, history, rng)
    }

    fn tell(&mut self, space: &Nb201Space, observation: &nasbo_search::Observation<Cell>) {
        assert!(!observation.pending);
        self.told.push(observation.arch);
        self.inner.tell(space, observation);
    }
}

fn simulate(seed: u64, budget: Budget, workers: usize) -> (Study<Cell>, Recording<RandomSearch>) {
    let mut strategy = Recording {
        inner: RandomSearch::default(),
        asks: Vec::new(),
        told: Vec::new(),
        asked: Vec::new(),
    };
    let study = Runner::new(&Nb201Space, budget, seed, true)
        .unwrap()
        .simulate_workers(workers)
        .run(&mut strategy, &mut Synthetic)
        .unwrap();
    (study, strategy)
}

#[test]
fn simulated_workers_keep_n_trials_running_on_one_clock() {
    let (study, rec) = simulate(5, Budget::Queries(40), 4);
    assert_eq!(study.len(), 40);
    // Every trial has its clock: it lasts its cost, and results arrive in order.
    let clocks: Vec<_> = study.trials().iter().map(|t| t.clock.unwrap()).collect();
    for (t, c) in study.trials().iter().zip(&clocks) {
        assert!((c.end_s - c.start_s - t.cost_s).abs() < 1e-9);
        assert!(c.worker < 4);
    }
    assert!(clocks.windows(2).all(|w| w[0].end_s <= w[1].end_s));
    // A worker runs one trial at a time, back to back from 0.
    for w in 0..4 {
        let mut mine: Vec<_> = clocks.iter().filter(|c| c.worker == w).collect();
        mine.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        assert!(!mine.is_empty(), "worker {w} never ran");
        assert_eq!(mine[0].start_s, 0.0);
        for pair in mine.windows(2) {
            assert!((pair[1].start_s - pair[0].end_s).abs() < 1e-9);
        }
    }
    // The first four asks see 0, 1, 2, 3 pending trials; every later one 3 (until the last
    // trials drain), and the strategy is told each trial once, in the order they end.
    assert_eq!(rec.asks[..4], [(0, 0), (1, 0), (2, 0), (3, 0)]);
    assert!(rec.asks[4..].iter().all(|&(pending, _)| pending == 3));
    assert_eq!(rec.asks.len(), 40);
    assert_eq!(rec.told, archs(&study));
    let distinct: HashSet<Cell> = archs(&study).into_iter().collect();
    assert_eq!(distinct.len(), 40);
    // The clock runs about four times faster than a sequential search's.
    let wall = clocks.last().unwrap().end_s;
    assert!(
        wall < study.total_cost_s() / 3.0,
        "{wall} vs {}",
        study.total_cost_s()
    );
}

#[test]
fn simulated_workers_are_reproducible_and_one_worker_is_the_sequential_search() {
    let (a, _) = simulate(9, Budget::Queries(30), 3);
    let (b, _) = simulate(9, Budget::Queries(30), 3);
    let strip = |s: &Study<Cell>| -> Vec<_> {
        s.trials()
            .iter()
            .map(|t| (t.arch, t.clock, t.eval_seed, t.objective))
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    let (one, _) = simulate(9, Budget::Queries(30), 1);
    assert_eq!(archs(&one), archs(&run(9, Budget::Queries(30))));
    assert!(one.trials().iter().all(|t| t.clock.is_none()));
}

#[test]
fn a_seconds_budget_with_simulated_workers_is_wall_clock() {
    let (study, _) = simulate(2, Budget::Seconds(60.0), 3);
    let clocks: Vec<_> = study.trials().iter().map(|t| t.clock.unwrap()).collect();
    assert!(
        clocks.iter().all(|c| c.start_s < 60.0),
        "no trial starts after the budget"
    );
    // Each worker is busy until the budget: its last trial ends at or after it.
    for w in 0..3 {
        let last = clocks
            .iter()
            .filter(|c| c.worker == w)
            .map(|c| c.end_s)
            .fold(0.0, f64::max);
        assert!(last >= 60.0, "worker {w} stopped at {last}");
    }
    // Three workers spend about three times the budget in training.
    assert!(study.total_cost_s() > 2.5 * 60.0);
}

#[test]
fn every_strategy_and_pending_rule_runs_with_simulated_workers() {
    use nasbo_search::bo::nb201_features;
    use nasbo_search::{
        BayesOpt, BoConfig, EvolutionConfig, LocalSearch, PendingRule, RegularizedEvolution,
        Reinforce, ReinforceConfig, Strategy,
    };
    let bo = |pending| {
        let config = BoConfig {
            pending,
            initial: 6,
            ..BoConfig::default()
        };
        let features = nb201_features(&config);
        Box::new(BayesOpt::<Nb201Space>::new(config, features).unwrap())
            as Box<dyn Strategy<Nb201Space>>
    };
    let strategies: Vec<(&str, Box<dyn Strategy<Nb201Space>>)> = vec![
        (
            "re",
            Box::new(RegularizedEvolution::new(EvolutionConfig::default())),
        ),
        ("ls", Box::new(LocalSearch::default())),
        (
            "reinforce",
            Box::new(Reinforce::new(ReinforceConfig::default())),
        ),
        ("bo", bo(PendingRule::Believer)),
        ("bo liar-min", bo(PendingRule::LiarMin)),
        ("bo liar-mean", bo(PendingRule::LiarMean)),
    ];
    for (name, mut strategy) in strategies {
        // Costs differ between cells, so a trial often ends before those asked earlier.
        let study = Runner::new(&Nb201Space, Budget::Queries(24), 3, true)
            .unwrap()
            .simulate_workers(4)
            .run(&mut strategy, &mut Synthetic)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(study.len(), 24, "{name}");
        let distinct: HashSet<Cell> = archs(&study).into_iter().collect();
        assert_eq!(distinct.len(), 24, "{name} repeated a proposal");
        let ends: Vec<f64> = study
            .trials()
            .iter()
            .map(|t| t.clock.unwrap().end_s)
            .collect();
        assert!(ends.windows(2).all(|w| w[0] <= w[1]), "{name}");
    }
}

/// [`Synthetic`] with seeded Gaussian noise of standard deviation 1.5 on the objective (the
/// noise-free value is reported as `noise_free`).
#[derive(Debug)]
struct NoisySynthetic;

impl Evaluator<Cell> for NoisySynthetic {
    fn evaluate(&mut self, arch: &Cell, seed: u64) -> Evaluation {
        match Synthetic.evaluate(arch, seed) {
            Evaluation::Ok {
                objective,
                mut reported,
                cost_s,
            } => {
                use rand::{Rng, SeedableRng};
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                let z: f64 = (0..12).map(|_| rng.gen::<f64>()).sum::<f64>() - 6.0;
                reported.insert("noise_free".into(), objective);
                Evaluation::Ok {
                    objective: objective + 1.5 * z,
                    reported,
                    cost_s,
                }
            }
            failed => failed,
        }
    }

    fn objective_name(&self) -> &str {
        "noisy"
    }
}

fn posterior_bo() -> nasbo_search::BayesOpt<Nb201Space> {
    let config = nasbo_search::BoConfig {
        incumbent: nasbo_search::IncumbentRule::Posterior,
        initial: 6,
        ..nasbo_search::BoConfig::default()
    };
    let features = nasbo_search::bo::nb201_features(&config);
    nasbo_search::BayesOpt::new(config, features).unwrap()
}

#[test]
fn bo_recommends_its_posterior_best_without_changing_its_proposals() {
    let mut gain = 0.0;
    for seed in 0..6 {
        let run = |strategy: &mut dyn nasbo_search::Strategy<Nb201Space>, workers| {
            Runner::new(&Nb201Space, Budget::Queries(30), seed, true)
                .unwrap()
                .simulate_workers(workers)
                .run(strategy, &mut NoisySynthetic)
                .unwrap()
        };
        let study = run(&mut posterior_bo(), 1);
        // `Recording` forwards asks and tells but never asks for a recommendation.
        let mut recording = Recording {
            inner: posterior_bo(),
            asks: Vec::new(),
            told: Vec::new(),
            asked: Vec::new(),
        };
        let unasked = run(&mut recording, 1);
        assert_eq!(archs(&study), archs(&unasked), "seed {seed}");
        assert!(unasked.trials().iter().all(|t| t.recommended.is_none()));
        let trials = study.trials();
        // From the first fit on, every trial names an earlier (or its own) finished trial.
        assert!(trials[10..].iter().all(|t| t.recommended.is_some()));
        for t in trials {
            if let Some(r) = t.recommended {
                assert!(r <= t.trial && trials[r].status == Status::Ok, "{t:?}");
            }
        }
        // The incumbent is the last recommendation; over seeds it is truly better than the
        // best noisy value.
        let truth = |t: &nasbo_search::Trial<Cell>| t.reported["noise_free"];
        let best_observed = trials
            .iter()
            .filter(|t| t.status == Status::Ok)
            .max_by(|a, b| a.objective.unwrap().total_cmp(&b.objective.unwrap()))
            .unwrap();
        let incumbent = study.best().unwrap();
        assert_eq!(Some(incumbent.trial), trials.last().unwrap().recommended);
        gain += truth(incumbent) - truth(best_observed);
        // With simulated workers, the recommendation is mapped to the trial numbers of the
        // completion order.
        let parallel = run(&mut posterior_bo(), 3);
        for t in parallel.trials() {
            if let Some(r) = t.recommended {
                assert!(r <= t.trial && parallel.trials()[r].status == Status::Ok);
            }
        }
    }
    assert!(
        gain > 0.0,
        "posterior-best gained {gain} over the best noisy value"
    );
}
