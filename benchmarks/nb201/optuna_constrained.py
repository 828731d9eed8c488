#!/usr/bin/env python3
"""Optuna's samplers under a latency bound on NAS-Bench-201: the constrained single-objective reference.

Reference numbers for `nasbo bench --constraint "help_pixel3_ms<=X"` (issue 4). Each run searches
the 15,625 NAS-Bench-201 cells as 6 categorical parameters (one per edge, 5 ops each),
maximising the validation accuracy `{dataset}_valid_acc_200` (from --table) subject to
LATENCY <= X, where LATENCY is a column of --latency (default `help_pixel3_ms`, milliseconds),
the two tables joined on `arch_index`. A cell whose latency is missing counts as infeasible.

Samplers (Optuna defaults, seeded with the run's seed; every one is told the validation accuracy
of every trial, feasible or not):
  tpe     TPESampler with constraints_func: the constraint value is latency − X (feasible when
          <= 0); TPE puts infeasible trials in its "bad" group, ranked by their violation. Its
          first 10 trials (n_startup_trials) are random.
  nsga2   NSGAIISampler with constraints_func, one objective (Optuna allows it): constrained
          domination (feasible beats infeasible, two infeasible ones by their violation).
          Population 50: its first 50 trials are a RandomSampler's of the same seed.
  random  RandomSampler: ignores the constraint; the incumbent rule below does the rest.
Optuna 5.0 deprecates constraints_func in favour of Trial.set_constraint (both store the value
in the trial's system attributes and the samplers read it the same way); --constraint-api set
uses the latter. The FutureWarning about constraints_func is silenced.

Queries: every trial counts as a query, including a cell Optuna suggests again (it evaluates
nothing new, so a repeat only costs budget; the script reports how many there were). A run makes
exactly --budget trials.

Incumbent and regret (as `nasbo bench` under a constraint): the incumbent after q queries is the
FEASIBLE trial with the best validation accuracy among the first q (the earliest wins ties); a
run with no feasible trial yet has no incumbent. Test regret = the best test accuracy
`{dataset}_test_acc_200` among the FEASIBLE cells of the table − the incumbent's test accuracy,
in percentage points. At each checkpoint the summary averages over the runs that have an
incumbent and gives their number.

Summary: mean ± std [standard error] over seeds of the regret and of the incumbent's test
accuracy at 10, 20, 50, 100, 150, 200, 300 queries (those within the budget, plus the budget);
the runs with a feasible incumbent at each checkpoint; the median number of queries to reach the
best-validation FEASIBLE cell (">B" when at least half of the runs never reach it); the mean
share of feasible trials per run. It also prints the table's best feasible cell by validation
(what a perfect search returns) and by test accuracy (the regret's reference), with their
latency, and the fraction of the table's cells that are feasible. --out DIR writes summary.md,
summary.csv and runs.csv (one row per run; no per-query curves).

    export NASBO_DATA=/work/shared/data
    python3 benchmarks/nb201/optuna_constrained.py --samplers tpe,nsga2,random --seeds 50 \\
        --budget 100 --constraint "help_pixel3_ms<=5" --out runs/nb201-c10-pixel3-le5

Installs optuna into benchmarks/nb201/.venv (or the venv named by $NB201_VENV) when missing.
"""
import argparse
import csv
import gzip
import math
import os
import re
import shlex
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The single-objective script's space, table, trajectories, statistics and venv handling.
from optuna_bench import (  # noqa: E402
    EDGES,
    OPS,
    Trajectory,
    arch_str,
    cell,
    checkpoints,
    ensure_packages,
    fmt_num,
    load_table,
    median_text,
    progress,
    stats,
    summarize,
)
from optuna_mo import make_sampler as unconstrained_sampler  # noqa: E402

