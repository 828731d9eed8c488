#!/usr/bin/env python3
"""Optuna's samplers on the NAS-Bench-201 table, with the protocol and summary of `nasbo bench`.

Each run searches the 15,625 NAS-Bench-201 cells as 6 categorical parameters (one per edge,
5 ops each), maximising the validation accuracy `{dataset}_valid_acc_200`; the incumbent's test
accuracy `{dataset}_test_acc_200` is only reported. A run stops after --budget distinct cells
(queries), or once the simulated training seconds of its queries reach --budget-seconds.

Repeated suggestions: Optuna may suggest a cell it has already seen. nasbo's strategies never
re-query a cell, so by default (--repeats cache) a repeat is answered from a cache, told to
Optuna with the same value, and NOT counted as a query (nor as cost); a run that keeps
repeating itself stops after --max-suggestions-factor × budget suggestions and keeps its
incumbent (the script reports how many repeats and such stops there were). With
--repeats count, every suggestion counts as a query, repeats included (harsher on Optuna).

The summary is the one `nasbo bench` writes (same checkpoints, same conventions):
mean ± std [standard error] over seeds of the incumbent's test regret (the table's best test
accuracy − the incumbent's test accuracy) and test accuracy at 10, 20, 50, 100, 150, 200, 300
queries within the budget (plus the budget), and the median number of queries to reach the
best-validation cell (">150" when at least half of the runs never reach it). With
--compare DIR/summary.csv it prints nasbo's rows next to Optuna's in one table; --out also
writes each run's journal in nasbo's format, so that `nasbo bench --import OUT/journals` puts
Optuna's runs in nasbo's summary and regret plot.

    python3 benchmarks/nb201/optuna_bench.py --samplers tpe --seeds 100 --budget 150 \\
        --out bench/optuna-c10 --compare bench/c10/summary.csv

Installs optuna into benchmarks/nb201/.venv (or the venv named by $NB201_VENV) when it is
missing; --samplers gp additionally installs torch and scipy (large: only then).
"""
import argparse
import csv
import gzip
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.environ.get("NB201_VENV") or os.path.join(HERE, ".venv")

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
EDGES = ["op_0_1", "op_0_2", "op_1_2", "op_0_3", "op_1_3", "op_2_3"]
QUERY_CHECKPOINTS = [10, 20, 50, 100, 150, 200, 300]
SECONDS_FRACTIONS = [0.1, 0.25, 0.5, 0.75, 1.0]
FULL_EPOCHS = 200.0
CSV_HEADER = (
    "benchmark,dataset,searched_on,reported,strategy,seeds,first_seed,budget,budget_unit,"
    "checkpoint,checkpoint_unit,runs,n,regret_mean,regret_std,regret_se,test_mean,test_std,"
    "test_se,reference_test,median_queries_to_best_valid,reached_best_valid"
)


def ensure_packages(need_gp):
    """Re-executes this script inside a venv that has optuna (and torch, scipy for GP)."""
    mods = ["optuna"] + (["torch", "scipy"] if need_gp else [])
    missing = []
    for m in mods:
        try:
            __import__(m)
        except ImportError:
            missing.append(m)
    if not missing:
        return
    py = os.path.join(VENV, "bin", "python")
    if os.path.abspath(sys.executable) == os.path.abspath(py) and os.environ.get("NB201_INSTALLED"):
        sys.exit(f"the venv {VENV} lacks {', '.join(missing)} and installing failed")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    check = subprocess.run([py, "-c", "import " + ",".join(mods)], capture_output=True)
    if check.returncode != 0:
        print(f"installing {' '.join(mods)} into {VENV} ...", file=sys.stderr)
        subprocess.check_call([py, "-m", "pip", "install", "-q"] + mods)
    os.environ["NB201_INSTALLED"] = "1"
    os.execv(py, [py] + sys.argv)


# ---------------------------------------------------------------- the table


def cost_column(dataset):
    return "cifar10_valid_train_s_per_epoch" if dataset == "cifar10" else f"{dataset}_train_s_per_epoch"


