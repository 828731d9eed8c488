//! What the commands show while they work: a progress bar on a terminal, one plain line per
//! trial when the output goes to a log (a job, `nohup`, CI), nothing with `--quiet`.

use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use nasbo_core::Status;
use nasbo_experiment::search::{Reporter, TrialNews};

use crate::train_cmd::duration_words;

/// The progress of one search.
#[derive(Debug)]
pub struct SearchProgress {
    bar: ProgressBar,
    seconds: bool,
    log: bool,
    len: u64,
    started: Instant,
    replayed: Mutex<usize>,
}

impl SearchProgress {
    /// A bar over `len` trials (or seconds of the budget: simulated on a table, real when training), hidden when `quiet`; `log` writes a
    /// line per trial.
    pub fn new(len: u64, seconds: bool, quiet: bool, log: bool) -> SearchProgress {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(len)
        };
        let unit = if seconds { "s of budget" } else { "trials" };
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} {{msg}}"
            ))
            .expect("valid template"),
        );
        SearchProgress {
            bar,
            seconds,
            log,
            len,
            started: Instant::now(),
            replayed: Mutex::new(0),
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// One plain line about the trial just recorded, with an estimate of the time left.
    fn log_line(&self, t: &TrialNews) -> String {
        let what = match (t.status, t.objective) {
            (Status::Ok, Some(v)) => format!("objective {v:.4}"),
            // A reason may quote many lines of a trainer's stderr: the journal keeps them.
            (Status::Failed, _) => format!(
                "failed: {}",
                t.reason
                    .as_deref()
                    .and_then(|r| r.lines().next())
                    .unwrap_or("no reason given")
            ),
            _ => "pending".to_string(),
        };
        let best = t.best.map(|v| format!(", best {v:.4}")).unwrap_or_default();
        let elapsed = self.started.elapsed().as_secs_f64();
        let replayed = *self.replayed.lock().expect("not poisoned");
        let done_here = t.trials.saturating_sub(replayed).max(1) as f64;
        let (position, left) = if self.seconds {
            (
                format!("{:.0}/{} s of budget", t.total_cost_s, self.len),
                String::new(),
            )
        } else {
            let remaining = self.len.saturating_sub(t.trials as u64) as f64;
            (
                format!("{}/{}", t.trials, self.len),
                format!(
                    ", about {} left",
                    duration_words(elapsed / done_here * remaining)
                ),
            )
        };
        format!(
            "trial {position}: {what}{best} ({:.1} s; {} elapsed{left})",
            t.seconds,
            duration_words(elapsed)
        )
    }
}

impl Reporter for SearchProgress {
    fn note(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    fn started(&self, replayed: usize) {
        *self.replayed.lock().expect("not poisoned") = replayed;
    }

    fn trial(&self, t: &TrialNews) {
        if self.log {
            eprintln!("{}", self.log_line(t));
        }
        let position = if self.seconds {
            t.total_cost_s as u64
        } else {
            t.trials as u64
        };
        self.bar.set_position(position);
        let failed = if t.status == Status::Failed {
            " (last trial failed)"
        } else {
            ""
        };
        if let Some(best) = t.best {
            let test = t
                .best_test
                .map(|v| format!(", test {v:.2}"))
                .unwrap_or_default();
            self.bar
                .set_message(format!("best valid {best:.2}{test}{failed}"));
        }
    }
}

/// The progress of a benchmark: one bar over its runs.
#[derive(Debug)]
pub struct BenchProgress {
    bar: ProgressBar,
}

impl BenchProgress {
    /// A bar, hidden when `quiet`.
    pub fn new(quiet: bool) -> BenchProgress {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} runs (eta {eta}) {msg}",
            )
            .expect("valid template"),
        );
        BenchProgress { bar }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Reporter for BenchProgress {
    fn note(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    fn runs(&self, total: usize) {
        self.bar.set_length(total as u64);
    }

    fn run_done(&self, label: &str) {
        self.bar.inc(1);
        self.bar.set_message(format!("last: {label}"));
    }
}
