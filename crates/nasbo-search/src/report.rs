//! Summaries of many search runs: test regret of the incumbent at checkpoints, and how many
//! queries a strategy needs to reach the best cell.
//!
//! Everything here works on plain data. A run is first reduced to a [`Trajectory`] (per trial:
//! the simulated cost spent before it started, and the reported test value of the incumbent
//! after it), either from a [`Study`] or from hand-made [`TrialPoint`]s; [`summarize`] then
//! computes, per checkpoint, the mean, standard deviation and standard error over runs.
//!
//! Conventions, shared with `nasbo bench` and the Optuna reference script:
//! - the *incumbent* after `k` trials is the trial the strategy recommended after the `k`-th
//!   ([`TrialPoint::recommended`]: BO's posterior-best under a noisy objective) where it
//!   recommends one, else the trial with the best objective (the split searched on) among the
//!   first `k`; the earliest wins ties;
//! - *regret* is `|reference − incumbent's reported test value|`, where `reference` is the
//!   table's best test value (the largest accuracy, or the smallest error where smaller is
//!   better: either way the distance to it);
//! - at a *query* checkpoint `q`, the incumbent after `min(q, len)` trials is used (a run that
//!   stopped early keeps its last incumbent);
//! - at a *seconds* checkpoint `t`, the incumbent among the trials *started* before `t`
//!   seconds of simulated cost had been spent: exactly the trials a run with budget
//!   `Budget::Seconds(t)` would have evaluated (the trial that crosses the line counts, as in
//!   the NAS-Bench-201 paper's protocol);
//! - *queries to target* is the 1-based position of the first trial that reaches the target:
//!   an architecture with the table's best searched-on value (the cell with the best validation
//!   accuracy, or any that ties it), or one that the space declares equivalent to it (see
//!   `SearchSpace::declares_equivalence`); the caller's `is_target` decides. Runs that never
//!   reach it count as more than the budget, so the median is reported as "> budget" when it
//!   falls among them.

use std::fmt;

use serde::Serialize;

use crate::{Status, Study};

/// The query checkpoints of the summary tables (those within the budget are used).
pub const QUERY_CHECKPOINTS: [usize; 7] = [10, 20, 50, 100, 150, 200, 300];

/// The fractions of a seconds budget used as checkpoints.
pub const SECONDS_FRACTIONS: [f64; 5] = [0.1, 0.25, 0.5, 0.75, 1.0];

/// A point of a run at which the incumbent is summarised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "unit", content = "at")]
pub enum Checkpoint {
    /// After this many queries.
    Queries(usize),
    /// After this many simulated seconds of training.
    Seconds(f64),
    /// After this many seconds on the simulated wall-clock of a run with simulated workers
    /// (the trials whose result is known by then; a sequential run's clock is the running sum
    /// of its trials' costs).
    Wall(f64),
}

impl Checkpoint {
    /// The checkpoint's position as a number (queries or seconds).
    pub fn value(&self) -> f64 {
        match *self {
            Checkpoint::Queries(q) => q as f64,
            Checkpoint::Seconds(s) | Checkpoint::Wall(s) => s,
        }
    }

    /// `queries` or `seconds`.
    pub fn unit(&self) -> &'static str {
        match self {
            Checkpoint::Queries(_) => "queries",
            Checkpoint::Seconds(_) => "seconds",
            Checkpoint::Wall(_) => "wall-seconds",
        }
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Checkpoint::Queries(q) => write!(f, "{q}"),
            Checkpoint::Seconds(s) => write!(f, "{s}s"),
            Checkpoint::Wall(s) => write!(f, "{s}s-wall"),
        }
    }
}

/// The checkpoints of a query budget: [`QUERY_CHECKPOINTS`] within the budget, and the budget
/// itself when it is not among them.
pub fn query_checkpoints(budget: usize) -> Vec<Checkpoint> {
    let mut out: Vec<Checkpoint> = QUERY_CHECKPOINTS
        .iter()
        .filter(|&&q| q <= budget)
        .map(|&q| Checkpoint::Queries(q))
        .collect();
    if !QUERY_CHECKPOINTS.contains(&budget) && budget > 0 {
        out.push(Checkpoint::Queries(budget));
    }
    out
}

