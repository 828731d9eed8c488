//! Hyperparameter fitting: the log marginal likelihood, its analytic gradient and the
//! multi-start L-BFGS search in log space.
//!
//! Internally the targets are standardised and the parameter vector is
//! `θ = [ln kernel params…, ln σ_f², ln σ_n²]` with variances in standardised units.
//! Box bounds keep the fit from collapsing: the likelihood is evaluated at the projection of
//! `θ` onto the box and a quadratic penalty pulls the optimiser back inside.

use crate::error::{GpError, Result};
use crate::kernel::{binomials, symmetrise, Kernel};
use crate::linalg::{cho_inverse_lower_in_place, cho_solve, cholesky_jittered_into};
use crate::parallel::{cores, with_spare_cores, SpareCores};
use argmin::core::{
    CostFunction, Executor, Gradient, IterState, Problem, Solver, State, TerminationReason,
    TerminationStatus, KV,
};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Zip};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
const PENALTY: f64 = 10.0;

/// Splits `θ` into a kernel and the two variances.
pub(crate) fn unpack(template: &Kernel, theta: &[f64]) -> (Kernel, f64, f64) {
    let p = theta.len() - 2;
    let params: Vec<f64> = theta[..p].iter().map(|v| v.exp()).collect();
    (
        template.with_params(&params),
        theta[p].exp(),
        theta[p + 1].exp(),
    )
}

/// Packs a kernel and the two variances into `θ`.
pub(crate) fn pack(kernel: &Kernel, sf2: f64, sn2: f64) -> Array1<f64> {
    let mut v: Vec<f64> = kernel.params().iter().map(|p| p.ln()).collect();
    v.push(sf2.ln());
    v.push(sn2.ln());
    Array1::from(v)
}

/// The `n × n` buffers of likelihood evaluations, reused from one evaluation to the next.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    /// Unit-variance Gram matrix (lower triangle).
    k: Array2<f64>,
    /// `g(r²)` of a stationary kernel (lower triangle).
    g: Array2<f64>,
    /// The Cholesky factor, then its inverse.
    l: Array2<f64>,
    /// `K⁻¹`, then `σ_f² W ∘ g` (see [`lml_with`]).
    w: Array2<f64>,
}

impl Workspace {
    fn ensure(&mut self, n: usize) {
        for a in [&mut self.k, &mut self.g, &mut self.l, &mut self.w] {
            if a.dim() != (n, n) {
                *a = Array2::zeros((n, n));
            }
        }
    }
}

/// [`lml_with`] in a fresh workspace.
#[cfg(test)]
pub(crate) fn lml(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    kernel: &Kernel,
    sf2: f64,
    sn2: f64,
    want_grad: bool,
) -> Result<(f64, Option<Array1<f64>>)> {
    lml_with(x, y, kernel, sf2, sn2, want_grad, &mut Workspace::default())
}