SAMPLERS = ("tpe", "nsga2", "random")
USER_ATTR = "latency_minus_bound"
CSV_HEADER = (
    "benchmark,dataset,searched_on,reported,constraint,feasible_cells,feasible_fraction,strategy,seeds,"
    "first_seed,budget,budget_unit,checkpoint,checkpoint_unit,runs,n,regret_mean,regret_std,regret_se,"
    "test_mean,test_std,test_se,reference_test,median_queries_to_best_valid,reached_best_valid,"
    "feasible_query_pct_mean"
)


# ---------------------------------------------------------------- the constraint and the tables


def parse_constraint(text):
    """`NAME<=BOUND` → (NAME, BOUND)."""
    m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*<=\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*", text)
    if not m:
        sys.exit(f"--constraint {text!r}: expected NAME<=BOUND, e.g. help_pixel3_ms<=5 (only <= is supported)")
    return m.group(1), float(m.group(2))


def _rows(path, needed):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            sys.exit(f"{path} lacks the columns {', '.join(missing)}")
        yield from reader


def load_latency(table_path, latency_path, column):
    """{ops tuple: latency} for every cell of the table, joined on arch_index (NaN where missing)."""
    by_index = {}
    for row in _rows(latency_path, ["arch_index", column]):
        by_index[int(row["arch_index"])] = float(row[column]) if row[column] != "" else math.nan
    latency, missing = {}, 0
    for row in _rows(table_path, ["arch_index"] + EDGES):
        lat = by_index.get(int(row["arch_index"]), math.nan)
        missing += not math.isfinite(lat)
        latency[tuple(int(row[e]) for e in EDGES)] = lat
    if missing:
        print(f"note: {missing} cell(s) have no {column} in {latency_path}: counted as infeasible", file=sys.stderr)
    return latency


def feasible_optimum(table, latency, bound):
    """The table's feasible cells: (count, best by validation, best by test), each best a key."""
    feasible = [
        k for k, (v, t, _) in table.items()
        if math.isfinite(latency.get(k, math.nan)) and latency[k] <= bound and math.isfinite(v) and math.isfinite(t)
    ]
    if not feasible:
        sys.exit(f"no cell of the table has latency <= {bound}: nothing to search for")
    best_valid = max(feasible, key=lambda k: table[k][0])
    best_test = max(feasible, key=lambda k: table[k][1])
    return len(feasible), best_valid, best_test


# ---------------------------------------------------------------- one run

_STATE = None  # (table, latency, bound, best feasible-valid key), set once per process


def _init_worker(table_path, latency_path, dataset, column, bound):
    global _STATE
    table = load_table(table_path, dataset)[0]
    latency = load_latency(table_path, latency_path, column)
    _STATE = (table, latency, bound, feasible_optimum(table, latency, bound)[1])


def _constraint_of(frozen_trial):
    return frozen_trial.user_attrs[USER_ATTR]


def make_sampler(name, seed, api):
    """TPE and NSGA-II with the latency constraint (constraints_func unless api is "set", where
    each trial sets its own); random without."""
    import optuna

    warnings.filterwarnings("ignore", category=FutureWarning, message=".*constraints_func.*")
    if name == "random" or api == "set":
        return unconstrained_sampler(name, seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constraints_func=_constraint_of)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=_constraint_of)
    raise ValueError(name)


def run_one(task):
    """One search. Returns (sampler, seed, points, distinct cells, feasible trials, wall_s, archs);
    points are (cost_s, valid or NaN when infeasible, test, is_best_feasible_valid) per query."""
    sampler_name, seed, budget, api = task
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    table, latency, bound, target = _STATE
    study = optuna.create_study(direction="maximize", sampler=make_sampler(sampler_name, seed, api))
    points, archs, seen, n_feasible = [], [], set(), 0
    started = time.perf_counter()
    for _ in range(budget):
        trial = study.ask()
        key = tuple(OPS.index(trial.suggest_categorical(e, OPS)) for e in EDGES)
        valid, test, cost = table[key]
        lat = latency[key]
        # Optuna refuses NaN constraint values: a missing latency is an infinite violation.
        violation = lat - bound if math.isfinite(lat) else math.inf
        if api == "set":
            trial.set_constraint("latency", violation)
        else:
            trial.set_user_attr(USER_ATTR, [violation])
        if math.isfinite(valid):
            study.tell(trial, valid)
        else:
            study.tell(trial, state=TrialState.FAIL)
        feasible = violation <= 0
        n_feasible += feasible
        seen.add(key)
        points.append((cost, valid if feasible else math.nan, test, key == target))
        archs.append(key)
    return (sampler_name, seed, points, len(seen), n_feasible, time.perf_counter() - started, archs)