/// The checkpoints of a seconds budget: [`SECONDS_FRACTIONS`] of it (10 %, 25 %, 50 %, 75 %
/// and 100 %; for the NAS-Bench-201 paper's 12,000 s: 1,200, 3,000, 6,000, 9,000, 12,000 s).
pub fn seconds_checkpoints(budget_s: f64) -> Vec<Checkpoint> {
    SECONDS_FRACTIONS
        .iter()
        .map(|f| Checkpoint::Seconds(f * budget_s))
        .collect()
}

/// One trial as the summary sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrialPoint {
    /// Seconds the trial cost.
    pub cost_s: f64,
    /// When its result was known on a simulated wall-clock (simulated workers); `None` in a
    /// sequential run, whose clock is the running sum of the costs.
    pub end_s: Option<f64>,
    /// The value searched on; `None` for a failed trial.
    pub objective: Option<f64>,
    /// The reported test value (never searched on); `None` for a failed trial.
    pub test: Option<f64>,
    /// Whether the trial evaluated the target architecture.
    pub is_target: bool,
    /// The trial (its position among the points) the strategy recommended once this one was
    /// known ([`crate::Trial::recommended`]); `None`: the best objective so far is the incumbent.
    pub recommended: Option<usize>,
}

/// One run reduced to what the summary needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    start_cost_s: Vec<f64>,
    end_s: Vec<f64>,
    incumbent_test: Vec<Option<f64>>,
    hit: Option<usize>,
    total_cost_s: f64,
}

impl Trajectory {
    /// The trajectory of a run's trials, in order; `maximize` says whether a larger objective is
    /// better.
    pub fn from_points(points: &[TrialPoint], maximize: bool) -> Trajectory {
        let mut start_cost_s = Vec::with_capacity(points.len());
        let mut end_s = Vec::with_capacity(points.len());
        let mut incumbent_test = Vec::with_capacity(points.len());
        let mut spent = 0.0;
        let mut best: Option<(f64, Option<f64>)> = None;
        let mut hit = None;
        for (i, p) in points.iter().enumerate() {
            start_cost_s.push(spent);
            spent += p.cost_s;
            // Trials are recorded in the order their results arrive.
            let last = end_s.last().copied().unwrap_or(0.0);
            end_s.push(p.end_s.unwrap_or(spent).max(last));
            if let Some(v) = p.objective.filter(|v| !v.is_nan()) {
                let better = match best {
                    None => true,
                    Some((b, _)) => {
                        if maximize {
                            v > b
                        } else {
                            v < b
                        }
                    }
                };
                if better {
                    best = Some((v, p.test));
                }
            }
            let recommended = p
                .recommended
                .and_then(|r| points.get(r))
                .filter(|r| r.objective.is_some_and(|v| !v.is_nan()));
            incumbent_test.push(match recommended {
                Some(r) => r.test,
                None => best.and_then(|(_, t)| t),
            });
            if p.is_target && hit.is_none() {
                hit = Some(i + 1);
            }
        }
        Trajectory {
            start_cost_s,
            end_s,
            incumbent_test,
            hit,
            total_cost_s: spent,
        }
    }

    /// The trajectory of a study: the test value is `reported[reported_key]`, the target is the
    /// architecture for which `is_target` holds. Failed and pending trials never become the
    /// incumbent.
    pub fn from_study<A: Clone>(
        study: &Study<A>,
        reported_key: &str,
        is_target: impl Fn(&A) -> bool,
    ) -> Trajectory {
        let points: Vec<TrialPoint> = study
            .trials()
            .iter()
            .map(|t| {
                let ok = t.status == Status::Ok;
                TrialPoint {
                    cost_s: t.cost_s,
                    end_s: t.clock.map(|c| c.end_s),
                    objective: if ok && t.feasible != Some(false) {
                        t.objective
                    } else {
                        None
                    },
                    test: if ok {
                        t.reported.get(reported_key).copied()
                    } else {
                        None
                    },
                    is_target: ok && is_target(&t.arch),
                    recommended: t.recommended,
                }
            })
            .collect();
        Trajectory::from_points(&points, study.maximize())
    }

