#!/usr/bin/env python3
"""Search or selection? For a `nasbo bench --noise SD` folder, the test regret of two incumbents
after N queries, per strategy (mean [standard error] over its runs):

- as nasbo reports it: the trial with the best *noisy* searched value (what a user would pick);
- with an oracle's choice: the trial with the best *noise-free* value among the same trials
  (`reported.noise_free_objective`), i.e. what the search found, without the selection error.

    python3 benchmarks/generalise/selection.py runs/noise-1.0 [--at 50 100]
"""
import argparse
import glob
import json
import math
import os
import re


def stats(values):
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, sd / math.sqrt(n)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench", help="a `nasbo bench --noise SD` output folder")
    ap.add_argument("--at", type=int, nargs="+", default=[50, 100])
    args = ap.parse_args()
    manifest = json.load(open(os.path.join(args.bench, "bench.json")))
    ref = manifest["reference_test"]
    runs = {}
    for path in sorted(glob.glob(os.path.join(args.bench, "journals", "*.jsonl"))):
        name = re.sub(r"-s\d+\.jsonl$", "", os.path.basename(path))
        trials = [json.loads(line) for line in open(path)]
        runs.setdefault(name, []).append([t for t in trials if t["status"] == "ok"])
    print(f"{args.bench}: regret of the incumbent (noisy choice | oracle's choice), reference {ref}")
    print("| strategy | runs | " + " | ".join(f"{k}: noisy | oracle" for k in args.at) + " |")
    print("|---|--:|" + "--:|" * len(args.at))
    for name, rs in runs.items():
        cells = []
        for k in args.at:
            noisy, oracle = [], []
            for trials in rs:
                first = trials[:k]
                if not first or "noise_free_objective" not in first[0]["reported"]:
                    raise SystemExit(f"{args.bench}: not a bench with --noise (no noise_free_objective)")
                by_noisy = max(first, key=lambda t: t["objective"])
                by_true = max(first, key=lambda t: t["reported"]["noise_free_objective"])
                noisy.append(abs(ref - by_noisy["reported"]["test_acc"]))
                oracle.append(abs(ref - by_true["reported"]["test_acc"]))
            (a, sa), (b, sb) = stats(noisy), stats(oracle)
            cells.append(f"{a:.3f} [{sa:.3f}] \\| {b:.3f} [{sb:.3f}]")
        print(f"| {name} | {len(rs)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
