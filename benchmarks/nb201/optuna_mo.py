#!/usr/bin/env python3
"""Optuna's multi-objective samplers on NAS-Bench-201: accuracy against latency, by hypervolume.

Reference numbers for nasbo's multi-objective search (issue 4). Each run searches the 15,625
NAS-Bench-201 cells as 6 categorical parameters (one per edge, 5 ops each) for two objectives:
maximise the validation accuracy `{dataset}_valid_acc_200` (from --table) and minimise the
latency column --latency-column (default `help_pixel3_ms`, from --latency), the two tables
joined on `arch_index`.

Queries: every trial counts as a query, including a cell Optuna suggests again (it evaluates
nothing new, so repeats only cost budget; the script reports how many there were). A run makes
exactly --budget trials.

Samplers (Optuna defaults, seeded with the run's seed): NSGA-II (population 50) draws its
first generation with a RandomSampler of the same seed, so its first 50 queries are random's;
TPE's first 10 (n_startup_trials) are random's too. Curves only differ after those.

Hypervolume: in the minimisation convention, on (100 − valid_acc, latency_ms), with a FIXED
reference point from the whole table: (max over the table of 100 − valid_acc, max over the table
of latency). A cell contributes only when it is strictly better than the reference in both
objectives. The hypervolume after N queries is that of all cells queried so far. The hypervolume
of the table's TRUE Pareto front (every cell) is the upper bound; the summary also reports the
runs' hypervolume as a percentage of it.

Summary: mean ± std [standard error] over seeds of the hypervolume at 10, 20, 50, 100 queries
(those within the budget, plus the budget), as `optuna_bench.py` prints its regret. --out DIR
writes summary.md, summary.csv, runs.csv (one row per run) and curves.csv (the hypervolume after
every query of every run).

    python3 benchmarks/nb201/optuna_mo.py --samplers nsga2,tpe,random --seeds 50 --budget 100 \\
        --out runs/nb201-c10-mo

Installs optuna into benchmarks/nb201/.venv (or the venv named by $NB201_VENV) when missing.
"""
import argparse
import csv
import gzip
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The single-objective script's space, statistics, cells and venv handling (no optuna import).
from optuna_bench import EDGES, OPS, QUERY_CHECKPOINTS, cell, ensure_packages, progress, stats  # noqa: E402
from optuna_bench import make_sampler as single_objective_sampler  # noqa: E402

SAMPLERS = ("nsga2", "tpe", "random")
CSV_HEADER = (
    "benchmark,dataset,objectives,reference_error,reference_latency,true_front_hv,strategy,seeds,"
    "first_seed,budget,checkpoint,runs,n,hv_mean,hv_std,hv_se,hv_pct_mean,hv_pct_std,hv_pct_se"
)


# ---------------------------------------------------------------- hypervolume (2-D, minimised)


def hypervolume_2d(points, reference):
    """Area dominated by `points` (pairs, both objectives minimised) and bounded by `reference`.

    Only points strictly better than the reference in both objectives count. Sweep: sorted by
    the first objective (ties: the second), each point that improves the best second objective
    so far adds the strip between the old and the new best, from its first objective to the
    reference's."""
    r0, r1 = reference
    inside = sorted((a, b) for a, b in points if a < r0 and b < r1)
    area, best = 0.0, r1
    for a, b in inside:
        if b < best:
            area += (r0 - a) * (best - b)
            best = b
    return area


def pareto_front_2d(points):
    """The non-dominated points (minimised), one copy of each, sorted by the first objective."""
    front, best = [], math.inf
    for a, b in sorted(set(points)):
        if b < best:
            front.append((a, b))
            best = b
    return front


# ---------------------------------------------------------------- the tables