/// Log marginal likelihood of standardised targets `y` and, if asked, its gradient with
/// respect to `θ`, in a workspace reused from one evaluation to the next.
///
/// Cost at `n` points, `d` inputs: the Gram matrix (`n² d` for the distances, one exponential
/// per pair), the Cholesky factorisation (`n³/3`) and, for the gradient, `K⁻¹` from the
/// factor (`2n³/3`: triangular inverse, then `L⁻ᵀL⁻¹`) and one `n² d` matrix multiply for
/// all lengthscales at once. Every `n³` part runs as matrix multiplies; only lower triangles
/// are formed.
pub(crate) fn lml_with(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    kernel: &Kernel,
    sf2: f64,
    sn2: f64,
    want_grad: bool,
    ws: &mut Workspace,
) -> Result<(f64, Option<Array1<f64>>)> {
    let n = x.nrows();
    ws.ensure(n);
    let xs = kernel.gram_lower_into(x, &mut ws.k, &mut ws.g);
    let k = ws.k.as_slice().expect("standard layout");
    cholesky_jittered_into(&mut ws.l, |l, jitter| {
        let rows = l
            .as_slice_mut()
            .expect("standard layout")
            .chunks_exact_mut(n);
        for (i, (lrow, krow)) in rows.zip(k.chunks_exact(n)).enumerate() {
            for (lv, kv) in lrow[..i].iter_mut().zip(&krow[..i]) {
                *lv = sf2 * kv;
            }
            lrow[i] = sf2 * krow[i] + sn2 + jitter;
        }
    })?;
    let alpha = cho_solve(&ws.l, y);
    let log_det_half: f64 = ws.l.diag().iter().map(|v| v.ln()).sum();
    let value = -0.5 * y.dot(&alpha) - log_det_half - n as f64 * HALF_LN_2PI;
    if !value.is_finite() {
        return Err(GpError::Optimisation("non-finite likelihood".into()));
    }
    if !want_grad {
        return Ok((value, None));
    }
    // W = α αᵀ − K⁻¹, so that ∂L/∂θ = ½ tr(W ∂K/∂θ); one pass over the lower triangles
    // forms W and the sums the gradient needs, and overwrites K⁻¹ with M = σ_f² W ∘ g.
    cho_inverse_lower_in_place(&mut ws.l, &mut ws.w);
    let stationary = xs.is_some();
    let g = ws.g.as_slice().expect("standard layout");
    let w = ws.w.as_slice_mut().expect("standard layout");
    let alpha_s = alpha.as_slice().expect("contiguous");
    // Σ W ∘ K, Σ W and Σ diag W, the off-diagonal parts counted once.
    let (mut wk_off, mut w_off) = (0.0, 0.0);
    let (mut wk_diag, mut w_diag) = (0.0, 0.0);
    // Row sums of M.
    let mut m1 = vec![0.0; n];
    for i in 0..n {
        let row = i * n..i * n + i;
        let (wrow, krow, grow) = (&mut w[row.clone()], &k[row.clone()], &g[row]);
        let ai = alpha_s[i];
        let mut row_sum = 0.0;
        for j in 0..i {
            let wv = ai * alpha_s[j] - wrow[j];
            wk_off += wv * krow[j];
            w_off += wv;
            if stationary {
                let mv = sf2 * wv * grow[j];
                wrow[j] = mv;
                row_sum += mv;
                m1[j] += mv;
            }
        }
        let wv = ai * ai - w[i * n + i];
        wk_diag += wv * k[i * n + i];
        w_diag += wv;
        if stationary {
            let mv = sf2 * wv * g[i * n + i];
            w[i * n + i] = mv;
            m1[i] += row_sum + mv;
        }
    }
    let n_kp = kernel.params().len();
    let mut grad = Array1::<f64>::zeros(n_kp + 2);
    // Signal variance: ∂K/∂ln σ_f² = σ_f² K₁.
    grad[n_kp] = 0.5 * sf2 * (wk_diag + 2.0 * wk_off);
    // Noise variance: ∂K/∂ln σ_n² = σ_n² I.
    grad[n_kp + 1] = 0.5 * sn2 * w_diag;
    match (kernel, xs) {
        (Kernel::Linear { offset }, _) => {
            grad[0] = 0.5 * sf2 * offset * (w_diag + 2.0 * w_off);
        }
        (Kernel::Interactions { weights }, _) => {
            // ∂K/∂ln wₖ = σ_f² wₖ C(M, k): the dot products M lie in the `g` buffer and K⁻¹
            // still in the `w` buffer (lower triangles), W = ααᵀ − K⁻¹.
            let dots = ws.g.as_slice().expect("standard layout");
            let kinv = ws.w.as_slice().expect("standard layout");
            let mut sums = vec![0.0; weights.len()];
            for i in 0..n {
                for j in 0..=i {
                    let wv = alpha_s[i] * alpha_s[j] - kinv[i * n + j];
                    let both = if i == j { wv } else { 2.0 * wv };
                    for (sum, (b, _)) in sums.iter_mut().zip(binomials(dots[i * n + j])) {
                        *sum += both * b;
                    }
                }
            }
            for (order, (&wk, sum)) in weights.iter().zip(sums).enumerate() {
                grad[order] = 0.5 * sf2 * wk * sum;
            }
        }
        (_, Some(xs)) => {
            // ∂L/∂ln ℓᵢ = Σⱼ xsⱼᵢ (xsⱼᵢ (M1)ⱼ − (M xs)ⱼᵢ).
            symmetrise(&mut ws.w);
            let mx = ws.w.dot(&xs);
            let d = xs.ncols();
            let mut per_dim = vec![0.0; d];
            for ((xrow, mrow), &s) in xs.rows().into_iter().zip(mx.rows()).zip(m1.iter()) {
                for i in 0..d {
                    per_dim[i] += xrow[i] * (xrow[i] * s - mrow[i]);
                }
            }
            if n_kp == 1 {
                grad[0] = per_dim.iter().sum();
            } else {
                for i in 0..d {
                    grad[i] = per_dim[i];
                }
            }
        }
        (_, None) => unreachable!("stationary kernels return their scaled inputs"),
    }
    Ok((value, Some(grad)))
}