def load_table(path, dataset):
    """{ops tuple: (valid, test, cost_s)}, the reference (best test) and the best-valid cell."""
    opener = gzip.open if path.endswith(".gz") else open
    valid_c, test_c, cost_c = f"{dataset}_valid_acc_200", f"{dataset}_test_acc_200", cost_column(dataset)
    table = {}
    with opener(path, "rt", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in EDGES + [valid_c, test_c, cost_c] if c not in reader.fieldnames]
        if missing:
            sys.exit(f"{path} lacks the columns {', '.join(missing)} (dataset {dataset})")
        for row in reader:
            key = tuple(int(row[e]) for e in EDGES)
            table[key] = (float(row[valid_c]), float(row[test_c]), float(row[cost_c]) * FULL_EPOCHS)
    if len(table) != 5 ** 6:
        sys.exit(f"{path}: expected all 15625 cells, found {len(table)}")
    finite = [(k, v) for k, v in table.items() if math.isfinite(v[0]) and math.isfinite(v[1])]
    reference = max(v[1] for _, v in finite)
    best_valid = max(finite, key=lambda kv: kv[1][0])[0]
    return table, reference, best_valid


def arch_str(key):
    o = [OPS[i] for i in key]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


# ---------------------------------------------------------------- one run

_TABLE = None


def _init_worker(path, dataset):
    global _TABLE
    _TABLE = load_table(path, dataset)


def make_sampler(name, seed):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(name)


def run_one(task):
    """One search. Returns (sampler, seed, points, suggestions, repeats, stopped_short, wall_s,
    archs); points are (cost_s, valid, test, is_target) per query, archs the queried cells."""
    sampler_name, seed, budget_q, budget_s, repeats_mode, max_factor, threads = task
    import optuna

    if sampler_name == "gp":
        import torch

        # Runs in parallel processes share the cores: one torch pool per process, not one per core.
        torch.set_num_threads(threads)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    table, _, best_valid = _TABLE
    study = optuna.create_study(direction="maximize", sampler=make_sampler(sampler_name, seed))
    seen = {}
    points, archs, suggestions, repeats, spent = [], [], 0, 0, 0.0
    cap = max_factor * (budget_q if budget_q else 1000)
    started = time.perf_counter()

    def spent_budget():
        return len(points) >= budget_q if budget_q else spent >= budget_s

    stopped_short = False
    while not spent_budget():
        if suggestions >= cap:
            stopped_short = True
            break
        trial = study.ask()
        key = tuple(OPS.index(trial.suggest_categorical(e, OPS)) for e in EDGES)
        suggestions += 1
        valid, test, cost = table[key]
        if key in seen:
            repeats += 1
            if repeats_mode == "cache":
                study.tell(trial, valid)
                continue
        seen[key] = True
        spent += cost
        points.append((cost, valid, test, key == best_valid))
        archs.append(key)
        study.tell(trial, valid)
    return (sampler_name, seed, points, suggestions, repeats, stopped_short, time.perf_counter() - started, archs)


# ---------------------------------------------------------------- the summary (as nasbo's report.rs)


class Trajectory:
    def __init__(self, points):
        self.start_cost, self.incumbent_test, self.hit = [], [], None
        spent, best = 0.0, None
        for i, (cost, valid, test, is_target) in enumerate(points):
            self.start_cost.append(spent)
            spent += cost
            if math.isfinite(valid) and (best is None or valid > best[0]):
                best = (valid, test)
            self.incumbent_test.append(best[1] if best else None)
            if is_target and self.hit is None:
                self.hit = i + 1

    def incumbent_at(self, unit, at):
        k = min(at, len(self.incumbent_test)) if unit == "queries" else sum(1 for s in self.start_cost if s < at)
        return self.incumbent_test[k - 1] if k > 0 else None


def stats(values):
    n = len(values)
    if n == 0:
        return (0, math.nan, math.nan, math.nan)
    mean = sum(values) / n
    std = 0.0 if n == 1 else math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return (n, mean, std, std / math.sqrt(n))