    /// Number of trials.
    pub fn len(&self) -> usize {
        self.incumbent_test.len()
    }

    /// Whether the run has no trial.
    pub fn is_empty(&self) -> bool {
        self.incumbent_test.is_empty()
    }

    /// Total cost of the run's trials, in seconds.
    pub fn total_cost_s(&self) -> f64 {
        self.total_cost_s
    }

    /// How many trials count at `at` (see the module's conventions).
    pub fn trials_at(&self, at: Checkpoint) -> usize {
        match at {
            Checkpoint::Queries(q) => q.min(self.len()),
            Checkpoint::Seconds(t) => self.start_cost_s.iter().take_while(|&&s| s < t).count(),
            Checkpoint::Wall(t) => self.end_s.iter().take_while(|&&s| s <= t).count(),
        }
    }

    /// The incumbent's reported test value at `at`; `None` before the first successful trial.
    pub fn incumbent_test_at(&self, at: Checkpoint) -> Option<f64> {
        match self.trials_at(at) {
            0 => None,
            k => self.incumbent_test[k - 1],
        }
    }

    /// When the run's last result was known on its (simulated) wall-clock.
    pub fn wall_s(&self) -> f64 {
        self.end_s.last().copied().unwrap_or(0.0)
    }

    /// 1-based number of queries after which the target was first evaluated.
    pub fn queries_to_target(&self) -> Option<usize> {
        self.hit
    }
}

/// Mean, sample standard deviation and standard error of some values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    /// How many values.
    pub n: usize,
    /// Their mean (NaN when there is none).
    pub mean: f64,
    /// Their sample standard deviation (divisor `n − 1`; 0 for one value, NaN for none).
    pub std: f64,
    /// The standard error of the mean, `std / √n`.
    pub se: f64,
}

impl Stats {
    /// The statistics of `values`.
    pub fn of(values: &[f64]) -> Stats {
        let n = values.len();
        if n == 0 {
            return Stats {
                n,
                mean: f64::NAN,
                std: f64::NAN,
                se: f64::NAN,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = if n == 1 {
            0.0
        } else {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        };
        Stats {
            n,
            mean,
            std,
            se: std / (n as f64).sqrt(),
        }
    }
}

/// The median of the queries to the target over runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Median {
    /// The median number of queries (the mean of the two middle values for an even count).
    Queries(f64),
    /// At least half of the runs never reached the target within the budget: the median is
    /// beyond the budget.
    NotReached,
}

/// How quickly the runs of a strategy reached the target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ToTarget {
    /// Runs that evaluated the target.
    pub reached: usize,
    /// All runs.
    pub runs: usize,
    /// The median number of queries to the target (runs that never reach it count as infinite).
    pub median: Median,
}

impl ToTarget {
    /// The median over runs; `None` is a run that never reached the target.
    pub fn of(hits: &[Option<usize>]) -> ToTarget {
        let mut sorted: Vec<f64> = hits
            .iter()
            .map(|h| h.map_or(f64::INFINITY, |q| q as f64))
            .collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n == 0 {
            f64::INFINITY
        } else if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        ToTarget {
            reached: hits.iter().filter(|h| h.is_some()).count(),
            runs: n,
            median: if median.is_finite() {
                Median::Queries(median)
            } else {
                Median::NotReached
            },
        }
    }

    /// The median as text: `37`, `37.5`, or `>150` when it lies beyond `budget` (any text
    /// naming the budget, such as `150` or `12000 s`).
    pub fn median_text(&self, budget: &str) -> String {
        match self.median {
            Median::Queries(q) if q.fract() == 0.0 => format!("{q:.0}"),
            Median::Queries(q) => format!("{q:.1}"),
            Median::NotReached => format!(">{budget}"),
        }
    }
}

