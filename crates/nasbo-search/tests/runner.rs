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