def median_hits(hits):
    s = sorted(math.inf if h is None else float(h) for h in hits)
    n = len(s)
    if n == 0:
        return math.inf
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def median_text(m, budget_text):
    if not math.isfinite(m):
        return f">{budget_text}"
    return f"{m:.0f}" if m == int(m) else f"{m:.1f}"


def checkpoints(budget_q, budget_s):
    if budget_q:
        cps = [q for q in QUERY_CHECKPOINTS if q <= budget_q]
        if budget_q not in QUERY_CHECKPOINTS:
            cps.append(budget_q)
        return "queries", cps
    return "seconds", [f * budget_s for f in SECONDS_FRACTIONS]


def summarize(name, trajectories, reference, unit, cps):
    rows = []
    for at in cps:
        tests = [t for t in (tr.incumbent_at(unit, at) for tr in trajectories) if t is not None]
        rows.append((at, stats([reference - t for t in tests]), stats(tests)))
    hits = [tr.hit for tr in trajectories]
    return {
        "strategy": name,
        "runs": len(trajectories),
        "rows": rows,
        "median": median_hits(hits),
        "reached": sum(h is not None for h in hits),
    }


def fmt_num(v):
    return f"{v:g}" if v == int(v) else f"{v}"


def cell(s, d):
    n, mean, std, se = s
    return "–" if n == 0 else f"{mean:.{d}f} ± {std:.{d}f} [{se:.{d}f}]"


def markdown(setting, summaries):
    unit, budget = setting["unit"], setting["budget"]
    words = f"{fmt_num(budget)} queries" if unit == "queries" else f"{fmt_num(budget)} simulated training seconds"
    btext = fmt_num(budget) if unit == "queries" else f"{fmt_num(budget)} s"
    last = setting["first_seed"] + setting["seeds"] - 1
    out = [
        f"### NAS-Bench-201 {setting['dataset']}: {setting['seeds']} seeds ({setting['first_seed']}–{last}), budget {words}\n",
        f"Searched on `{setting['searched_on']}` (validation split), reported `{setting['reported']}` (test split). "
        f"Test regret = the table's best test accuracy ({setting['reference']:.2f}) − the incumbent's test accuracy, "
        "in percentage points; the incumbent is the cell with the best validation accuracy so far. Cells: mean ± std "
        "over seeds [standard error].\n",
    ]
    cps = [r[0] for r in summaries[0]["rows"]] if summaries else []
    head = lambda c: fmt_num(c) if unit == "queries" else f"{c:.0f} s"  # noqa: E731
    unit_words = "queries" if unit == "queries" else "simulated training seconds"

    def header(last_col):
        h = "| strategy | runs |" + "".join(f" {head(c)} |" for c in cps)
        r = "|---|--:|" + "--:|" * len(cps)
        if last_col:
            h += f" {last_col} |"
            r += "--:|"
        return [h, r]

    out.append(f"Test regret (%) after N {unit_words}:\n")
    out += header("median queries to best-valid cell (reached)")
    for s in summaries:
        med = s["median_text"] if "median_text" in s else median_text(s["median"], btext)
        out.append(
            f"| {s['strategy']} | {s['runs']} |" + "".join(f" {cell(r[1], 3)} |" for r in s["rows"]) + f" {med} ({s['reached']}/{s['runs']}) |"
        )
    out.append("")
    out.append(f"Test accuracy (%) after N {unit_words}:\n")
    out += header(None)
    for s in summaries:
        out.append(f"| {s['strategy']} | {s['runs']} |" + "".join(f" {cell(r[2], 2)} |" for r in s["rows"]))
    return "\n".join(out) + "\n"


def to_csv(setting, summaries):
    def num(v):
        return "" if isinstance(v, float) and math.isnan(v) else f"{v:.6f}"

    lines = [CSV_HEADER]
    btext = fmt_num(setting["budget"])
    for s in summaries:
        for at, r, t in s["rows"]:
            lines.append(
                ",".join(
                    str(x)
                    for x in [
                        "NAS-Bench-201", setting["dataset"], setting["searched_on"], setting["reported"],
                        s["strategy"], setting["seeds"], setting["first_seed"], btext, setting["unit"],
                        fmt_num(at), setting["unit"], s["runs"], r[0], num(r[1]), num(r[2]), num(r[3]),
                        num(t[1]), num(t[2]), num(t[3]), num(setting["reference"]),
                        median_text(s["median"], btext), s["reached"],
                    ]
                )
            )
    return "\n".join(lines) + "\n"


