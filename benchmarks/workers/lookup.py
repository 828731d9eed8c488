#!/usr/bin/env python3
"""A trainer for `nasbo worker --evaluator command` that looks the answer up in the
NAS-Bench-201 table instead of training, after sleeping a random 0 to MAX seconds:

    --command 'python3 benchmarks/workers/lookup.py --table TABLE.csv.gz --arch {arch} --sleep 0.5'

Prints {"objective": valid, "reported": {"test_acc": test}} with the table's 200-epoch CIFAR-10
accuracies of the cell, so a study's trials can be checked against the table afterwards
(chaos.py does). With --sleep-fixed S it sleeps exactly S seconds (scaling.py)."""
import argparse
import csv
import gzip
import json
import random
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", required=True)
    ap.add_argument("--arch", required=True)
    ap.add_argument("--sleep", type=float, default=0.0, help="sleep a random 0..SLEEP seconds")
    ap.add_argument("--sleep-fixed", type=float, help="sleep exactly this many seconds")
    args = ap.parse_args()
    time.sleep(args.sleep_fixed if args.sleep_fixed is not None else random.uniform(0, args.sleep))
    with gzip.open(args.table, "rt") as f:
        for row in csv.DictReader(f):
            if row["arch_str"] == args.arch:
                print(json.dumps({
                    "objective": float(row["cifar10_valid_acc_200"]),
                    "reported": {"test_acc": float(row["cifar10_test_acc_200"])},
                }))
                return
    sys.exit(f"{args.arch} is not in {args.table}")


if __name__ == "__main__":
    main()
