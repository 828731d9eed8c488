//! Fits a GP on a CSV file and scores it on another.
//!
//! `cargo run --release -p nasbo-gp --example fit_csv -- --train TRAIN.csv --test TEST.csv
//! [--kernel matern52] [--restarts N] [--seed S] [--max-iters K]`
//!
//! Both CSVs have a header and the target in the last column. Prints one JSON line:
//! `{"n_train":…, "d":…, "fit_s":…, "predict_s":…, "rmse":…, "nlpd":…}` (NLPD is the mean
//! negative log predictive density of the test targets, noise included).

#[path = "support/cpu.rs"]
mod cpu;

use cpu::cpu_seconds;
use linfa::prelude::*;
use nasbo_gp::{Gp, KernelKind};
use ndarray::{Array1, Array2};
use std::process::ExitCode;
use std::time::Instant;

struct Args {
    train: String,
    test: String,
    kernel: KernelKind,
    restarts: usize,
    seed: u64,
    max_iters: u64,
    verbose: bool,
}

const USAGE: &str = "usage: fit_csv --train TRAIN.csv --test TEST.csv [--kernel matern52|matern32|se|linear] [--restarts N] [--seed S] [--max-iters K] [--verbose]";

fn parse_args() -> Result<Args, String> {
    let mut train = None;
    let mut test = None;
    let mut kernel = KernelKind::Matern52;
    let mut restarts = 3;
    let mut seed = 0;
    let mut max_iters = 200;
    let mut verbose = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--train" => train = Some(value("--train")?),
            "--test" => test = Some(value("--test")?),
            "--kernel" => {
                let v = value("--kernel")?;
                kernel = KernelKind::parse(&v).ok_or(format!("unknown kernel {v:?}\n{USAGE}"))?;
            }
            "--restarts" => {
                let v = value("--restarts")?;
                restarts = v
                    .parse()
                    .ok()
                    .filter(|&n: &usize| n >= 1)
                    .ok_or(format!("--restarts must be an integer ≥ 1, got {v:?}"))?;
            }
            "--seed" => {
                let v = value("--seed")?;
                seed = v.parse().map_err(|_| format!("bad --seed {v:?}"))?;
            }
            "--max-iters" => {
                let v = value("--max-iters")?;
                max_iters = v.parse().map_err(|_| format!("bad --max-iters {v:?}"))?;
            }
            "--verbose" => verbose = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        train: train.ok_or(format!("--train is required\n{USAGE}"))?,
        test: test.ok_or(format!("--test is required\n{USAGE}"))?,
        kernel,
        restarts,
        seed,
        max_iters,
        verbose,
    })
}

/// Reads a numeric CSV with a header; the last column is the target.
fn read_csv(path: &str) -> Result<(Array2<f64>, Array1<f64>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: cannot read: {e}"))?;
    let mut lines = text.lines().enumerate();
    let header = loop {
        match lines.next() {
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((_, l)) => break l,
            None => return Err(format!("{path}: empty file (a header line is required)")),
        }
    };
    let width = header.split(',').count();
    if width < 2 {
        return Err(format!(
            "{path}:1: header has {width} column; need at least one input and the target"
        ));
    }
    let mut values = Vec::new();
    let mut rows = 0;
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != width {
            return Err(format!(
                "{path}:{}: {} fields, the header has {width}",
                i + 1,
                fields.len()
            ));
        }
        for (j, f) in fields.iter().enumerate() {
            let v: f64 = f.trim().parse().map_err(|_| {
                format!(
                    "{path}:{}: column {}: not a number: {:?}",
                    i + 1,
                    j + 1,
                    f.trim()
                )
            })?;
            if !v.is_finite() {
                return Err(format!(
                    "{path}:{}: column {}: not finite: {v}",
                    i + 1,
                    j + 1
                ));
            }
            values.push(v);
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(format!("{path}: no data rows after the header"));
    }
    let all = Array2::from_shape_vec((rows, width), values).map_err(|e| e.to_string())?;
    let x = all
        .slice_axis(ndarray::Axis(1), (..width - 1).into())
        .to_owned();
    let y = all.column(width - 1).to_owned();
    Ok((x, y))
}

fn json_opt(v: Option<f64>) -> String {
    v.map_or("null".to_string(), |v| format!("{v:.3}"))
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let (x, y) = read_csv(&args.train)?;
    let (xt, yt) = read_csv(&args.test)?;
    if xt.ncols() != x.ncols() {
        return Err(format!(
            "{}: {} input columns, but {} has {}",
            args.test,
            xt.ncols(),
            args.train,
            x.ncols()
        ));
    }
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let gp = Gp::params()
        .kernel(args.kernel)
        .restarts(args.restarts)
        .seed(args.seed)
        .max_iters(args.max_iters)
        .fit(&Dataset::new(x.clone(), y))
        .map_err(|e| format!("fit failed: {e}"))?;
    let fit_s = start.elapsed().as_secs_f64();
    let cpu1 = cpu_seconds();
    if args.verbose {
        eprintln!("{:?}", gp.hyperparameters());
    }
    let start = Instant::now();
    let (mean, var) = gp.predict_mean_variance(xt.view());
    let predict_s = start.elapsed().as_secs_f64();
    let cpu2 = cpu_seconds();
    let fit_cpu = cpu0.zip(cpu1).map(|(a, b)| b - a);
    let predict_cpu = cpu1.zip(cpu2).map(|(a, b)| b - a);
    let noise = gp.hyperparameters().noise_variance;
    let m = yt.len() as f64;
    let rmse = ((&mean - &yt).mapv(|e| e * e).sum() / m).sqrt();
    let nlpd = mean
        .iter()
        .zip(var.iter())
        .zip(yt.iter())
        .map(|((mu, v), y)| {
            let s2 = v + noise;
            0.5 * (2.0 * std::f64::consts::PI * s2).ln() + (y - mu).powi(2) / (2.0 * s2)
        })
        .sum::<f64>()
        / m;
    println!(
        "{{\"n_train\":{},\"d\":{},\"n_test\":{},\"kernel\":\"{:?}\",\"restarts\":{},\"seed\":{},\"fit_s\":{fit_s:.4},\"predict_s\":{predict_s:.4},\"fit_cpu_s\":{},\"predict_cpu_s\":{},\"rmse\":{rmse:.6},\"nlpd\":{nlpd:.6},\"log_marginal_likelihood\":{:.4},\"lbfgs_iterations\":{},\"likelihood_evaluations\":{},\"screening_iterations\":{},\"screening_evaluations\":{}}}",
        x.nrows(),
        x.ncols(),
        xt.nrows(),
        args.kernel,
        args.restarts,
        args.seed,
        json_opt(fit_cpu),
        json_opt(predict_cpu),
        gp.log_marginal_likelihood(),
        gp.fit_iterations(),
        gp.fit_evaluations(),
        gp.fit_screening().0,
        gp.fit_screening().1
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