def read_nasbo_summary(path, setting):
    """nasbo's summary.csv as summaries (rows rebuilt from the CSV's numbers)."""
    by = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for key, mine in [("dataset", setting["dataset"]), ("budget_unit", setting["unit"])]:
                if row[key] != mine:
                    sys.exit(f"{path}: {key} is {row[key]}, this run's is {mine}: not comparable")
            if float(row["budget"]) != float(setting["budget"]):
                sys.exit(f"{path}: budget {row['budget']}, this run's is {setting['budget']}: not comparable")
            if (row["seeds"], row["first_seed"]) != (str(setting["seeds"]), str(setting["first_seed"])) and not by:
                print(
                    f"note: {path} has {row['seeds']} seeds from {row['first_seed']}, this run "
                    f"{setting['seeds']} from {setting['first_seed']}",
                    file=sys.stderr,
                )
            s = by.setdefault(
                row["strategy"],
                {
                    "strategy": f"nasbo {row['strategy']}",
                    "runs": int(row["runs"]),
                    "rows": [],
                    "median_text": row["median_queries_to_best_valid"],
                    "reached": int(row["reached_best_valid"]),
                },
            )
            f3 = lambda c: float(row[c]) if row[c] else math.nan  # noqa: E731
            s["rows"].append(
                (
                    float(row["checkpoint"]),
                    (int(row["n"]), f3("regret_mean"), f3("regret_std"), f3("regret_se")),
                    (int(row["n"]), f3("test_mean"), f3("test_std"), f3("test_se")),
                )
            )
    return list(by.values())


def save_journal(out, r):
    """Writes a finished run's journal in nasbo's format (OUT/journals/optuna-{sampler}-s{seed}.jsonl,
    one trial a line) as soon as it ends, so that `nasbo bench --import OUT/journals` summarises
    and plots these runs next to its own (also those of an interrupted, slow GP bench)."""
    if not out:
        return
    import json

    folder = os.path.join(out, "journals")
    os.makedirs(folder, exist_ok=True)
    sampler, seed, points, archs = r[0], r[1], r[2], r[7]
    with open(os.path.join(folder, f"optuna-{sampler}-s{seed}.jsonl"), "w") as f:
        for i, ((cost, valid, test, _), key) in enumerate(zip(points, archs)):
            line = {"trial": i, "arch": arch_str(key), "status": "ok", "objective": valid,
                    "reported": {"test_acc": test}, "cost_s": cost, "seed": seed}
            f.write(json.dumps(line) + "\n")