/// Box bounds and a default point in `θ` space, derived from the data.
#[derive(Debug, Clone)]
pub(crate) struct Space {
    pub lower: Array1<f64>,
    pub upper: Array1<f64>,
    pub default: Array1<f64>,
}

impl Space {
    /// Bounds for standardised targets; `ard` selects one lengthscale per input.
    pub(crate) fn new(template: &Kernel, x: ArrayView2<f64>, noise_floor: f64) -> Space {
        let (n, d) = x.dim();
        let mut lower = Vec::new();
        let mut upper = Vec::new();
        let mut default = Vec::new();
        let sf2_default = match template {
            Kernel::Linear { .. } => {
                let mean_sq = if n == 0 {
                    1.0
                } else {
                    x.rows().into_iter().map(|r| r.dot(&r)).sum::<f64>() / n as f64
                };
                let r = mean_sq + 1.0;
                lower.push((1e-6 * r).ln());
                upper.push((1e3 * r).ln());
                default.push(r.ln());
                1.0 / (mean_sq + r)
            }
            Kernel::Interactions { weights } => {
                // Every order starts with the same share of k(x, x) = 1 at the typical number
                // of shared decisions (the largest x·x; one-hot rows all have the same).
                let top = x
                    .rows()
                    .into_iter()
                    .map(|r| r.dot(&r))
                    .fold(0.0f64, f64::max)
                    .round()
                    .max(1.0);
                let orders = weights.len().min(top as usize + 1);
                for (c, _) in binomials(top).take(weights.len()) {
                    let w = 1.0 / (orders as f64 * c.max(1.0));
                    lower.push((1e-4 * w).ln());
                    upper.push((1e4 * w).ln());
                    default.push(w.ln());
                }
                1.0
            }
            _ => {
                let stds: Vec<f64> = (0..d)
                    .map(|i| {
                        let s = x.column(i).std(0.0);
                        if s > 1e-12 && s.is_finite() {
                            s
                        } else {
                            1.0
                        }
                    })
                    .collect();
                let sqrt_d = (d as f64).sqrt();
                let refs: Vec<f64> = if template.params().len() == 1 {
                    let mut sorted = stds.clone();
                    sorted.sort_by(f64::total_cmp);
                    vec![sorted[sorted.len() / 2]]
                } else {
                    stds
                };
                for r in refs {
                    lower.push((1e-2 * r).ln());
                    // Wide upper bound: nearly irrelevant inputs (or slow trends) want very
                    // long lengthscales with a large signal variance.
                    upper.push((1e3 * r * sqrt_d).ln());
                    default.push((r * sqrt_d).ln());
                }
                1.0
            }
        };
        lower.push((sf2_default * 1e-3).ln());
        upper.push((sf2_default * 1e4).ln());
        default.push(sf2_default.ln());
        lower.push(noise_floor.ln());
        upper.push(10f64.ln());
        default.push(1e-2f64.max(noise_floor).ln());
        Space {
            lower: Array1::from(lower),
            upper: Array1::from(upper),
            default: Array1::from(default),
        }
    }