def load_tables(table_path, latency_path, dataset, latency_column):
    """{ops tuple: (100 − valid_acc, latency_ms)} over the cells that have both values."""
    valid_c = f"{dataset}_valid_acc_200"

    def rows(path, needed):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in needed if c not in reader.fieldnames]
            if missing:
                sys.exit(f"{path} lacks the columns {', '.join(missing)}")
            yield from reader

    latency = {}
    for row in rows(latency_path, ["arch_index", latency_column]):
        if row[latency_column] != "":
            latency[int(row["arch_index"])] = float(row[latency_column])
    table, skipped = {}, 0
    for row in rows(table_path, ["arch_index", valid_c] + EDGES):
        key = tuple(int(row[e]) for e in EDGES)
        lat = latency.get(int(row["arch_index"]))
        valid = float(row[valid_c]) if row[valid_c] != "" else math.nan
        if lat is None or not math.isfinite(valid) or not math.isfinite(lat):
            skipped += 1
            continue
        table[key] = (100.0 - valid, lat)
    if skipped:
        print(f"note: {skipped} cell(s) lack {valid_c} or {latency_column}: not searchable", file=sys.stderr)
    if len(table) + skipped != 5 ** 6:
        sys.exit(f"{table_path}: expected all 15625 cells, found {len(table) + skipped}")
    return table


# ---------------------------------------------------------------- one run

_TABLE = None


def _init_worker(table_path, latency_path, dataset, latency_column):
    global _TABLE
    _TABLE = load_tables(table_path, latency_path, dataset, latency_column)


def make_sampler(name, seed):
    """NSGA-II here; TPE and random as the single-objective script makes them (seeded)."""
    import optuna

    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    return single_objective_sampler(name, seed)


def run_one(task):
    """One search. Returns (sampler, seed, hv curve, distinct cells, wall_s, final front)."""
    sampler_name, seed, budget, reference = task
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(sampler_name, seed))
    seen, front, curve = set(), [], []
    started = time.perf_counter()
    for _ in range(budget):
        trial = study.ask()
        key = tuple(OPS.index(trial.suggest_categorical(e, OPS)) for e in EDGES)
        err, lat = _TABLE[key]
        study.tell(trial, [100.0 - err, lat])
        seen.add(key)
        front = pareto_front_2d(front + [(err, lat)])
        curve.append(hypervolume_2d(front, reference))
    return (sampler_name, seed, curve, len(seen), time.perf_counter() - started, front)


# ---------------------------------------------------------------- the summary


def checkpoints(budget):
    cps = [q for q in QUERY_CHECKPOINTS if q <= budget]
    if budget not in cps:
        cps.append(budget)
    return cps


def summarize(name, curves, true_hv, cps):
    rows = []
    for at in cps:
        hvs = [c[at - 1] for c in curves if len(c) >= at]
        rows.append((at, stats(hvs), stats([100.0 * h / true_hv for h in hvs])))
    return {"strategy": name, "runs": len(curves), "rows": rows}


def markdown(setting, summaries):
    last = setting["first_seed"] + setting["seeds"] - 1
    ref = setting["reference"]
    out = [
        f"### NAS-Bench-201 {setting['dataset']}, two objectives: {setting['seeds']} seeds "
        f"({setting['first_seed']}–{last}), budget {setting['budget']} queries\n",
        f"Objectives: maximise `{setting['searched_on']}` (validation split), minimise `{setting['latency']}` "
        f"(ms). Hypervolume on (100 − valid_acc, latency), both minimised, reference point "
        f"({ref[0]:.4f}, {ref[1]:.4f}) = {setting['reference_words']}; the TRUE Pareto front of all cells "
        f"({setting['front_size']} cells) has hypervolume {setting['true_hv']:.4f}. Every trial is a "
        "query, repeats included. Cells: mean ± std over seeds [standard error].\n",
    ]
    cps = [r[0] for r in summaries[0]["rows"]] if summaries else []

    def header():
        return ["| strategy | runs |" + "".join(f" {c} |" for c in cps), "|---|--:|" + "--:|" * len(cps)]

    out.append("Hypervolume after N queries:\n")
    out += header()
    for s in summaries:
        out.append(f"| {s['strategy']} | {s['runs']} |" + "".join(f" {cell(r[1], 2)} |" for r in s["rows"]))
    out.append("")
    out.append("Hypervolume after N queries, % of the true front's:\n")
    out += header()
    for s in summaries:
        out.append(f"| {s['strategy']} | {s['runs']} |" + "".join(f" {cell(r[2], 2)} |" for r in s["rows"]))
    return "\n".join(out) + "\n"


