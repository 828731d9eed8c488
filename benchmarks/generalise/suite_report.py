#!/usr/bin/env python3
"""One markdown table over the generalisation suite's `nasbo bench` folders.

    python3 benchmarks/generalise/suite_report.py runs/suite/results/*-s0 [--at 50 100]
                                                  [--baseline bo] [--z 2]

For each folder (one suite table; its name minus `-sSEED` labels the row) and each checkpoint
N: every strategy's mean test regret after N queries [standard error over its runs], and, for
the baseline (BO) against each other strategy, the mean difference baseline − other with its
z = difference / standard error of the difference.

The difference is PAIRED by seed: every strategy runs the same seeds (and the same initial
random draws), so d_s = regret_bo(s) − regret_other(s) is computed per seed s present in both,
and SE = sd(d) / sqrt(n). Per-run regrets at N are recomputed from the journals
(`journals/{strategy}-s{seed}.jsonl`) exactly as nasbo does: the incumbent after N queries is
the trial the strategy recommended after the N-th (`recommended`), else the first successful
trial with the best searched value (`objective`, noisy under `noise`) among the first N trials, regret = `reference_test` (bench.json) − its reported test value
(`reported[bench.json's reported]`); maximised objectives are assumed (every suite table's).
The means are checked against summary.csv (a warning if they differ). Where a strategy has no
journals, the difference falls back to UNPAIRED (SE = sqrt(se_a^2 + se_b^2) from summary.csv),
marked with a `u`.

Negative differences favour the baseline. A row is flagged (**!**) where the baseline is not
ahead of some other strategy by more than Z (default 2) standard errors of the difference,
i.e. where z > −Z; the flag lists those strategies.

Screening a setting (`suite.sh` with EXTRA_CONFIG and TAG writes NAME-TAG-sSEED beside NAME-sSEED):

    python3 benchmarks/generalise/suite_report.py runs/suite/results/*-s0 --screen TAG

compares, per table, the baseline strategy's runs under the setting (NAME-TAG-sSEED) with its
runs under the defaults (NAME-sSEED), paired by seed: TAG − default (z), flagged **!** where
the setting is worse by more than Z standard errors and marked *better* where it is better by
more than Z.
"""
import argparse
import csv
import glob
import json
import math
import os
import re
import sys


def stats(values):
    n = len(values)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, sd / math.sqrt(n), n


def regrets_at(trials, checkpoints, reference, reported):
    """Regret of the incumbent after each checkpoint (None before the first success)."""
    trials = sorted(trials, key=lambda t: t["trial"])
    out, best, k = {}, None, 0
    for n in sorted(checkpoints):
        while k < min(n, len(trials)):
            t = trials[k]
            k += 1
            if t.get("status") != "ok" or t.get("objective") is None or t.get("feasible") is False:
                continue
            if best is None or t["objective"] > best[0]:
                best = (t["objective"], t.get("reported", {}).get(reported))
        incumbent = best
        # The strategy's recommendation after the n-th trial (`recommended`, a trial number),
        # where it made one, is the incumbent (BO with `recommend = "posterior"`).
        last = trials[k - 1] if k else None
        r = last.get("recommended") if last else None
        if r is not None and 0 <= r < len(trials):
            rec = trials[r]
            if rec.get("status") == "ok" and rec.get("objective") is not None:
                incumbent = (rec["objective"], rec.get("reported", {}).get(reported))
        out[n] = None if incumbent is None or incumbent[1] is None else reference - incumbent[1]
    return out