    pub(crate) fn clamp(&self, theta: &Array1<f64>) -> Array1<f64> {
        Zip::from(theta)
            .and(&self.lower)
            .and(&self.upper)
            .map_collect(|&t, &lo, &hi| t.max(lo).min(hi))
    }

    /// A random start around the default, from the caller's RNG.
    fn random_start(&self, rng: &mut ChaCha8Rng) -> Array1<f64> {
        let p = self.default.len();
        let mut t = self.default.clone();
        for i in 0..p - 2 {
            t[i] += rng.gen_range(-1.5..1.5);
        }
        t[p - 2] += rng.gen_range(-1.6..1.6);
        t[p - 1] = rng.gen_range(1e-4f64.ln()..0.5f64.ln());
        self.clamp(&t)
    }
}

/// The last point evaluated, its cost and (when computed) gradient.
type Evaluated = Option<(Array1<f64>, f64, Option<Array1<f64>>)>;

/// Counts evaluations against a budget and keeps the best point seen. argmin runs L-BFGS's line
/// search without an iteration cap, so the budget is what bounds a start on a nasty surface;
/// the best point survives an aborted run.
#[derive(Debug)]
pub(crate) struct Tracker {
    pub evals: u64,
    pub budget: u64,
    pub best: Option<(f64, Array1<f64>)>,
}

impl Tracker {
    pub(crate) fn new(budget: u64) -> Self {
        Tracker {
            evals: 0,
            budget,
            best: None,
        }
    }

    /// Counts one evaluation; `false` once the budget is spent.
    pub(crate) fn tick(&mut self) -> bool {
        self.evals += 1;
        self.evals <= self.budget
    }

    pub(crate) fn offer(&mut self, cost: f64, p: &Array1<f64>) {
        if cost.is_finite() && self.best.as_ref().is_none_or(|(b, _)| cost < *b) {
            self.best = Some((cost, p.clone()));
        }
    }
}

/// The negative log marginal likelihood as an argmin problem, with box penalty.
struct Objective<'a, 't> {
    x: ArrayView2<'a, f64>,
    y: ArrayView1<'a, f64>,
    template: &'a Kernel,
    space: &'a Space,
    cache: RefCell<Evaluated>,
    tracker: &'t RefCell<Tracker>,
    workspace: RefCell<Workspace>,
}

impl Objective<'_, '_> {
    /// Cost and (always, since the line search asks for both at nearly every point) gradient;
    /// `want_grad = false` only skips the gradient for the start's screening.
    fn eval(&self, theta: &Array1<f64>, want_grad: bool) -> Result<(f64, Option<Array1<f64>>)> {
        if let Some((t, c, g)) = self.cache.borrow().as_ref() {
            if t == theta && (g.is_some() || !want_grad) {
                return Ok((*c, g.clone()));
            }
        }
        if theta.iter().any(|v| !v.is_finite()) {
            return Err(GpError::Optimisation("non-finite parameters".into()));
        }
        if !self.tracker.borrow_mut().tick() {
            return Err(GpError::Optimisation("evaluation budget spent".into()));
        }
        let inside = self.space.clamp(theta);
        let (kernel, sf2, sn2) = unpack(self.template, inside.as_slice().expect("contiguous"));
        let (value, grad) = lml_with(
            self.x,
            self.y,
            &kernel,
            sf2,
            sn2,
            want_grad,
            &mut self.workspace.borrow_mut(),
        )?;
        let excess = theta - &inside;
        let cost = -value + 0.5 * PENALTY * excess.dot(&excess);
        let grad = grad.map(|g| {
            let mut out = -g;
            Zip::from(&mut out)
                .and(&excess)
                .for_each(|o, &e| *o = if e != 0.0 { PENALTY * e } else { *o });
            out
        });
        self.tracker.borrow_mut().offer(cost, theta);
        *self.cache.borrow_mut() = Some((theta.clone(), cost, grad.clone()));
        Ok((cost, grad))
    }
}

impl CostFunction for Objective<'_, '_> {
    type Param = Array1<f64>;
    type Output = f64;
    fn cost(&self, p: &Array1<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.eval(p, true)?.0)
    }
}