def to_csv(setting, summaries):
    def num(v):
        return "" if isinstance(v, float) and math.isnan(v) else f"{v:.6f}"

    lines = [CSV_HEADER]
    for s in summaries:
        for at, hv, pct in s["rows"]:
            lines.append(
                ",".join(
                    str(x)
                    for x in [
                        "NAS-Bench-201", setting["dataset"],
                        f"max:{setting['searched_on']};min:{setting['latency']}",
                        num(setting["reference"][0]), num(setting["reference"][1]), num(setting["true_hv"]),
                        s["strategy"], setting["seeds"], setting["first_seed"], setting["budget"], at,
                        s["runs"], hv[0], num(hv[1]), num(hv[2]), num(hv[3]), num(pct[1]), num(pct[2]), num(pct[3]),
                    ]
                )
            )
    return "\n".join(lines) + "\n"


def self_test():
    """The hypervolume against hand computations (the same front as nasbo's pareto.rs test)."""
    # Front (5.5, 20), (6, 12), (8.25, 10) plus the dominated (7, 15), reference (10, 25):
    # 4.5·5 + 4·8 + 1.75·2 = 22.5 + 32 + 3.5 = 58.
    pts = [(8.25, 10.0), (7.0, 15.0), (5.5, 20.0), (6.0, 12.0)]
    assert hypervolume_2d(pts, (10.0, 25.0)) == 58.0, hypervolume_2d(pts, (10.0, 25.0))
    assert pareto_front_2d(pts + [(6.0, 12.0)]) == [(5.5, 20.0), (6.0, 12.0), (8.25, 10.0)]
    # Unit staircase (1,3), (2,2), (3,1) under (4,4): 3 + 2 + 1 = 6 unit squares.
    assert hypervolume_2d([(1, 3), (2, 2), (3, 1)], (4, 4)) == 6
    # A point on the reference's boundary or beyond it adds nothing.
    assert hypervolume_2d([(1, 3), (4, 0), (0, 4), (5, 5)], (4, 4)) == 3
    assert hypervolume_2d([], (4, 4)) == 0
    s = summarize("hand", [[1.0, 2.0, 4.0], [1.0, 4.0, 4.0]], 8.0, [2, 3])
    n, mean, std, se = s["rows"][0][1]
    assert (n, mean) == (2, 3.0) and abs(std - math.sqrt(2)) < 1e-12 and abs(se - 1.0) < 1e-12
    assert s["rows"][1][1] == (2, 4.0, 0.0, 0.0) and s["rows"][1][2] == (2, 50.0, 0.0, 0.0)
    assert checkpoints(120) == [10, 20, 50, 100, 120] and checkpoints(100) == [10, 20, 50, 100]
    print("self-test: 1 passed, 0 failed")


# ---------------------------------------------------------------- main


