#!/usr/bin/env python3
"""No trial lost, none evaluated twice: N `nasbo worker` processes on one study, a random one
SIGKILLed every few seconds and restarted, each trial a lookup in the NAS-Bench-201 table after
a random 0-0.5 s sleep (lookup.py). Afterwards the study is exported and checked: every trial
finished, each value equal to the table's, no architecture twice, none pending.

    NASBO_DATA=/abs/data PATH=$CARGO_TARGET_DIR/release:$PATH \\
      python3 benchmarks/workers/chaos.py --study runs/chaos.jsonl --workers 4 --trials 200
    python3 benchmarks/workers/chaos.py --study 'postgres://nasbo@127.0.0.1:55432/nasbo_test?study=chaos1' --workers 8

Prints the settings, the nasbo version, the kills, the takeovers (trials handed out again),
the wall time and the checks, as Markdown."""
import argparse
import csv
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--study", required=True, help="a journal path or postgres://...?study=NAME (must be new)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--kill-every", type=float, default=3.0, help="seconds between kills (default 3)")
    ap.add_argument("--strategy", default="bo")
    ap.add_argument("--heartbeat-s", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    data = os.environ.get("NASBO_DATA")
    if not data:
        sys.exit("set NASBO_DATA to the data folder (the one holding nb201/)")
    table = os.path.join(data, "nb201", "nb201_cifar10.csv.gz")
    truth = {}
    with gzip.open(table, "rt") as f:
        for row in csv.DictReader(f):
            truth[row["arch_str"]] = (float(row["cifar10_valid_acc_200"]), float(row["cifar10_test_acc_200"]))
    command = f"python3 {HERE}/lookup.py --table {table} --arch {{arch}} --sleep 0.5"
    worker = ["nasbo", "worker", "--study", args.study, "--space", "nb201", "--evaluator", "command",
              "--command", command, "--strategy", args.strategy, "--seed", str(args.seed),
              "--budget", str(args.trials), "--heartbeat-s", str(args.heartbeat_s),
              "--max-retries", "100", "--quiet"]
    version = subprocess.run(["nasbo", "--version"], capture_output=True, text=True).stdout.strip()
    rng = random.Random(args.seed)
    logs = tempfile.mkdtemp(prefix="nasbo-chaos-")
    started = time.monotonic()
    load0 = os.getloadavg()[0]

    def start(i):
        return subprocess.Popen(worker, stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(logs, f"w{i}-{time.monotonic():.0f}.err"), "w"))

    procs = [start(i) for i in range(args.workers)]
    kills = 0
    while any(p.poll() is None for p in procs):
        time.sleep(args.kill_every * rng.uniform(0.5, 1.5))
        alive = [i for i, p in enumerate(procs) if p.poll() is None]
        if not alive:
            break
        i = rng.choice(alive)
        procs[i].kill()
        procs[i].wait()
        kills += 1
        procs[i] = start(i)
    failed = [p.returncode for p in procs if p.returncode != 0]
    wall = time.monotonic() - started
    out = os.path.join(logs, "study.jsonl")
    subprocess.run(["nasbo", "export", "--study", args.study, "--out", out], check=True)
    lines = [json.loads(l) for l in open(out)]
    archs = [t["arch"] for t in lines]
    pending = sum(t["status"] == "pending" for t in lines)
    not_ok = sum(t["status"] != "ok" for t in lines)
    wrong = sum(1 for t in lines if t["status"] == "ok" and
                (abs(t["objective"] - truth[t["arch"]][0]) > 1e-9 or
                 abs(t["reported"]["test_acc"] - truth[t["arch"]][1]) > 1e-9))
    takeovers = sum(t.get("lease", {}).get("attempt", 1) > 1 for t in lines)
    dup = len(archs) - len(set(archs))
    numbering = all(t["trial"] == i for i, t in enumerate(lines))
    store = "PostgreSQL" if args.study.startswith("postgres") else "JSONL journal"
    print(f"{version}; {os.cpu_count()} cores; load {load0:.2f} -> {os.getloadavg()[0]:.2f}\n")
    print(f"| store | workers | trials asked | finished ok | duplicates | lost (not ok) | pending | values ≠ table | kills | takeovers | wall | worker exits ≠ 0 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {store} | {args.workers} | {len(lines)} | {len(lines) - not_ok} | {dup} | {args.trials - (len(lines) - not_ok)} | "
          f"{pending} | {wrong} | {kills} | {takeovers} | {wall:.0f} s | {len(failed)} |")
    ok = len(lines) == args.trials and not_ok == 0 and dup == 0 and wrong == 0 and numbering and not failed
    print("\nPASS" if ok else f"\nFAIL (logs in {logs})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