impl Gradient for Objective<'_, '_> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;
    fn gradient(&self, p: &Array1<f64>) -> std::result::Result<Array1<f64>, argmin::core::Error> {
        Ok(self.eval(p, true)?.1.expect("gradient requested"))
    }
}

/// Result of a hyperparameter search.
#[derive(Debug, Clone)]
pub(crate) struct Optimum {
    pub theta: Array1<f64>,
    /// L-BFGS iterations over all starts.
    pub iterations: u64,
    /// Likelihood evaluations over all starts.
    pub evaluations: u64,
    /// L-BFGS iterations on the screening subset (see [`optimise`]).
    pub screening_iterations: u64,
    /// Likelihood evaluations on the screening subset.
    pub screening_evaluations: u64,
}

/// How hard to search: total starts, their seed and L-BFGS iterations per start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Effort {
    pub restarts: usize,
    pub seed: u64,
    pub max_iters: u64,
}

/// Training sets of at least this many points screen their starts on a subset first.
const SCREEN_MIN: usize = 600;
/// Share of the points in the screening subset.
const SCREEN_SHARE: usize = 4;
/// [`REL_TOL`] of the starts on the screening subset: they only pick the start to refine.
const SCREEN_TOL: f64 = 1e-4;
/// [`REL_TOL`] of the refinement on all points after a screening.
const REFINE_TOL: f64 = 1e-5;

/// Maximises the log marginal likelihood from `restarts` starts: `first`, then seeded random
/// ones. Returns the best `θ` (inside the box).
///
/// On `n ≥` [`SCREEN_MIN`] points every start first runs on every [`SCREEN_SHARE`]-th point
/// (an evaluation there costs ~1/50 of one on all points), and only the best of them continues
/// on all points: the climb from a poor start happens where it is cheap, and the full data
/// only refine one point that is already close to an optimum.
pub(crate) fn optimise<'a>(
    x: ArrayView2<'a, f64>,
    y: ArrayView1<'a, f64>,
    template: &'a Kernel,
    space: &'a Space,
    first: Array1<f64>,
    effort: Effort,
) -> Result<Optimum> {
    let Effort {
        restarts,
        seed,
        max_iters,
    } = effort;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut starts = vec![space.clamp(&first)];
    while starts.len() < restarts {
        starts.push(space.random_start(&mut rng));
    }
    let n = x.nrows();
    let mut screening = None;
    if n >= SCREEN_MIN {
        let rows: Vec<usize> = (0..n).step_by(SCREEN_SHARE).collect();
        let xs = x.select(ndarray::Axis(0), &rows);
        let ys = y.select(ndarray::Axis(0), &rows);
        let screened = multi_start(
            xs.view(),
            ys.view(),
            template,
            space,
            &starts,
            max_iters,
            SCREEN_TOL,
        );
        if let Ok(best) = screened {
            starts = vec![best.theta.clone()];
            screening = Some(best);
        }
    }
    let tol = if screening.is_some() {
        REFINE_TOL
    } else {
        REL_TOL
    };
    let mut opt = multi_start(x, y, template, space, &starts, max_iters, tol)?;
    if let Some(s) = screening {
        opt.screening_iterations = s.iterations;
        opt.screening_evaluations = s.evaluations;
    }
    Ok(opt)
}