# ---------------------------------------------------------------- the summary


def markdown(setting, summaries):
    last = setting["first_seed"] + setting["seeds"] - 1
    bv, bt = setting["best_valid"], setting["best_test"]
    out = [
        f"### NAS-Bench-201 {setting['dataset']} under `{setting['constraint']}`: {setting['seeds']} seeds "
        f"({setting['first_seed']}–{last}), budget {setting['budget']} queries\n",
        f"Maximise `{setting['searched_on']}` (validation split) subject to `{setting['constraint']}`; "
        f"reported `{setting['reported']}` (test split). Feasible cells: {setting['feasible']} of "
        f"{setting['cells']} ({100.0 * setting['feasible_fraction']:.2f} %). Best feasible cell by validation: "
        f"{bv['arch']} (valid {bv['valid']:.2f}, test {bv['test']:.2f}, {bv['latency']:.4f} ms); by test: "
        f"{bt['arch']} (valid {bt['valid']:.2f}, test {bt['test']:.2f}, {bt['latency']:.4f} ms). Test regret = "
        f"the best feasible test accuracy ({bt['test']:.2f}) − the incumbent's test accuracy, in percentage "
        "points; the incumbent is the feasible trial with the best validation accuracy so far, and runs "
        "without a feasible trial yet are left out of the mean (their number is in the last table). Every "
        "trial is a query, repeats included. Cells: mean ± std over seeds [standard error].\n",
    ]
    cps = [r[0] for r in summaries[0]["rows"]] if summaries else []

    def header(last_col=None):
        h, r = "| strategy | runs |" + "".join(f" {c} |" for c in cps), "|---|--:|" + "--:|" * len(cps)
        if last_col:
            h, r = h + f" {last_col} |", r + "--:|"
        return [h, r]

    out.append("Test regret (%) after N queries:\n")
    out += header("median queries to best-valid feasible cell (reached)")
    for s in summaries:
        med = median_text(s["median"], str(setting["budget"]))
        out.append(
            f"| {s['strategy']} | {s['runs']} |" + "".join(f" {cell(r[1], 3)} |" for r in s["rows"])
            + f" {med} ({s['reached']}/{s['runs']}) |"
        )
    out += ["", "Test accuracy (%) of the incumbent after N queries:\n"]
    out += header()
    for s in summaries:
        out.append(f"| {s['strategy']} | {s['runs']} |" + "".join(f" {cell(r[2], 2)} |" for r in s["rows"]))
    out += ["", "Runs with a feasible incumbent after N queries:\n"]
    out += header("feasible trials per run (%)")
    for s in summaries:
        out.append(
            f"| {s['strategy']} | {s['runs']} |" + "".join(f" {r[1][0]} |" for r in s["rows"])
            + f" {cell(s['feasible_pct'], 1)} |"
        )
    return "\n".join(out) + "\n"


