#!/usr/bin/env python3
"""Ask latency at 1,000 trials: (1) the store's round trip on PostgreSQL, one worker with the
table evaluator (instant) and strategy random, from the gaps between trials' `started_at`;
(2) BO's proposal with those 1,000 trials finished, timed over three `nasbo ask --strategy bo`
on a journal that holds them.

    NASBO_DATA=/abs/data PATH=$CARGO_TARGET_DIR/release:$PATH \\
      python3 benchmarks/workers/latency.py --postgres postgres://nasbo@127.0.0.1:55432/nasbo_test
"""
import argparse
import json
import os
import subprocess
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--postgres", required=True, help="postgres://USER@HOST:PORT/DB (a study is added)")
    ap.add_argument("--trials", type=int, default=1000)
    args = ap.parse_args()
    table = os.path.join(os.environ["NASBO_DATA"], "nb201", "nb201_cifar10.csv.gz")
    version = subprocess.run(["nasbo", "--version"], capture_output=True, text=True).stdout.strip()
    sep = "&" if "?" in args.postgres else "?"
    study = f"{args.postgres}{sep}study=latency-{int(time.time())}"
    tmp = tempfile.mkdtemp(prefix="nasbo-latency-")
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    subprocess.run(["nasbo", "worker", "--study", study, "--benchmark", table, "--strategy", "random",
                    "--budget", str(args.trials), "--quiet", "--json"], check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    out = os.path.join(tmp, "pg.jsonl")
    subprocess.run(["nasbo", "export", "--study", study, "--out", out], check=True)
    trials = [json.loads(l) for l in open(out)]
    gaps = [b["started_at"] - a["started_at"] for a, b in zip(trials, trials[1:])]
    print(f"{version}; {os.cpu_count()} cores; {args.trials} trials in {wall:.1f} s\n")
    print("| trials in the study | median round trip | p90 |\n|---|---|---|")
    n = len(gaps)
    for lo in (0, n // 2 - 50, n - 100):
        seg = sorted(gaps[lo:lo + 100])
        print(f"| {lo}–{lo + 100} | {1000 * seg[len(seg) // 2]:.1f} ms | {1000 * seg[int(len(seg) * 0.9)]:.1f} ms |")
    # The same trials as an ask/tell study of BO: its first ask writes the header it compares.
    journal = os.path.join(tmp, "bo.jsonl")
    subprocess.run(["nasbo", "ask", "--study", journal, "--strategy", "bo"], check=True, stdout=subprocess.DEVNULL)
    header = json.loads(open(journal).readline())["study"]
    with open(journal, "w") as f:
        for i, t in enumerate(trials):
            t.pop("study", None)
            t.pop("lease", None)
            t["seed"] = 0
            if i == 0:
                t["study"] = header
            f.write(json.dumps(t) + "\n")
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        subprocess.run(["nasbo", "ask", "--study", journal, "--strategy", "bo"], check=True, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - t0)
    print(f"\nBO proposal with {args.trials} finished trials: " + ", ".join(f"{t:.2f} s" for t in times))
    print(f"load average {load0:.2f} -> {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