/// One L-BFGS run from each of `starts`; the best `θ` found (inside the box).
fn multi_start(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    template: &Kernel,
    space: &Space,
    starts: &[Array1<f64>],
    max_iters: u64,
    tol: f64,
) -> Result<Optimum> {
    // Starts are independent: run them on up to `available_parallelism` threads (the caller's
    // among them), each thread taking the next start when it is done with one; cores without
    // a start speed up the dense algebra of those still running. The outcomes are combined in
    // start order and are the same on any number of cores.
    let workers = cores().min(starts.len());
    let spare = SpareCores::new(cores() - workers);
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(start) = starts.get(i) else { break };
            let run = || run_start(x, y, template, space, start.clone(), max_iters, tol);
            let outcome = with_spare_cores(&spare, || catch_unwind(AssertUnwindSafe(run)))
                .unwrap_or_else(|_| StartOutcome::failed("a start panicked"));
            done.push((i, outcome));
        }
        spare.give();
        done
    };
    let mut outcomes = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for h in helpers {
            all.extend(h.join().unwrap_or_default());
        }
        all
    });
    outcomes.sort_by_key(|(i, _)| *i);
    let outcomes = outcomes.into_iter().map(|(_, o)| o);
    let mut best: Option<(f64, Array1<f64>)> = None;
    let mut last_error = String::new();
    let (mut iterations, mut evaluations) = (0, 0);
    for outcome in outcomes {
        iterations += outcome.iterations;
        evaluations += outcome.evaluations;
        if let Some(e) = outcome.error {
            last_error = e;
        }
        if let Some((c, p)) = outcome.best {
            if best.as_ref().is_none_or(|(b, _)| c < *b) {
                best = Some((c, p));
            }
        }
    }
    match best {
        Some((_, theta)) => Ok(Optimum {
            theta: space.clamp(&theta),
            iterations,
            evaluations,
            screening_iterations: 0,
            screening_evaluations: 0,
        }),
        None => Err(GpError::Optimisation(last_error)),
    }
}

/// What one optimiser start found.
struct StartOutcome {
    /// Best cost and parameters evaluated (the start itself included).
    best: Option<(f64, Array1<f64>)>,
    iterations: u64,
    evaluations: u64,
    error: Option<String>,
}

impl StartOutcome {
    fn failed(error: &str) -> Self {
        StartOutcome {
            best: None,
            iterations: 0,
            evaluations: 0,
            error: Some(error.to_string()),
        }
    }
}

/// One L-BFGS run from `start`.
fn run_start(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    template: &Kernel,
    space: &Space,
    start: Array1<f64>,
    max_iters: u64,
    tol: f64,
) -> StartOutcome {
    let tracker = RefCell::new(Tracker::new(10 * max_iters + 20));
    let problem = Objective {
        x: x.view(),
        y: y.view(),
        template,
        space,
        cache: RefCell::new(None),
        tracker: &tracker,
        workspace: RefCell::new(Workspace::default()),
    };
    // The start itself is a candidate too (an optimiser step may fail on nasty data).
    if let Err(e) = problem.eval(&start, true) {
        return StartOutcome::failed(&e.to_string());
    }
    // L-BFGS's own test stops at a negligible gradient; [`Stopping`] at a stalled cost.
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7).with_tolerance_grad(1e-3);
    let solver = match solver {
        Ok(s) => s,
        Err(e) => return StartOutcome::failed(&e.to_string()),
    };
    let solver = Stopping {
        inner: solver,
        tol,
        stalled: 0,
    };
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(start).max_iters(max_iters))
        .run();
    let (iterations, error) = match result {
        Ok(r) => (r.state().get_iter(), None),
        Err(e) => (0, Some(e.to_string())),
    };
    // The best point evaluated, whether or not the run finished.
    let tracker = tracker.into_inner();
    StartOutcome {
        best: tracker.best,
        iterations,
        evaluations: tracker.evals,
        error,
    }
}

/// The parameter/gradient state of the L-BFGS runs.
type LbfgsState = IterState<Array1<f64>, Array1<f64>, (), (), (), f64>;

/// Relative decrease of the cost below which an L-BFGS iteration counts as stalled.
const REL_TOL: f64 = 1e-6;
/// Consecutive stalled iterations that end a start.
const STALLED: u32 = 2;

/// A solver with the likelihood fit's own stopping rule on top of its own: stop once the
/// cost has decreased by less than `tol · max(|cost|, 1)` ([`REL_TOL`] unless screened, see
/// [`optimise`]) in each of [`STALLED`]
/// consecutive iterations. On an n-point likelihood that is ~10⁻⁶ n nats an iteration, far below
/// what changes a prediction; the tail of a run (irrelevant lengthscales creeping towards
/// their bound) would otherwise take as many iterations as the climb to the optimum.
struct Stopping<S> {
    inner: S,
    tol: f64,
    stalled: u32,
}