def to_csv(setting, summaries):
    def num(v):
        return "" if isinstance(v, float) and math.isnan(v) else f"{v:.6f}"

    lines = [CSV_HEADER]
    for s in summaries:
        for at, r, t in s["rows"]:
            lines.append(
                ",".join(
                    str(x)
                    for x in [
                        "NAS-Bench-201", setting["dataset"], setting["searched_on"], setting["reported"],
                        setting["constraint"], setting["feasible"], f"{setting['feasible_fraction']:.6f}",
                        s["strategy"], setting["seeds"], setting["first_seed"], setting["budget"], "queries",
                        fmt_num(at), "queries", s["runs"], r[0], num(r[1]), num(r[2]), num(r[3]),
                        num(t[1]), num(t[2]), num(t[3]), num(setting["best_test"]["test"]),
                        median_text(s["median"], str(setting["budget"])), s["reached"],
                        num(s["feasible_pct"][1]),
                    ]
                )
            )
    return "\n".join(lines) + "\n"


def self_test():
    """The incumbent rule on a hand-made run: infeasible trials never become the incumbent."""
    nan = math.nan
    # Run a: infeasible, then feasible 80/85, infeasible (valid 99 ignored), feasible 90/88.
    a = Trajectory([(1.0, nan, 94.0, False), (1.0, 80.0, 85.0, False), (1.0, nan, 95.0, False), (1.0, 90.0, 88.0, True)])
    # Run b: no feasible trial in the first two queries.
    b = Trajectory([(1.0, nan, 90.0, False), (1.0, nan, 91.0, False), (1.0, 70.0, 86.0, False), (1.0, 75.0, 84.0, False)])
    s = summarize("hand", [a, b], 90.0, "queries", [1, 2, 3, 4])
    assert s["rows"][0][1][0] == 0 and s["rows"][1][1] == (1, 5.0, 0.0, 0.0), s["rows"][:2]
    n, mean, std, se = s["rows"][2][1]
    assert (n, mean) == (2, 4.5) and abs(std - math.sqrt(0.5)) < 1e-12 and abs(se - 0.5) < 1e-12
    n, mean, std, se = s["rows"][3][1]
    assert (n, mean) == (2, 4.0) and abs(std - math.sqrt(8.0)) < 1e-12 and abs(se - 2.0) < 1e-12
    assert (s["reached"], median_text(s["median"], "4")) == (1, ">4")
    assert parse_constraint("help_pixel3_ms<=5") == ("help_pixel3_ms", 5.0)
    assert parse_constraint(" x <= 2.5e-1 ") == ("x", 0.25)
    table = {(0,): (80.0, 90.0, 1.0), (1,): (85.0, 89.0, 1.0), (2,): (95.0, 96.0, 1.0), (3,): (nan, nan, 1.0)}
    latency = {(0,): 4.0, (1,): 5.0, (2,): 6.0, (3,): 1.0}
    assert feasible_optimum(table, latency, 5.0) == (2, (1,), (0,))
    setting = {"dataset": "cifar10", "searched_on": "cifar10_valid_acc_200", "reported": "cifar10_test_acc_200",
               "constraint": "help_pixel3_ms<=5", "feasible": 2, "cells": 4, "feasible_fraction": 0.5,
               "seeds": 2, "first_seed": 0, "budget": 4,
               "best_valid": {"arch": "b", "valid": 85.0, "test": 89.0, "latency": 5.0},
               "best_test": {"arch": "a", "valid": 80.0, "test": 90.0, "latency": 4.0}}
    s = summarize("hand", [a, b], 90.0, "queries", [2, 4])
    s["feasible_pct"] = stats([50.0, 50.0])
    md = markdown(setting, [s])
    assert "| hand | 2 | 5.000 ± 0.000 [0.000] | 4.000 ± 2.828 [2.000] | >4 (1/2) |" in md, md
    assert "| hand | 2 | 1 | 2 | 50.0 ± 0.0 [0.0] |" in md, md
    row = to_csv(setting, [s]).splitlines()[1]
    assert row.startswith("NAS-Bench-201,cifar10,cifar10_valid_acc_200,cifar10_test_acc_200,help_pixel3_ms<=5,2,0.500000,"
                          "hand,2,0,4,queries,2,queries,2,1,5.000000,0.000000,0.000000,85.000000,"), row
    print("self-test: 1 passed, 0 failed")