def self_test():
    """The hand-made example of nasbo's report.rs tests: the same numbers here."""
    nan = math.nan
    a = Trajectory([(10.0, 80.0, 85.0, False), (20.0, 90.0, 91.0, True), (5.0, 85.0, 93.0, False)])
    b = Trajectory([(10.0, nan, nan, False), (10.0, 70.0, 88.0, False), (10.0, 75.0, 86.0, False)])
    s = summarize("hand", [a, b], 95.0, "queries", [1, 2, 3])
    assert s["rows"][0][1] == (1, 10.0, 0.0, 0.0), s["rows"][0]
    n, mean, std, se = s["rows"][1][1]
    assert (n, mean) == (2, 5.5) and abs(std - math.sqrt(4.5)) < 1e-12 and abs(se - 1.5) < 1e-12
    n, mean, std, se = s["rows"][2][1]
    assert mean == 6.5 and abs(std - math.sqrt(12.5)) < 1e-12 and abs(se - 2.5) < 1e-12
    assert (s["reached"], median_text(s["median"], "3")) == (1, ">3")
    assert a.incumbent_at("seconds", 10.0) == 85.0 and a.incumbent_at("seconds", 10.5) == 91.0
    assert b.incumbent_at("seconds", 10.0) is None and b.incumbent_at("seconds", 25.0) == 86.0
    assert median_hits([7, None, 2, 4]) == 5.5 and median_hits([2, 4, None]) == 4
    assert checkpoints(120, None) == ("queries", [10, 20, 50, 100, 120])
    setting = {"dataset": "cifar10", "searched_on": "cifar10_valid_acc_200", "reported": "cifar10_test_acc_200",
               "seeds": 2, "first_seed": 0, "unit": "queries", "budget": 3, "reference": 95.0}
    s = summarize("hand", [a, b], 95.0, "queries", [2, 3])
    md = markdown(setting, [s])
    assert "| hand | 2 | 5.500 ± 2.121 [1.500] | 6.500 ± 3.536 [2.500] | >3 (1/2) |" in md, md
    row = to_csv(setting, [s]).splitlines()[2]
    assert row == ("NAS-Bench-201,cifar10,cifar10_valid_acc_200,cifar10_test_acc_200,hand,2,0,3,queries,3,queries,2,2,"
                   "6.500000,3.535534,2.500000,88.500000,3.535534,2.500000,95.000000,>3,1"), row
    print("self-test: 1 passed, 0 failed")


# ---------------------------------------------------------------- main