impl<O, S: Solver<O, LbfgsState>> Solver<O, LbfgsState> for Stopping<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn init(
        &mut self,
        problem: &mut Problem<O>,
        state: LbfgsState,
    ) -> std::result::Result<(LbfgsState, Option<KV>), argmin::core::Error> {
        self.inner.init(problem, state)
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<O>,
        state: LbfgsState,
    ) -> std::result::Result<(LbfgsState, Option<KV>), argmin::core::Error> {
        self.inner.next_iter(problem, state)
    }

    fn terminate(&mut self, state: &LbfgsState) -> TerminationStatus {
        let (prev, cost) = (state.get_prev_cost(), state.get_cost());
        let inner = self.inner.terminate(state);
        if inner.terminated() {
            return inner;
        }
        if prev - cost < self.tol * cost.abs().max(1.0) {
            self.stalled += 1;
        } else {
            self.stalled = 0;
        }
        if self.stalled >= STALLED {
            TerminationStatus::Terminated(TerminationReason::SolverConverged)
        } else {
            TerminationStatus::NotTerminated
        }
    }
}

/// `K = σ_f² K₁ + σ_n² I` for standardised units.
pub(crate) fn covariance(x: ArrayView2<f64>, kernel: &Kernel, sf2: f64, sn2: f64) -> Array2<f64> {
    let mut k = kernel.gram(x);
    k.mapv_inplace(|v| v * sf2);
    k.diag_mut().mapv_inplace(|v| v + sn2);
    k
}

/// The log marginal likelihood at `θ` for kernels like `template`.
#[cfg(test)]
pub(crate) fn lml_at(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    template: &Kernel,
    theta: &Array1<f64>,
) -> f64 {
    let (k, a, b) = unpack(template, theta.as_slice().unwrap());
    lml(x, y, &k, a, b, false).unwrap().0
}