def read_bench(folder, checkpoints):
    manifest = json.load(open(os.path.join(folder, "bench.json")))
    reference, reported = manifest["reference_test"], manifest["reported"]
    summary = {}
    path = os.path.join(folder, "summary.csv")
    if os.path.isfile(path):
        for row in csv.DictReader(open(path)):
            if row.get("checkpoint_unit", "queries") != "queries":
                continue
            summary[(row["strategy"], int(row["checkpoint"]))] = (
                float(row["regret_mean"]), float(row["regret_se"]), int(row["n"]))
    runs = {}  # strategy -> seed -> {checkpoint: regret}
    for path in sorted(glob.glob(os.path.join(folder, "journals", "*.jsonl"))):
        m = re.match(r"(.+)-s(\d+)\.jsonl$", os.path.basename(path))
        if not m:
            continue
        trials = []
        for line in open(path):
            line = line.strip()
            if not line:
                continue
            try:
                trials.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a torn last line: nasbo ignores it too
        runs.setdefault(m.group(1), {})[int(m.group(2))] = regrets_at(trials, checkpoints, reference, reported)
    strategies = list(runs) or sorted({s for s, _ in summary})
    return manifest, summary, runs, strategies


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", help="nasbo bench output folders, one per suite table")
    ap.add_argument("--at", type=int, nargs="+", default=[50, 100], help="checkpoints (queries)")
    ap.add_argument("--baseline", default="bo")
    ap.add_argument("--z", type=float, default=2.0, help="flag unless the baseline is ahead by more than Z SE")
    ap.add_argument("--screen", metavar="TAG", help="compare NAME-TAG-sSEED with NAME-sSEED (the baseline strategy)")
    args = ap.parse_args()
    if args.screen:
        return screen(args)

    order = ["bo", "re", "ls", "random"]
    rows, warnings, all_strategies = [], [], []
    flagged = total = 0
    for folder in args.folders:
        folder = folder.rstrip("/")
        if not os.path.isfile(os.path.join(folder, "bench.json")):
            warnings.append(f"{folder}: no bench.json (not a finished nasbo bench folder), skipped")
            continue
        label = re.sub(r"-s\d+$", "", os.path.basename(folder))
        manifest, summary, runs, strategies = read_bench(folder, args.at)
        for s in strategies:
            if s not in all_strategies:
                all_strategies.append(s)
        per = {}
        for n in args.at:
            for s in strategies:
                if s in runs:
                    vals = [r[n] for r in runs[s].values() if r[n] is not None]
                    mean, se, cnt = stats(vals)
                    if (s, n) in summary:
                        sm = summary[(s, n)]
                        if sm[2] != cnt or abs(sm[0] - mean) > 5e-6:
                            warnings.append(f"{label}: {s} at {n}: journals give {mean:.6f} over {cnt} runs, "
                                            f"summary.csv {sm[0]:.6f} over {sm[2]}")
                    per[(s, n)] = (mean, se, cnt)
                elif (s, n) in summary:
                    per[(s, n)] = summary[(s, n)]
        rows.append((label, manifest, runs, per, strategies))

    others_all = [s for s in order if s in all_strategies and s != args.baseline] + \
                 [s for s in all_strategies if s not in order and s != args.baseline]
    shown = ([args.baseline] if args.baseline in all_strategies else []) + others_all
    head = ["table", "N"] + [f"{s}" for s in shown] + [f"{args.baseline}−{o} (z)" for o in others_all] + \
           [f"{args.baseline} not ahead by >{args.z:g} SE"]
    print(f"Test regret after N queries, mean [SE] over seeds; {args.baseline}−other: mean paired "
          f"difference (z = difference / its SE; `u`: unpaired), negative favours {args.baseline}.\n")
    print("| " + " | ".join(head) + " |")
    print("|---|--:|" + "--:|" * (len(shown) + len(others_all)) + "---|")
    for label, manifest, runs, per, strategies in rows:
        for n in args.at:
            cells = [label, str(n)]
            for s in shown:
                v = per.get((s, n))
                cells.append(f"{v[0]:.3f} [{v[1]:.3f}]" if v and v[2] else "–")
            behind = []
            for o in others_all:
                b, v = per.get((args.baseline, n)), per.get((o, n))
                if not b or not v or not b[2] or not v[2]:
                    cells.append("–")
                    continue
                if args.baseline in runs and o in runs:
                    seeds = sorted(set(runs[args.baseline]) & set(runs[o]))
                    d = [runs[args.baseline][k][n] - runs[o][k][n] for k in seeds
                         if runs[args.baseline][k][n] is not None and runs[o][k][n] is not None]
                    mean, se, cnt = stats(d)
                    mark = ""
                else:
                    mean, se, mark = b[0] - v[0], math.sqrt(b[1] ** 2 + v[1] ** 2), "u"
                if se > 0:
                    z = mean / se
                    cells.append(f"{mean:+.3f} ({z:+.1f}{mark})")
                else:
                    z = 0.0 if mean == 0 else math.copysign(math.inf, mean)
                    cells.append(f"{mean:+.3f} (={mark})" if mean == 0 else f"{mean:+.3f} (∞{mark})")
                total += 1
                if not z < -args.z:
                    behind.append(o)
            flagged += bool(behind)
            cells.append("**!** " + ", ".join(behind) if behind else "")
            print("| " + " | ".join(cells) + " |")
    print(f"\n{flagged} of {len(rows) * len(args.at)} table×N rows flagged ({args.baseline} not ahead of "
          f"some strategy by more than {args.z:g} SE; {total} comparisons).")
    if rows:
        seeds = sorted({k for _, _, runs, _, _ in rows for r in runs.values() for k in r})
        if seeds:
            print(f"Seeds {seeds[0]}–{seeds[-1]} ({len(seeds)}); budget "
                  f"{json.dumps(rows[0][1].get('budget'))}; nasbo {rows[0][1].get('nasbo', '?')}.")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def paired(a, b, n):
    """Mean, SE and count of a[seed][n] - b[seed][n] over the seeds both have."""
    d = [a[k][n] - b[k][n] for k in sorted(set(a) & set(b)) if a[k][n] is not None and b[k][n] is not None]
    return stats(d)