/// One checkpoint of a strategy's summary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CheckpointSummary {
    /// Where.
    pub at: Checkpoint,
    /// Test regret of the incumbent, over the runs that have one there.
    pub regret: Stats,
    /// Test value of the incumbent, over the same runs.
    pub test: Stats,
}

/// The summary of one strategy's runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategySummary {
    /// The strategy's name.
    pub strategy: String,
    /// Number of runs.
    pub runs: usize,
    /// One entry per checkpoint.
    pub checkpoints: Vec<CheckpointSummary>,
    /// Queries to the target.
    pub to_target: ToTarget,
}

/// Regret and test statistics over `runs` at one checkpoint; `reference` is the table's best
/// test value.
pub fn summarize_at(runs: &[Trajectory], reference: f64, at: Checkpoint) -> CheckpointSummary {
    let tests: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.incumbent_test_at(at))
        .collect();
    // `reference` is the table's optimum of the reported column, so the distance is the regret
    // whether a larger or a smaller reported value is better.
    let regrets: Vec<f64> = tests.iter().map(|t| (reference - t).abs()).collect();
    CheckpointSummary {
        at,
        regret: Stats::of(&regrets),
        test: Stats::of(&tests),
    }
}

/// The summary of one strategy's runs at `checkpoints`.
pub fn summarize(
    strategy: &str,
    runs: &[Trajectory],
    reference: f64,
    checkpoints: &[Checkpoint],
) -> StrategySummary {
    let hits: Vec<Option<usize>> = runs.iter().map(Trajectory::queries_to_target).collect();
    StrategySummary {
        strategy: strategy.to_string(),
        runs: runs.len(),
        checkpoints: checkpoints
            .iter()
            .map(|&at| summarize_at(runs, reference, at))
            .collect(),
        to_target: ToTarget::of(&hits),
    }
}

/// What the tables say about the setting: printed above them and in every CSV row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// The benchmark (`NAS-Bench-201`).
    pub benchmark: String,
    /// The dataset (`cifar10`).
    pub dataset: String,
    /// The column searched on (validation split).
    pub searched_on: String,
    /// The column reported (test split).
    pub reported: String,
    /// Runs per strategy.
    pub seeds: usize,
    /// The first seed: runs use `first_seed .. first_seed + seeds`.
    pub first_seed: u64,
    /// The budget: `Queries(150)` or `Seconds(12000.0)` (as the last checkpoint).
    pub budget: Checkpoint,
    /// The reference of the regret: the table's best test value.
    pub reference: f64,
}

impl Setting {
    /// The budget as text: `150` queries or `12000 s`.
    pub fn budget_text(&self) -> String {
        match self.budget {
            Checkpoint::Queries(q) => format!("{q}"),
            Checkpoint::Seconds(s) => format!("{s} s"),
            Checkpoint::Wall(s) => format!("{s} s of wall-clock"),
        }
    }

    fn budget_words(&self) -> String {
        match self.budget {
            Checkpoint::Queries(q) => format!("{q} queries"),
            Checkpoint::Seconds(s) => format!("{s} simulated training seconds"),
            Checkpoint::Wall(s) => format!("{s} simulated wall-clock seconds"),
        }
    }

    fn seeds_text(&self) -> String {
        let last = self.first_seed + self.seeds.max(1) as u64 - 1;
        format!("{} seeds ({}–{last})", self.seeds, self.first_seed)
    }
}

fn mean_std_se(s: &Stats, decimals: usize) -> String {
    if s.n == 0 {
        "–".into()
    } else {
        format!(
            "{:.d$} ± {:.d$} [{:.d$}]",
            s.mean,
            s.std,
            s.se,
            d = decimals
        )
    }
}

