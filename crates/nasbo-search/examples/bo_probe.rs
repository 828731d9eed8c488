//! Where does the model put the best cell? Runs BO on the NAS-Bench-201 table for one seed to
//! N queries, refits the surrogate on that history under each given setting, and prints the
//! best-validation cell's predicted mean, standard deviation and rank (by mean and by log-EI,
//! among all unevaluated cells), with the acquisition's favourites and the true best unseen.
//!
//! cargo run --release -p nasbo-search --example bo_probe -- TABLE SEED N 'RUN-SETTING' ['REFIT-SETTING' ...]
//!
//! Settings are `key=value` pairs of the `[bo]` table ('' for the defaults); with no refit
//! setting the run's own setting is used.

#[path = "support/settings.rs"]
mod settings;

use std::collections::HashSet;

use nasbo_bench::{Dataset, Nb201Benchmark};
use nasbo_core::nb201::{Cell, Nb201Space};
use nasbo_gp::acquisition::{Acquisition, LogExpectedImprovement};
use nasbo_gp::Direction;
use nasbo_search::bo::nb201_features;
use nasbo_search::{BayesOpt, Budget, Observation, Runner};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: bo_probe TABLE SEED N RUN-SETTING [REFIT-SETTING ...]");
        std::process::exit(2);
    }
    let bench = Nb201Benchmark::load(&args[0], Dataset::Cifar10).unwrap();
    let seed: u64 = args[1].parse().expect("SEED is a number");
    let n: usize = args[2].parse().expect("N is a number");
    let config = settings::parse(&args[3]);
    let mut bo = BayesOpt::<Nb201Space>::new(config.clone(), nb201_features(&config)).unwrap();
    let study = Runner::new(&Nb201Space, Budget::Queries(n), seed, true)
        .unwrap()
        .run(&mut bo, &mut bench.clone())
        .unwrap();
    let history: Vec<Observation<Cell>> = study
        .trials()
        .iter()
        .map(|t| Observation::of(t, true))
        .collect();
    let seen: HashSet<Cell> = history.iter().map(|o| o.arch).collect();
    let incumbent = study.best().expect("N ≥ 1").arch;
    println!(
        "seed {seed}, {n} queries: incumbent {incumbent} (valid {:.3})",
        bench.valid_acc(&incumbent)
    );
    let best = bench.optimum().best_valid.0;
    let unseen: Vec<Cell> = Nb201Space
        .all_cells()
        .filter(|c| !seen.contains(c))
        .collect();
    let refits = if args.len() > 4 {
        &args[4..]
    } else {
        &args[3..4]
    };
    for refit in refits {
        let config = settings::parse(refit);
        let mut model =
            BayesOpt::<Nb201Space>::new(config.clone(), nb201_features(&config)).unwrap();
        let surrogate = model.fit(&history, 1).unwrap().expect("N ≥ 2");
        let features = &model.features()[surrogate.encoding];
        println!(
            "== refit `{refit}`: {} ({} features), {:?}",
            features.name(),
            surrogate.gp.dim(),
            surrogate.gp.hyperparameters()
        );
        let x = features.matrix(unseen.iter());
        let (mean, var) = surrogate.gp.predict_mean_variance(x.view());
        let log_ei = LogExpectedImprovement::new(surrogate.best, Direction::Maximize)
            .evaluate(&surrogate.gp, x.view());
        let ranked = |score: &dyn Fn(usize) -> f64| {
            let mut order: Vec<usize> = (0..unseen.len()).collect();
            order.sort_by(|&p, &q| score(q).total_cmp(&score(p)));
            order
        };
        let by_mean = ranked(&|i| mean[i]);
        let by_ei = ranked(&|i| log_ei[i]);
        let by_truth = ranked(&|i| bench.valid_acc(&unseen[i]));
        let rank_in = |order: &[usize], i: usize| order.iter().position(|&j| j == i);
        let show = |i: usize| {
            format!(
                "{} mean {:.3} sd {:.3} log-EI {:.2} valid {:.3} (rank by mean {:?}, by log-EI {:?})",
                unseen[i],
                mean[i],
                var[i].sqrt(),
                log_ei[i],
                bench.valid_acc(&unseen[i]),
                rank_in(&by_mean, i),
                rank_in(&by_ei, i)
            )
        };
        match unseen.iter().position(|c| *c == best) {
            Some(i) => println!("best cell: {}", show(i)),
            None => println!("best cell: already evaluated"),
        }
        println!("log-EI's favourites:");
        for &i in by_ei.iter().take(3) {
            println!("  {}", show(i));
        }
        println!("best unseen cells:");
        for &i in by_truth.iter().take(4) {
            println!("  {}", show(i));
        }
    }
}