def progress(done, total, started):
    """A progress line: redrawn on a terminal, every 10 % otherwise."""
    elapsed = time.perf_counter() - started
    if sys.stderr.isatty():
        print(f"\r{done}/{total} runs, {elapsed:.0f} s", end="", file=sys.stderr)
    elif done == total or done % max(1, total // 10) == 0:
        print(f"{done}/{total} runs, {elapsed:.0f} s", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Protocol and repeats: see the docstring at the top of this file.",
    )
    p.add_argument("--table", default=None, help="the NB201 CSV (default $NASBO_DATA/nb201/nb201_cifar10.csv.gz)")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--samplers", default="tpe", help="comma-separated: tpe, gp, random")
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--first-seed", type=int, default=0)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--budget", type=int, default=None, help="queries per run (default 150)")
    g.add_argument("--budget-seconds", type=float, default=None)
    p.add_argument("--repeats", choices=["cache", "count"], default="cache")
    p.add_argument("--max-suggestions-factor", type=int, default=50)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", default=None, help="folder for summary.md, summary.csv, runs.csv")
    p.add_argument("--compare", default=None, help="nasbo bench's summary.csv, printed side by side")
    p.add_argument("--gp", action="store_true", help="same as adding gp to --samplers")
    p.add_argument("--self-test", action="store_true", help="check the summary code against a hand computation and exit")
    args = p.parse_args()
    if args.self_test:
        self_test()
        return
    samplers = [s for s in args.samplers.split(",") if s]
    if args.gp and "gp" not in samplers:
        samplers.append("gp")
    for s in samplers:
        if s not in ("tpe", "gp", "random"):
            sys.exit(f"unknown sampler {s}: tpe, gp or random")
    ensure_packages("gp" in samplers)
    import optuna

    table_path = args.table or os.path.join(os.environ.get("NASBO_DATA", ""), "nb201", "nb201_cifar10.csv.gz")
    if not os.path.exists(table_path):
        sys.exit(f"no table at {table_path}: pass --table or set NASBO_DATA")
    budget_q = args.budget if args.budget_seconds is None else None
    if budget_q is None and args.budget_seconds is None:
        budget_q = 150
    table, reference, best_valid = load_table(table_path, args.dataset)
    unit, cps = checkpoints(budget_q, args.budget_seconds)
    setting = {
        "dataset": args.dataset,
        "searched_on": f"{args.dataset}_valid_acc_200",
        "reported": f"{args.dataset}_test_acc_200",
        "seeds": args.seeds,
        "first_seed": args.first_seed,
        "unit": unit,
        "budget": budget_q if budget_q else args.budget_seconds,
        "reference": reference,
    }
    print(
        f"optuna {optuna.__version__}: {','.join(samplers)} × {args.seeds} seeds on NAS-Bench-201 {args.dataset}, "
        f"budget {setting['budget']} {unit}, repeats: {args.repeats}, {args.jobs} process(es); "
        f"searched on {setting['searched_on']}, reported {setting['reported']}",
        file=sys.stderr,
    )
    tasks = [
        (s, seed, budget_q, args.budget_seconds, args.repeats, args.max_suggestions_factor,
         max(1, (os.cpu_count() or 1) // max(1, args.jobs)))
        for seed in range(args.first_seed, args.first_seed + args.seeds)
        for s in samplers
    ]
    started = time.perf_counter()
    results = []
    if args.jobs > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(args.jobs, initializer=_init_worker, initargs=(table_path, args.dataset)) as pool:
            for i, r in enumerate(pool.imap_unordered(run_one, tasks), 1):
                results.append(r)
                save_journal(args.out, r)
                progress(i, len(tasks), started)
    else:
        _init_worker(table_path, args.dataset)
        for i, t in enumerate(tasks, 1):
            results.append(run_one(t))
            save_journal(args.out, results[-1])
            progress(i, len(tasks), started)
    wall = time.perf_counter() - started
    print(file=sys.stderr)
    results.sort(key=lambda r: (samplers.index(r[0]), r[1]))

    summaries, runs_csv = [], ["strategy,seed,dataset,queries,suggestions,repeats,stopped_short,wall_s,best_test_acc,test_regret,queries_to_best_valid"]
    for s in samplers:
        mine = [r for r in results if r[0] == s]
        trajs = [Trajectory(r[2]) for r in mine]
        label = f"optuna {s}" + (" (repeats counted)" if args.repeats == "count" else "")
        summaries.append(summarize(label, trajs, reference, unit, cps))
        for r, tr in zip(mine, trajs):
            last = tr.incumbent_test[-1] if tr.incumbent_test else None
            runs_csv.append(
                f"optuna-{s},{r[1]},{args.dataset},{len(r[2])},{r[3]},{r[4]},{int(r[5])},{r[6]:.3f},"
                f"{'' if last is None else last},{'' if last is None else f'{reference - last:.6f}'},{tr.hit or ''}"
            )
        sugg = sum(r[3] for r in mine)
        reps = sum(r[4] for r in mine)
        short = sum(r[5] for r in mine)
        secs = sum(r[6] for r in mine)
        print(
            f"optuna {s}: {len(mine)} runs, {sugg} suggestions of which {reps} repeats "
            f"({'not counted' if args.repeats == 'cache' else 'counted'} as queries), {short} run(s) stopped "
            f"short; {1000 * secs / max(sugg, 1):.1f} ms per suggestion (process time, mean)",
            file=sys.stderr,
        )
    md = markdown(setting, summaries)
    cmd = " ".join(["python3", os.path.relpath(__file__)] + sys.argv[1:])
    footer = f"\nCommand: `{cmd}` (optuna {optuna.__version__}, {len(results)} run(s), {wall:.1f} s on {args.jobs} process(es)).\n"
    print(md + footer)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "summary.md"), "w") as f:
            f.write(md + footer)
        with open(os.path.join(args.out, "summary.csv"), "w") as f:
            f.write(to_csv(setting, summaries))
        with open(os.path.join(args.out, "runs.csv"), "w") as f:
            f.write("\n".join(runs_csv) + "\n")
        print(
            f"wrote {args.out}/summary.md, summary.csv, runs.csv and journals/ "
            f"(for `nasbo bench --import {args.out}/journals`)",
            file=sys.stderr,
        )
    if args.compare:
        theirs = read_nasbo_summary(args.compare, setting)
        # Same checkpoints on both sides: keep nasbo's rows at this run's checkpoints.
        for s in theirs:
            s["rows"] = [r for r in s["rows"] if r[0] in [float(c) for c in cps]]
        print("Side by side (nasbo's rows from " + args.compare + "):\n")
        print(markdown(setting, theirs + summaries))


if __name__ == "__main__":
    main()