/// Asserts that the analytic likelihood gradient at `kernel`, `sf2`, `sn2` matches central
/// finite differences in every coordinate of `θ`.
#[cfg(test)]
pub(crate) fn assert_lml_gradient(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    kernel: &Kernel,
    sf2: f64,
    sn2: f64,
) {
    let theta = pack(kernel, sf2, sn2);
    let f = |t: &Array1<f64>| lml_at(x, y, kernel, t);
    let (k, a, b) = unpack(kernel, theta.as_slice().unwrap());
    let g = lml(x, y, &k, a, b, true).unwrap().1.unwrap();
    for i in 0..theta.len() {
        let h = 1e-5;
        let mut tp = theta.clone();
        tp[i] += h;
        let mut tm = theta.clone();
        tm[i] -= h;
        let fd = (f(&tp) - f(&tm)) / (2.0 * h);
        assert!(
            (fd - g[i]).abs() < 1e-5 * (1.0 + fd.abs()),
            "n={} {:?} param {i}: fd {fd} analytic {}",
            x.nrows(),
            kernel.kind(),
            g[i]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelKind;
    use ndarray::Array2;

    fn data(n: usize, d: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = Array2::<f64>::from_shape_fn((n, d), |_| rng.gen_range(0.0..1.0));
        let y = x
            .rows()
            .into_iter()
            .map(|r| (3.0 * r[0]).sin() + r.sum() * 0.3 + rng.gen_range(-0.05f64..0.05))
            .collect::<Array1<f64>>();
        let m = y.mean().unwrap();
        let s = y.std(0.0);
        (x, y.mapv(|v| (v - m) / s))
    }

    #[test]
    fn lml_gradient_matches_finite_differences() {
        // 25 points run the unblocked kernels, 230 the recursive blocked ones.
        for n in [25, 230] {
            lml_gradient_check(n);
        }
    }

    fn lml_gradient_check(n: usize) {
        let (x, y) = data(n, 3, 1);
        let kernels = [
            Kernel::Matern52 {
                lengthscales: vec![0.4, 0.9, 1.3],
            },
            Kernel::Matern32 {
                lengthscales: vec![0.5, 0.7, 2.0],
            },
            Kernel::SquaredExponential {
                lengthscales: vec![0.6, 0.8, 1.1],
            },
            Kernel::Matern52 {
                lengthscales: vec![0.7],
            },
            Kernel::Linear { offset: 0.3 },
        ];
        for kernel in kernels {
            assert_lml_gradient(x.view(), y.view(), &kernel, 1.3, 0.05);
        }
    }

    #[test]
    fn lml_matches_a_dense_reference() {
        use linfa_linalg::cholesky::Cholesky;
        let (x, y) = data(230, 3, 4);
        let kernel = Kernel::Matern32 {
            lengthscales: vec![0.5, 0.7, 2.0],
        };
        let value = lml(x.view(), y.view(), &kernel, 1.3, 0.05, true).unwrap().0;
        let mut k = kernel.gram(x.view()).mapv(|v| 1.3 * v);
        k.diag_mut().mapv_inplace(|v| v + 0.05);
        let l = k.cholesky().unwrap();
        let alpha = crate::linalg::cho_solve(&l, y.view());
        let reference = -0.5 * y.dot(&alpha) - l.diag().mapv(f64::ln).sum() - 230.0 * HALF_LN_2PI;
        assert!((value - reference).abs() < 1e-9 * reference.abs());
    }

    #[test]
    fn results_do_not_depend_on_spare_cores() {
        // 400 points: the matrix multiplies are large enough to be split in halves.
        let (x, y) = data(400, 3, 5);
        let kernel = Kernel::Matern52 {
            lengthscales: vec![0.4, 0.9, 1.3],
        };
        let serial = lml(x.view(), y.view(), &kernel, 1.3, 0.05, true).unwrap();
        let spare = crate::parallel::SpareCores::new(1);
        let parallel = crate::parallel::with_spare_cores(&spare, || {
            lml(x.view(), y.view(), &kernel, 1.3, 0.05, true).unwrap()
        });
        assert_eq!(serial.0.to_bits(), parallel.0.to_bits());
        assert_eq!(serial.1, parallel.1);
    }

    #[test]
    fn optimisation_improves_on_the_start() {
        let (x, y) = data(40, 2, 2);
        let template = Kernel::new(KernelKind::Matern52, 2, 1.0);
        let space = Space::new(&template, x.view(), 1e-6);
        let start = space.default.clone();
        let effort = Effort {
            restarts: 2,
            seed: 0,
            max_iters: 100,
        };
        let opt = optimise(x.view(), y.view(), &template, &space, start.clone(), effort).unwrap();
        let value = |t: &Array1<f64>| lml_at(x.view(), y.view(), &template, t);
        assert!(value(&opt.theta) > value(&start) + 1.0);
    }

    #[test]
    fn large_sets_screen_starts_on_a_subset() {
        let (x, y) = data(SCREEN_MIN, 2, 3);
        let template = Kernel::new(KernelKind::Matern52, 2, 1.0);
        let space = Space::new(&template, x.view(), 1e-6);
        let start = space.default.clone();
        let effort = Effort {
            restarts: 3,
            seed: 0,
            max_iters: 100,
        };
        let opt = optimise(x.view(), y.view(), &template, &space, start.clone(), effort).unwrap();
        assert!(opt.screening_evaluations > 0 && opt.evaluations > 0);
        let value = |t: &Array1<f64>| lml_at(x.view(), y.view(), &template, t);
        // Only the best screened start is refined on all points; it still reaches what a
        // full search from the three starts reaches.
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut full = Vec::new();
        for s in std::iter::once(start).chain((1..3).map(|_| space.random_start(&mut rng))) {
            let o = run_start(x.view(), y.view(), &template, &space, s, 100, REL_TOL);
            full.push(-o.best.unwrap().0);
        }
        let best_full = full.iter().copied().fold(f64::MIN, f64::max);
        assert!(
            value(&opt.theta) > best_full - 0.5,
            "{} vs {best_full}",
            value(&opt.theta)
        );
    }
}