fn checkpoint_header(at: &Checkpoint) -> String {
    match *at {
        Checkpoint::Queries(q) => format!("{q}"),
        Checkpoint::Seconds(s) | Checkpoint::Wall(s) => format!("{s:.0} s"),
    }
}

/// The summary as Markdown: a heading naming the setting, then a table of test regret per
/// strategy × checkpoint (with the median queries to the target cell), then one of test
/// accuracy. Each cell reads `mean ± std [standard error]`.
pub fn markdown(setting: &Setting, summaries: &[StrategySummary]) -> String {
    let mut out = String::new();
    let checkpoints: Vec<Checkpoint> = summaries
        .first()
        .map(|s| s.checkpoints.iter().map(|c| c.at).collect())
        .unwrap_or_default();
    let unit = match setting.budget {
        Checkpoint::Queries(_) => "queries",
        Checkpoint::Seconds(_) => "simulated training seconds",
        Checkpoint::Wall(_) => "simulated wall-clock seconds",
    };
    out.push_str(&format!(
        "### {} {}: {}, budget {}\n\n",
        setting.benchmark,
        setting.dataset,
        setting.seeds_text(),
        setting.budget_words()
    ));
    // NAS-Bench-201's columns are accuracies on named splits; a declared table's columns are
    // whatever its author measured, so they are named as they are.
    let nb201 = setting.benchmark == "NAS-Bench-201";
    let (regret_title, value_title) = if nb201 {
        out.push_str(&format!(
            "Searched on `{}` (validation split), reported `{}` (test split). Test regret = the \
             table's best test accuracy ({:.2}) − the incumbent's test accuracy, in percentage \
             points; the incumbent is the cell with the best validation accuracy so far, or the \
             strategy's recommendation where it makes one (BO with `incumbent = \"posterior\"`). \
             Cells: mean ± std over seeds [standard error].\n\n",
            setting.searched_on, setting.reported, setting.reference
        ));
        (
            "Test regret (%)".to_string(),
            "Test accuracy (%)".to_string(),
        )
    } else {
        out.push_str(&format!(
            "Searched on `{0}`, reported `{1}`. Regret = the distance from the table's best `{1}` \
             ({2:.4}) to the incumbent's `{1}`, in the column's own units; the incumbent is the \
             architecture with the best `{0}` so far, or the strategy's recommendation where it \
             makes one (BO with `incumbent = \"posterior\"`). Cells: mean ± std over seeds \
             [standard error].\n\n",
            setting.searched_on, setting.reported, setting.reference
        ));
        (
            format!("Regret of `{}`", setting.reported),
            format!("`{}`", setting.reported),
        )
    };
    let header = |first: &str, last: Option<&str>| {
        let mut h = format!("| {first} | runs |");
        let mut rule = String::from("|---|--:|");
        for c in &checkpoints {
            h.push_str(&format!(" {} |", checkpoint_header(c)));
            rule.push_str("--:|");
        }
        if let Some(last) = last {
            h.push_str(&format!(" {last} |"));
            rule.push_str("--:|");
        }
        format!("{h}\n{rule}\n")
    };
    // Queries to the target are counted in queries, not on a wall-clock.
    let median = !matches!(setting.budget, Checkpoint::Wall(_));
    out.push_str(&format!("{regret_title} after N {unit}:\n\n"));
    out.push_str(&header(
        "strategy",
        median.then_some(if nb201 {
            "median queries to best-valid cell (reached)"
        } else {
            "median queries to the best-objective architecture (reached)"
        }),
    ));
    for s in summaries {
        let mut row = format!("| {} | {} |", s.strategy, s.runs);
        for c in &s.checkpoints {
            row.push_str(&format!(" {} |", mean_std_se(&c.regret, 3)));
        }
        if median {
            row.push_str(&format!(
                " {} ({}/{}) |",
                s.to_target.median_text(&setting.budget_text()),
                s.to_target.reached,
                s.to_target.runs
            ));
        }
        row.push('\n');
        out.push_str(&row);
    }
    out.push_str(&format!("\n{value_title} after N {unit}:\n\n"));
    out.push_str(&header("strategy", None));
    for s in summaries {
        let mut row = format!("| {} | {} |", s.strategy, s.runs);
        for c in &s.checkpoints {
            row.push_str(&format!(" {} |", mean_std_se(&c.test, 2)));
        }
        row.push('\n');
        out.push_str(&row);
    }
    out
}

