#!/usr/bin/env python3
"""Summarises benchmarks/early-stopping/run.sh: per arm, the architectures evaluated, the
trainings stopped early and the retrained winner's test accuracy, as mean ± std over seeds
(and the standard error), with every run's figures below.

    python3 benchmarks/early-stopping/report.py runs/early-stopping [SETS]

SETS (optional, e.g. 0-4,5-9) adds the same figures for each set of seeds, to show that a
result holds on seeds it was not looked at on.
"""
import glob
import json
import os
import re
import statistics
import sys


def load(folder, arm):
    runs = []
    paths = glob.glob(os.path.join(folder, f"{arm}-s[0-9]*.json"))
    for path in sorted(p for p in paths if not p.endswith(".final.json")):
        with open(path) as f:
            text = f.read().strip()
        if not text:
            print(f"{path}: empty (the run failed or is running)", file=sys.stderr)
            continue
        s = json.loads(text.splitlines()[-1])
        early = s.get("early_stopping")
        archs = early["architectures"] if early else s["trials"]
        full = early["full"] if early else s["trials"]
        final = s["final"][0]
        runs.append({
            "seed": s["seed"],
            "trials": s["trials"],
            "archs": archs,
            "full": full,
            "cost_s": s["cost_s"],
            "search_valid": s.get("best_valid_acc"),
            "final_test": final["test_acc"],
            "final_valid": final["valid_acc"],
            "arch": final["arch"],
            "nasbo": s.get("nasbo"),
        })
    return runs


def stats(xs):
    m = statistics.mean(xs)
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return m, sd, sd / len(xs) ** 0.5


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "runs/early-stopping"
    settings = os.path.join(folder, "settings.txt")
    # The early-stopping strategy, as run.sh recorded it (runs before ES_STRATEGY: asha-bo).
    strategy = "asha-bo"
    if os.path.exists(settings):
        found = re.search(r"ES_STRATEGY=(\S+)", open(settings).read())
        strategy = found.group(1) if found else strategy
    arms = {"es": f"BO + early stopping ({strategy})", "full": "BO, every architecture in full"}
    data = {arm: load(folder, arm) for arm in arms}
    if os.path.exists(settings):
        print("```")
        print(open(settings).read().rstrip())
        print("```\n")
    print("| arm | seeds | architectures evaluated | trained in full | retrained winner's test acc (%) | its validation acc (%) |")
    print("|---|---|---|---|---|---|")
    for arm, name in arms.items():
        runs = data[arm]
        if not runs:
            continue
        a = stats([r["archs"] for r in runs])
        f = stats([r["full"] for r in runs])
        t = stats([r["final_test"] for r in runs])
        v = stats([r["final_valid"] for r in runs])
        print(f"| {name} | {len(runs)} | {a[0]:.1f} ± {a[1]:.1f} | {f[0]:.1f} ± {f[1]:.1f} | "
              f"{t[0]:.2f} ± {t[1]:.2f} (SE {t[2]:.2f}) | {v[0]:.2f} ± {v[1]:.2f} |")
    if data["es"] and data["full"]:
        ratio = statistics.mean(r["archs"] for r in data["es"]) / statistics.mean(
            r["archs"] for r in data["full"])
        print(f"\nArchitectures evaluated, early stopping / full: {ratio:.2f}×")
    if len(sys.argv) > 2:
        print("\n| seeds | architectures, early stopping | architectures, in full | ratio | "
              "winner's test acc, early stopping | winner's test acc, in full |")
        print("|---|---|---|---|---|---|")
        for part in sys.argv[2].split(","):
            lo, hi = (int(x) for x in part.split("-"))
            sets = {arm: [r for r in data[arm] if lo <= r["seed"] <= hi] for arm in arms}
            if not (sets["es"] and sets["full"]):
                continue
            ae, af = (stats([r["archs"] for r in sets[a]]) for a in ("es", "full"))
            te, tf = (stats([r["final_test"] for r in sets[a]]) for a in ("es", "full"))
            print(f"| {lo}–{hi} | {ae[0]:.1f} ± {ae[1]:.1f} | {af[0]:.1f} ± {af[1]:.1f} | "
                  f"{ae[0] / af[0]:.2f}× | {te[0]:.2f} ± {te[1]:.2f} (SE {te[2]:.2f}) | "
                  f"{tf[0]:.2f} ± {tf[1]:.2f} (SE {tf[2]:.2f}) |")
    print("\n| arm | seed | trials | architectures | in full | cost (s) | winner's test acc | winner |")
    print("|---|---|---|---|---|---|---|---|")
    for arm in arms:
        for r in data[arm]:
            print(f"| {arm} | {r['seed']} | {r['trials']} | {r['archs']} | {r['full']} | "
                  f"{r['cost_s']:.0f} | {r['final_test']:.2f} | `{r['arch']}` |")


if __name__ == "__main__":
    main()