# ---------------------------------------------------------------- main


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = os.environ.get("NASBO_DATA", "")
    p.add_argument("--table", default=None, help="the NB201 CSV (default $NASBO_DATA/nb201/nb201_{dataset}.csv.gz)")
    p.add_argument("--latency", default=None, help="the latency CSV (default $NASBO_DATA/nb201/nb201_latency.csv.gz)")
    p.add_argument("--constraint", default="help_pixel3_ms<=5",
                   help="NAME<=BOUND, NAME a column of --latency (default help_pixel3_ms<=5: about 20%% of cells feasible)")
    p.add_argument("--dataset", default="cifar10", help="the table's dataset columns (default cifar10)")
    p.add_argument("--samplers", default="tpe,nsga2,random", help="comma-separated: tpe, nsga2, random (default all)")
    p.add_argument("--seeds", type=int, default=50, help="runs per sampler (default 50)")
    p.add_argument("--first-seed", type=int, default=0, help="seed of the first run (default 0)")
    p.add_argument("--budget", type=int, default=100, help="queries (trials, repeats included) per run (default 100)")
    p.add_argument("--constraint-api", choices=["func", "set"], default="func",
                   help="how TPE and NSGA-II learn the constraint: the samplers' constraints_func (default) or "
                   "Trial.set_constraint (Optuna >= 5.0)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel processes (default: the CPU count)")
    p.add_argument("--out", default=None, help="folder for summary.md, summary.csv, runs.csv")
    p.add_argument("--self-test", action="store_true", help="check the incumbent rule and the summary by hand and exit")
    args = p.parse_args()
    if args.self_test:
        self_test()
        return
    samplers = [s for s in args.samplers.split(",") if s]
    for s in samplers:
        if s not in SAMPLERS:
            sys.exit(f"unknown sampler {s}: {', '.join(SAMPLERS)}")
    if args.budget < 1 or args.seeds < 1:
        sys.exit("--budget and --seeds must be at least 1")
    column, bound = parse_constraint(args.constraint)
    ensure_packages(need_gp=False)
    import optuna

    table_path = args.table or os.path.join(data, "nb201", f"nb201_{args.dataset}.csv.gz")
    latency_path = args.latency or os.path.join(data, "nb201", "nb201_latency.csv.gz")
    for path in (table_path, latency_path):
        if not os.path.exists(path):
            sys.exit(f"no table at {path}: pass --table/--latency or set NASBO_DATA")
    init = (table_path, latency_path, args.dataset, column, bound)
    _init_worker(*init)
    table, latency, _, _ = _STATE
    n_feasible, best_valid, best_test = feasible_optimum(table, latency, bound)

    def describe(k):
        return {"arch": arch_str(k), "valid": table[k][0], "test": table[k][1], "latency": latency[k]}

    setting = {
        "dataset": args.dataset,
        "searched_on": f"{args.dataset}_valid_acc_200",
        "reported": f"{args.dataset}_test_acc_200",
        "constraint": f"{column}<={fmt_num(bound)}",
        "feasible": n_feasible,
        "cells": len(table),
        "feasible_fraction": n_feasible / len(table),
        "seeds": args.seeds,
        "first_seed": args.first_seed,
        "budget": args.budget,
        "best_valid": describe(best_valid),
        "best_test": describe(best_test),
    }
    bv, bt = setting["best_valid"], setting["best_test"]
    print(
        f"optuna {optuna.__version__}: {','.join(samplers)} × {args.seeds} seeds on NAS-Bench-201 {args.dataset}, "
        f"budget {args.budget} queries, {args.jobs} process(es); maximise {setting['searched_on']} subject to "
        f"{setting['constraint']} (constraint API: {args.constraint_api})\n"
        f"feasible cells: {n_feasible} of {len(table)} ({100.0 * setting['feasible_fraction']:.2f} %); best feasible "
        f"by validation: {bv['arch']} valid {bv['valid']} test {bv['test']} latency {bv['latency']}; by test: "
        f"{bt['arch']} valid {bt['valid']} test {bt['test']} latency {bt['latency']}",
        file=sys.stderr,
    )
    tasks = [(s, seed, args.budget, args.constraint_api)
             for seed in range(args.first_seed, args.first_seed + args.seeds) for s in samplers]
    started = time.perf_counter()
    results = []
    if args.jobs > 1:
        import multiprocessing as mp

        # Forked workers inherit the tables loaded above.
        with mp.get_context("fork").Pool(args.jobs) as pool:
            for i, r in enumerate(pool.imap_unordered(run_one, tasks), 1):
                results.append(r)
                progress(i, len(tasks), started)
    else:
        for i, t in enumerate(tasks, 1):
            results.append(run_one(t))
            progress(i, len(tasks), started)
    wall = time.perf_counter() - started
    print(file=sys.stderr)
    results.sort(key=lambda r: (samplers.index(r[0]), r[1]))

    _, cps = checkpoints(args.budget, None)
    reference = bt["test"]
    summaries = []
    runs_csv = ["strategy,seed,dataset,constraint,queries,distinct_cells,feasible_queries,first_feasible_query,"
                "wall_s,incumbent_valid_acc,incumbent_test_acc,test_regret,queries_to_best_valid,incumbent_arch"]
    for s in samplers:
        mine = [r for r in results if r[0] == s]
        trajs = [Trajectory(r[2]) for r in mine]
        summary = summarize(f"optuna {s}", trajs, reference, "queries", cps)
        summary["feasible_pct"] = stats([100.0 * r[4] / len(r[2]) for r in mine])
        summaries.append(summary)
        for r, tr in zip(mine, trajs):
            feas = [i for i, pt in enumerate(r[2]) if math.isfinite(pt[1])]
            inc = max(feas, key=lambda i: (r[2][i][1], -i)) if feas else None
            last = tr.incumbent_test[-1] if tr.incumbent_test else None
            runs_csv.append(
                f"optuna-{s},{r[1]},{args.dataset},{setting['constraint']},{len(r[2])},{r[3]},{r[4]},"
                f"{feas[0] + 1 if feas else ''},{r[5]:.3f},{'' if inc is None else r[2][inc][1]},"
                f"{'' if last is None else last},{'' if last is None else f'{reference - last:.6f}'},"
                f"{tr.hit or ''},{'' if inc is None else arch_str(r[6][inc])}"
            )
        secs = sum(r[5] for r in mine)
        distinct = sum(r[3] for r in mine)
        queries = sum(len(r[2]) for r in mine)
        print(
            f"optuna {s}: {len(mine)} runs, {queries} queries of which {queries - distinct} repeats and "
            f"{sum(r[4] for r in mine)} feasible; {secs:.1f} s process time in all, "
            f"{1000 * secs / max(queries, 1):.1f} ms per trial (mean)",
            file=sys.stderr,
        )
    md = markdown(setting, summaries)
    cmd = " ".join(shlex.quote(a) for a in ["python3", os.path.relpath(__file__)] + sys.argv[1:])
    footer = (f"\nCommand: `{cmd}` (optuna {optuna.__version__}, {len(results)} run(s), {wall:.1f} s on "
              f"{args.jobs} process(es)).\n")
    print(md + footer)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for name, text in [
            ("summary.md", md + footer),
            ("summary.csv", to_csv(setting, summaries)),
            ("runs.csv", "\n".join(runs_csv) + "\n"),
        ]:
            with open(os.path.join(args.out, name), "w") as f:
                f.write(text)
        print(f"wrote {args.out}/summary.md, summary.csv, runs.csv", file=sys.stderr)


if __name__ == "__main__":
    main()