def screen(args):
    tag, base = args.screen, args.baseline
    print(f"Screen `{tag}`: {base}'s test regret after N queries, mean [SE], under the setting and "
          f"under the defaults; {tag}−default: mean paired difference over seeds (z), negative "
          f"favours the setting.\n")
    print(f"| table | N | {tag} | default | {tag}−default (z) | |")
    print("|---|--:|--:|--:|--:|---|")
    worse = better = count = 0
    for folder in args.folders:
        folder = folder.rstrip("/")
        m = re.match(r"(.+)-s(\d+)$", os.path.basename(folder))
        if not m or m.group(1).endswith("-" + tag):
            continue
        other = os.path.join(os.path.dirname(folder), f"{m.group(1)}-{tag}-s{m.group(2)}")
        if not (os.path.isfile(os.path.join(folder, "bench.json")) and os.path.isfile(os.path.join(other, "bench.json"))):
            print(f"warning: {m.group(1)}: no pair of finished folders ({folder}, {other}), skipped", file=sys.stderr)
            continue
        _, _, runs_d, _ = read_bench(folder, args.at)
        _, _, runs_t, _ = read_bench(other, args.at)
        if base not in runs_d or base not in runs_t:
            print(f"warning: {m.group(1)}: no {base} journals in both folders, skipped", file=sys.stderr)
            continue
        for n in args.at:
            (mt, st, _), (md, sd, _) = [stats([r[n] for r in runs[base].values() if r[n] is not None])
                                        for runs in (runs_t, runs_d)]
            mean, se, cnt = paired(runs_t[base], runs_d[base], n)
            z = mean / se if se > 0 else (0.0 if mean == 0 else math.copysign(math.inf, mean))
            flag = "**!** worse" if z > args.z else ("*better*" if z < -args.z else "")
            worse += z > args.z
            better += z < -args.z
            count += 1
            print(f"| {m.group(1)} | {n} | {mt:.3f} [{st:.3f}] | {md:.3f} [{sd:.3f}] | {mean:+.3f} ({z:+.1f}) | {flag} |")
    print(f"\n`{tag}` is better by more than {args.z:g} SE in {better} and worse in {worse} of {count} table×N cells.")


if __name__ == "__main__":
    main()