def main():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Protocol, queries and hypervolume: see the docstring at the top of this file.",
    )
    data = os.environ.get("NASBO_DATA", "")
    p.add_argument("--table", default=None, help="the NB201 CSV (default $NASBO_DATA/nb201/nb201_cifar10.csv.gz)")
    p.add_argument("--latency", default=None, help="the latency CSV (default $NASBO_DATA/nb201/nb201_latency.csv.gz)")
    p.add_argument("--latency-column", default="help_pixel3_ms", help="the latency objective (minimised)")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--samplers", default="nsga2,tpe,random", help="comma-separated: nsga2, tpe, random")
    p.add_argument("--seeds", type=int, default=50)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--budget", type=int, default=100, help="queries (trials, repeats included) per run")
    p.add_argument(
        "--reference",
        default=None,
        help="ERROR,LATENCY: another fixed reference point (default: the table's worst of each, see above)",
    )
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", default=None, help="folder for summary.md, summary.csv, runs.csv, curves.csv")
    p.add_argument("--self-test", action="store_true", help="check the hypervolume against hand computations and exit")
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
    ensure_packages(need_gp=False)
    import optuna

    table_path = args.table or os.path.join(data, "nb201", f"nb201_{args.dataset}.csv.gz")
    latency_path = args.latency or os.path.join(data, "nb201", "nb201_latency.csv.gz")
    for path in (table_path, latency_path):
        if not os.path.exists(path):
            sys.exit(f"no table at {path}: pass --table/--latency or set NASBO_DATA")
    table = load_tables(table_path, latency_path, args.dataset, args.latency_column)
    points = list(table.values())
    reference = (max(e for e, _ in points), max(lat for _, lat in points))
    if args.reference:
        try:
            reference = tuple(float(v) for v in args.reference.split(","))
            assert len(reference) == 2
        except (ValueError, AssertionError):
            sys.exit(f"--reference {args.reference}: expected ERROR,LATENCY, e.g. 20,15")
    true_front = pareto_front_2d(points)
    true_hv = hypervolume_2d(true_front, reference)
    setting = {
        "dataset": args.dataset,
        "searched_on": f"{args.dataset}_valid_acc_200",
        "latency": args.latency_column,
        "seeds": args.seeds,
        "first_seed": args.first_seed,
        "budget": args.budget,
        "reference": reference,
        "true_hv": true_hv,
        "front_size": len(true_front),
        "reference_words": "given by --reference" if args.reference else "the table's worst of each",
    }
    print(
        f"optuna {optuna.__version__}: {','.join(samplers)} × {args.seeds} seeds on NAS-Bench-201 {args.dataset}, "
        f"budget {args.budget} queries, {args.jobs} process(es); maximise {setting['searched_on']}, "
        f"minimise {args.latency_column}\n"
        f"reference point (100 − valid_acc, latency_ms) = ({reference[0]:.6f}, {reference[1]:.6f}); "
        f"true Pareto front: {len(true_front)} cells, hypervolume {true_hv:.6f}",
        file=sys.stderr,
    )
    tasks = [(s, seed, args.budget, reference) for seed in range(args.first_seed, args.first_seed + args.seeds) for s in samplers]
    started = time.perf_counter()
    results = []
    init = (table_path, latency_path, args.dataset, args.latency_column)
    if args.jobs > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(args.jobs, initializer=_init_worker, initargs=init) as pool:
            for i, r in enumerate(pool.imap_unordered(run_one, tasks), 1):
                results.append(r)
                progress(i, len(tasks), started)
    else:
        _init_worker(*init)
        for i, t in enumerate(tasks, 1):
            results.append(run_one(t))
            progress(i, len(tasks), started)
    wall = time.perf_counter() - started
    print(file=sys.stderr)
    results.sort(key=lambda r: (samplers.index(r[0]), r[1]))

    cps = checkpoints(args.budget)
    summaries = []
    runs_csv = ["strategy,seed,dataset,queries,distinct_cells,wall_s,final_hv,final_hv_pct,final_front_size"]
    curves_csv = ["strategy,seed,query,hv"]
    for s in samplers:
        mine = [r for r in results if r[0] == s]
        summaries.append(summarize(f"optuna {s}", [r[2] for r in mine], true_hv, cps))
        for r in mine:
            runs_csv.append(
                f"optuna-{s},{r[1]},{args.dataset},{len(r[2])},{r[3]},{r[4]:.3f},{r[2][-1]:.6f},"
                f"{100.0 * r[2][-1] / true_hv:.4f},{len(r[5])}"
            )
            curves_csv += [f"optuna-{s},{r[1]},{q},{hv:.6f}" for q, hv in enumerate(r[2], 1)]
        secs = sum(r[4] for r in mine)
        distinct = sum(r[3] for r in mine)
        queries = sum(len(r[2]) for r in mine)
        print(
            f"optuna {s}: {len(mine)} runs, {queries} queries of which {queries - distinct} repeats; "
            f"{secs:.1f} s process time in all, {1000 * secs / max(queries, 1):.1f} ms per trial (mean)",
            file=sys.stderr,
        )
    md = markdown(setting, summaries)
    cmd = " ".join(["python3", os.path.relpath(__file__)] + sys.argv[1:])
    footer = f"\nCommand: `{cmd}` (optuna {optuna.__version__}, {len(results)} run(s), {wall:.1f} s on {args.jobs} process(es)).\n"
    print(md + footer)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for name, text in [
            ("summary.md", md + footer),
            ("summary.csv", to_csv(setting, summaries)),
            ("runs.csv", "\n".join(runs_csv) + "\n"),
            ("curves.csv", "\n".join(curves_csv) + "\n"),
        ]:
            with open(os.path.join(args.out, name), "w") as f:
                f.write(text)
        print(f"wrote {args.out}/summary.md, summary.csv, runs.csv, curves.csv", file=sys.stderr)


if __name__ == "__main__":
    main()