/// The columns of [`csv`], in order.
pub const CSV_HEADER: &str = "benchmark,dataset,searched_on,reported,strategy,seeds,first_seed,\
budget,budget_unit,checkpoint,checkpoint_unit,runs,n,regret_mean,regret_std,regret_se,\
test_mean,test_std,test_se,reference_test,median_queries_to_best_valid,reached_best_valid";

fn num(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v:.6}")
    }
}

/// The summary as CSV: a header ([`CSV_HEADER`]) and one row per strategy × checkpoint. The
/// median column holds a number, or `>BUDGET` when the median lies beyond the budget.
pub fn csv(setting: &Setting, summaries: &[StrategySummary]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for s in summaries {
        for c in &s.checkpoints {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                setting.benchmark,
                setting.dataset,
                setting.searched_on,
                setting.reported,
                s.strategy,
                setting.seeds,
                setting.first_seed,
                setting.budget.value(),
                setting.budget.unit(),
                c.at.value(),
                c.at.unit(),
                s.runs,
                c.regret.n,
                num(c.regret.mean),
                num(c.regret.std),
                num(c.regret.se),
                num(c.test.mean),
                num(c.test.std),
                num(c.test.se),
                num(setting.reference),
                s.to_target
                    .median_text(&format!("{}", setting.budget.value())),
                s.to_target.reached,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Trial;

    fn ok(cost_s: f64, objective: f64, test: f64) -> TrialPoint {
        TrialPoint {
            cost_s,
            end_s: None,
            objective: Some(objective),
            test: Some(test),
            is_target: false,
            recommended: None,
        }
    }

    fn failed(cost_s: f64) -> TrialPoint {
        TrialPoint {
            cost_s,
            end_s: None,
            objective: None,
            test: None,
            is_target: false,
            recommended: None,
        }
    }

    /// Two hand-made runs, reference 95:
    /// A: valid 80 / test 85 (10 s), valid 90 / test 91 (20 s, the target), valid 85 / test 93 (5 s)
    ///    → incumbent tests 85, 91, 91; trials start at 0, 10, 30 s; target after 2 queries.
    /// B: failed (10 s), valid 70 / test 88 (10 s), valid 75 / test 86 (10 s)
    ///    → incumbent tests –, 88, 86; trials start at 0, 10, 20 s; never reaches the target.
    fn runs() -> Vec<Trajectory> {
        let target = TrialPoint {
            is_target: true,
            ..ok(20.0, 90.0, 91.0)
        };
        vec![
            Trajectory::from_points(&[ok(10.0, 80.0, 85.0), target, ok(5.0, 85.0, 93.0)], true),
            Trajectory::from_points(
                &[failed(10.0), ok(10.0, 70.0, 88.0), ok(10.0, 75.0, 86.0)],
                true,
            ),
        ]
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn trajectories_follow_the_incumbent() {
        let r = runs();
        assert_eq!(r[0].queries_to_target(), Some(2));
        assert_eq!(r[1].queries_to_target(), None);
        assert_eq!(r[0].total_cost_s(), 35.0);
        let at = |i: usize, c| r[i].incumbent_test_at(c);
        assert_eq!(at(0, Checkpoint::Queries(1)), Some(85.0));
        assert_eq!(at(0, Checkpoint::Queries(3)), Some(91.0));
        assert_eq!(at(0, Checkpoint::Queries(99)), Some(91.0));
        assert_eq!(at(1, Checkpoint::Queries(1)), None);
        assert_eq!(at(1, Checkpoint::Queries(3)), Some(86.0));
        // Seconds: the trials started strictly before t count.
        assert_eq!(at(0, Checkpoint::Seconds(10.0)), Some(85.0));
        assert_eq!(at(0, Checkpoint::Seconds(10.5)), Some(91.0));
        assert_eq!(at(1, Checkpoint::Seconds(10.0)), None);
        assert_eq!(at(1, Checkpoint::Seconds(25.0)), Some(86.0));
        assert_eq!(at(0, Checkpoint::Seconds(0.0)), None);
    }

    #[test]
    fn a_recommendation_overrides_the_best_observed() {
        // The strategy recommends trial 0 after trial 2, although trial 1 has the best value.
        let points = [
            ok(1.0, 80.0, 85.0),
            ok(1.0, 90.0, 70.0),
            TrialPoint {
                recommended: Some(0),
                ..ok(1.0, 60.0, 60.0)
            },
            // A recommendation of a failed trial is ignored.
            TrialPoint {
                recommended: Some(4),
                ..ok(1.0, 50.0, 50.0)
            },
            failed(1.0),
        ];
        let t = Trajectory::from_points(&points, true);
        let at = |q| t.incumbent_test_at(Checkpoint::Queries(q));
        assert_eq!(at(2), Some(70.0));
        assert_eq!(at(3), Some(85.0));
        assert_eq!(at(4), Some(70.0));
        assert_eq!(at(5), Some(70.0));
    }

    #[test]
    fn summary_equals_the_hand_computation() {
        let checkpoints = [
            Checkpoint::Queries(1),
            Checkpoint::Queries(2),
            Checkpoint::Queries(3),
            Checkpoint::Seconds(25.0),
        ];
        let s = summarize("hand", &runs(), 95.0, &checkpoints);
        assert_eq!(s.runs, 2);
        // After 1 query only A has an incumbent: regret 95 − 85.
        let c = s.checkpoints[0];
        assert_eq!(
            (c.regret.n, c.regret.mean, c.regret.std, c.regret.se),
            (1, 10.0, 0.0, 0.0)
        );
        assert_eq!(c.test.mean, 85.0);
        // After 2: regrets 4 and 7 → mean 5.5, std √4.5, se √4.5/√2 = 1.5.
        let c = s.checkpoints[1];
        assert_eq!((c.regret.n, c.regret.mean), (2, 5.5));
        close(c.regret.std, 4.5f64.sqrt());
        close(c.regret.se, 1.5);
        assert_eq!(c.test.mean, 89.5);
        close(c.test.std, 4.5f64.sqrt());
        // After 3: regrets 4 and 9 → mean 6.5, std √12.5, se 2.5.
        let c = s.checkpoints[2];
        assert_eq!(c.regret.mean, 6.5);
        close(c.regret.std, 12.5f64.sqrt());
        close(c.regret.se, 2.5);
        // At 25 s: A has started trials at 0 and 10 s (test 91), B at 0, 10, 20 s (test 86).
        let c = s.checkpoints[3];
        assert_eq!(c.regret.mean, 6.5);
        // One run of two reaches the target: the median (2 + ∞) / 2 lies beyond the budget.
        assert_eq!(s.to_target.reached, 1);
        assert_eq!(s.to_target.median, Median::NotReached);
        assert_eq!(s.to_target.median_text("3"), ">3");
    }

    #[test]
    fn the_median_counts_unreached_runs_as_beyond_the_budget() {
        let t = ToTarget::of(&[Some(2), Some(4), None]);
        assert_eq!((t.median, t.reached, t.runs), (Median::Queries(4.0), 2, 3));
        let t = ToTarget::of(&[Some(7), None, Some(2), Some(4)]);
        assert_eq!(t.median, Median::Queries(5.5));
        assert_eq!(t.median_text("150"), "5.5");
        assert_eq!(
            ToTarget::of(&[None, None, Some(1)]).median,
            Median::NotReached
        );
        assert_eq!(ToTarget::of(&[]).median, Median::NotReached);
    }

    #[test]
    fn stats_of_nothing_and_of_one_value() {
        assert!(Stats::of(&[]).mean.is_nan());
        assert_eq!(
            Stats::of(&[3.0]),
            Stats {
                n: 1,
                mean: 3.0,
                std: 0.0,
                se: 0.0
            }
        );
    }

    #[test]
    fn studies_reduce_like_points_and_respect_minimisation() {
        let trial = |i: usize, arch: u32, objective: Option<f64>, test: f64| Trial {
            trial: i,
            arch,
            status: if objective.is_some() {
                Status::Ok
            } else {
                Status::Failed
            },
            objective,
            reported: [("test_acc".to_string(), test)].into_iter().collect(),
            cost_s: 1.0,
            seed: 0,
            eval_seed: 0,
            started_at: 0.0,
            finished_at: 0.0,
            reason: None,
            feasible: None,
            hypervolume: None,
            clock: None,
            recommended: None,
            lease: None,
        };
        // Minimising an error: 0.3 then 0.2 (the target, arch 7) then 0.25.
        let study = Study::from_trials(
            vec![
                trial(0, 1, Some(0.3), 70.0),
                trial(1, 9, None, 99.0),
                trial(2, 7, Some(0.2), 80.0),
                trial(3, 3, Some(0.25), 90.0),
            ],
            false,
        );
        let t = Trajectory::from_study(&study, "test_acc", |a| *a == 7);
        assert_eq!(t.queries_to_target(), Some(3));
        assert_eq!(t.incumbent_test_at(Checkpoint::Queries(2)), Some(70.0));
        assert_eq!(t.incumbent_test_at(Checkpoint::Queries(4)), Some(80.0));
    }

    #[test]
    fn checkpoints_lie_within_the_budget() {
        let q = |b| {
            query_checkpoints(b)
                .iter()
                .map(|c| c.value())
                .collect::<Vec<_>>()
        };
        assert_eq!(q(150), [10.0, 20.0, 50.0, 100.0, 150.0]);
        assert_eq!(q(20), [10.0, 20.0]);
        assert_eq!(q(120), [10.0, 20.0, 50.0, 100.0, 120.0]);
        assert_eq!(q(5), [5.0]);
        let s: Vec<f64> = seconds_checkpoints(12000.0)
            .iter()
            .map(|c| c.value())
            .collect();
        assert_eq!(s, [1200.0, 3000.0, 6000.0, 9000.0, 12000.0]);
    }

    #[test]
    fn tables_name_the_setting() {
        let setting = Setting {
            benchmark: "NAS-Bench-201".into(),
            dataset: "cifar10".into(),
            searched_on: "cifar10_valid_acc_200".into(),
            reported: "cifar10_test_acc_200".into(),
            seeds: 2,
            first_seed: 0,
            budget: Checkpoint::Queries(3),
            reference: 95.0,
        };
        let s = summarize(
            "hand",
            &runs(),
            95.0,
            &[Checkpoint::Queries(2), Checkpoint::Queries(3)],
        );
        let md = markdown(&setting, std::slice::from_ref(&s));
        assert!(
            md.contains("NAS-Bench-201 cifar10: 2 seeds (0–1), budget 3 queries"),
            "{md}"
        );
        assert!(
            md.contains("Searched on `cifar10_valid_acc_200` (validation split)"),
            "{md}"
        );
        assert!(
            md.contains("| hand | 2 | 5.500 ± 2.121 [1.500] | 6.500 ± 3.536 [2.500] | >3 (1/2) |"),
            "{md}"
        );
        assert!(
            md.contains("| hand | 2 | 89.50 ± 2.12 [1.50] | 88.50 ± 3.54 [2.50] |"),
            "{md}"
        );
        let csv = csv(&setting, &[s]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(
            lines[2],
            "NAS-Bench-201,cifar10,cifar10_valid_acc_200,cifar10_test_acc_200,hand,2,0,3,queries,3,queries,2,2,\
             6.500000,3.535534,2.500000,88.500000,3.535534,2.500000,95.000000,>3,1"
        );
    }
}
