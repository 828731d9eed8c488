#!/usr/bin/env python3
"""Wall time of a study with 1, 2, 4 and 8 workers when every trial takes 2 s (a command that
sleeps; the table gives its value): the overhead of asking and telling through the store, and
how far parallel workers scale. Each count runs on a new study; the workers are `nasbo worker`
processes started together.

    NASBO_DATA=/abs/data PATH=$CARGO_TARGET_DIR/release:$PATH \\
      python3 benchmarks/workers/scaling.py --store runs/scaling [--store 'postgres://nasbo@127.0.0.1:55432/nasbo_test']

A journal store is a folder (one study file per count); a PostgreSQL URL gets one study per count.
Prints a Markdown table: workers, wall time, speed-up over 1 worker, trials/minute."""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(store, n, trials, sleep, table, strategy, tag):
    if store.startswith("postgres"):
        sep = "&" if "?" in store else "?"
        study = f"{store}{sep}study=scaling-{tag}-{n}"
    else:
        os.makedirs(store, exist_ok=True)
        study = os.path.join(store, f"scaling-{tag}-{n}.jsonl")
    command = f"python3 {HERE}/lookup.py --table {table} --arch {{arch}} --sleep-fixed {sleep}"
    worker = ["nasbo", "worker", "--study", study, "--space", "nb201", "--evaluator", "command",
              "--command", command, "--strategy", strategy, "--budget", str(trials), "--quiet"]
    t0 = time.monotonic()
    procs = [subprocess.Popen(worker, stdout=subprocess.DEVNULL) for _ in range(n)]
    codes = [p.wait() for p in procs]
    if any(codes):
        sys.exit(f"a worker failed ({codes}) on {study}")
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", action="append", required=True)
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--sleep", type=float, default=2.0)
    ap.add_argument("--workers", default="1,2,4,8")
    ap.add_argument("--strategy", default="random")
    args = ap.parse_args()
    data = os.environ.get("NASBO_DATA") or sys.exit("set NASBO_DATA")
    table = os.path.join(data, "nb201", "nb201_cifar10.csv.gz")
    version = subprocess.run(["nasbo", "--version"], capture_output=True, text=True).stdout.strip()
    tag = str(int(time.time()))
    print(f"{version}; {os.cpu_count()} cores; {args.trials} trials of {args.sleep} s, strategy {args.strategy}\n")
    print("| store | workers | wall | speed-up over 1 | trials/min | load before → after |")
    print("|---|---|---|---|---|---|")
    for store in args.store:
        base = None
        name = "PostgreSQL" if store.startswith("postgres") else "JSONL journal"
        for n in [int(x) for x in args.workers.split(",")]:
            load = os.getloadavg()[0]
            wall = run(store, n, args.trials, args.sleep, table, args.strategy, tag)
            base = base or wall
            print(f"| {name} | {n} | {wall:.1f} s | {base / wall:.2f}× | {60 * args.trials / wall:.1f} | "
                  f"{load:.2f} → {os.getloadavg()[0]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
