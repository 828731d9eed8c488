#!/usr/bin/env python3
"""kill -9 at random moments: nothing finished is lost, no lock stays, every journal reads.

    python3 benchmarks/faults/kill9_soak.py NASBO_BINARY --data $NASBO_DATA --kills 50 --out runs/soak

Rotates over four scenarios, one attempt per round, until --kills processes were killed while
running (each kill lands at a uniformly random moment of the process's measured run time):
  table    `nasbo search` (BO, NB201 table) killed, then resumed; its finished trials must be
           the first trials of an uninterrupted run with the same seed, and the last resume
           must finish the run exactly as the uninterrupted one.
  trained  the same with `--evaluator train` on the digits data (a tiny network).
  ask      `nasbo ask` killed; the next ask (with a 2 s lock timeout) must succeed.
  tell     `nasbo tell` killed; every tell that had exited 0 must be in the study, and the
           killed one is either recorded or can be told again.
After every kill each journal is read line by line: a line that is not JSON is an unreadable
journal, except a torn last line of a search journal (which --resume cuts away).
Prints a JSON summary and writes it to OUT/summary.json. Standard library only.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

DROP = ("started_at", "finished_at", "study")
# A trained trial's measured times (training seconds, latency, its cost) differ from run to
# run; what must match is the architecture, its status and the accuracies.
MEASURED = ("train_s", "latency_ms_b1", "latency_ms_b64")


def normalised(path):
    """The complete trials of a journal (a torn last line left out), without wall-clock times
    and measured durations."""
    out = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        try:
            v = json.loads(line)
        except json.JSONDecodeError:
            break
        for k in DROP:
            v.pop(k, None)
        if any(k in v.get("reported", {}) for k in MEASURED):
            v.pop("cost_s", None)
            for k in MEASURED:
                v["reported"].pop(k, None)
        out.append(v)
    return out


def unreadable(path, allow_torn_tail):
    """Lines that are not JSON (a torn last line allowed where the reader cuts it away)."""
    if not path.exists():
        return 0
    lines = path.read_text().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
        torn_possible = False
    else:
        torn_possible = True
    bad = 0
    for i, line in enumerate(lines):
        try:
            json.loads(line)
        except json.JSONDecodeError:
            last = i == len(lines) - 1
            if not (last and allow_torn_tail and torn_possible):
                bad += 1
    return bad


def kill_after(cmd, delay):
    """Starts cmd, kills it with SIGKILL after `delay` seconds; returns its exit code (None if
    killed while running)."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        p.wait(timeout=delay)
        return p.returncode, p.stderr.read().decode()
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        return None, ""


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("nasbo")
    ap.add_argument("--data", required=True, help="the folder with nb201/ and digits/")
    ap.add_argument("--kills", type=int, default=50, help="stop once this many processes were killed while running")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    nasbo = a.nasbo
    table = str(Path(a.data) / "nb201" / "nb201_cifar10.csv.gz")
    searches = {
        "table": ["search", "--benchmark", table, "--strategy", "bo", "--budget", "60", "--seed", "5", "--quiet"],
        "trained": ["search", "--evaluator", "train", "--dataset", "digits", "--data-dir", a.data,
                    "--epochs", "1", "--channels", "4", "--cells", "1", "--train-limit", "300",
                    "--eval-limit", "200", "--budget", "8", "--seed", "5", "--quiet"],
    }
    # Uninterrupted references, and how long each kind of process runs: kills land at a
    # uniformly random moment of that time.
    ref = {}
    duration = {}
    for name, args in searches.items():
        path = out / f"{name}-ref.jsonl"
        t0 = time.time()
        r = run([nasbo, *args, "--out", str(path), "--overwrite"])
        duration[name] = time.time() - t0
        if r.returncode != 0:
            sys.exit(f"reference {name} failed: {r.stderr}")
        ref[name] = normalised(path)
    probe = out / "probe.jsonl"
    probe.unlink(missing_ok=True)
    t0 = time.time()
    run([nasbo, "ask", "--study", str(probe), "--seed", "1"])
    duration["ask"] = time.time() - t0
    t0 = time.time()
    run([nasbo, "tell", "--study", str(probe), "--trial", "0", "--objective", "1"])
    duration["tell"] = time.time() - t0
    counts = {k: {"kills": 0, "lost": 0, "stale_locks": 0, "unreadable": 0, "mismatch": 0}
              for k in ("table", "trained", "ask", "tell")}
    problems = []
    study = out / "study.jsonl"
    for f in [study, *(out / f"{n}.jsonl" for n in searches)]:
        f.unlink(missing_ok=True)
    told_ok = {}  # trial -> objective of tells that exited 0
    scenarios = ["table", "trained", "ask", "tell"]
    started = time.time()
    i = -1
    while sum(c["kills"] for c in counts.values()) < a.kills and i < 20 * a.kills:
        i += 1
        name = scenarios[i % 4]
        c = counts[name]
        delay = rng.uniform(0.0, 1.0) * duration[name]
        if name in searches:
            path = out / f"{name}.jsonl"
            if len(normalised(path)) == len(ref[name]):
                path.unlink()  # finished: start it again, so that there is work to kill
            cmd = [nasbo, *searches[name], "--out", str(path)]
            cmd += ["--resume"] if path.exists() else []
            code, err = kill_after(cmd, delay)
            c["kills"] += code is None
            c["unreadable"] += unreadable(path, allow_torn_tail=True)
            have = normalised(path)
            if have != ref[name][: len(have)]:
                c["mismatch"] += 1
                problems.append(f"round {i} {name}: finished trials differ from the uninterrupted run")
            if code not in (None, 0):
                if "lock" in err:
                    c["stale_locks"] += 1
                problems.append(f"round {i} {name}: exit {code}: {err.strip()[-300:]}")
        elif name == "ask":
            code, err = kill_after([nasbo, "ask", "--study", str(study), "--seed", "1"], delay)
            c["kills"] += code is None
            c["unreadable"] += unreadable(study, allow_torn_tail=False)
            nxt = run([nasbo, "ask", "--study", str(study), "--seed", "1", "--lock-timeout-s", "2"])
            if nxt.returncode != 0:
                c["stale_locks"] += "lock" in nxt.stderr
                problems.append(f"round {i} ask after kill: {nxt.stderr.strip()[-300:]}")
        else:
            pending = [t for t in normalised(study) if t["status"] == "pending"]
            if not pending:
                run([nasbo, "ask", "--study", str(study), "--seed", "1"])
                pending = [t for t in normalised(study) if t["status"] == "pending"]
            t = pending[0]["trial"]
            value = round(rng.uniform(80, 95), 3)
            code, err = kill_after([nasbo, "tell", "--study", str(study), "--trial", str(t),
                                    "--objective", str(value), "--cost-s", "1"], delay)
            c["kills"] += code is None
            if code == 0:
                told_ok[t] = value
            c["unreadable"] += unreadable(study, allow_torn_tail=False)
            now = {x["trial"]: x for x in normalised(study)}
            for k, v in told_ok.items():
                if now.get(k, {}).get("objective") != v:
                    c["lost"] += 1
                    problems.append(f"round {i} tell: trial {k} told {v} is not in the study")
            if now.get(t, {}).get("status") == "pending":
                again = run([nasbo, "tell", "--study", str(study), "--trial", str(t),
                             "--objective", str(value), "--lock-timeout-s", "2"])
                if again.returncode != 0:
                    c["stale_locks"] += "lock" in again.stderr
                    problems.append(f"round {i} retell: {again.stderr.strip()[-300:]}")
                else:
                    told_ok[t] = value
    # Finish the killed searches: each must end as its uninterrupted run did.
    for name in searches:
        path = out / f"{name}.jsonl"
        cmd = [nasbo, *searches[name], "--out", str(path)] + (["--resume"] if path.exists() else [])
        r = run(cmd)
        if r.returncode != 0 or normalised(path) != ref[name]:
            counts[name]["mismatch"] += 1
            problems.append(f"{name}: the resumed run does not end as the uninterrupted one ({r.stderr.strip()[-200:]})")
    leftover_locks = [p.name for p in out.iterdir() if p.name.endswith(".lock")]
    summary = {
        "rounds": i + 1,
        "kills": sum(c["kills"] for c in counts.values()),
        "durations_s": {k: round(v, 3) for k, v in duration.items()},
        "seed": a.seed,
        "seconds": round(time.time() - started, 1),
        "per_scenario": counts,
        "lost": sum(c["lost"] for c in counts.values()),
        "stale_locks": sum(c["stale_locks"] for c in counts.values()),
        "unreadable": sum(c["unreadable"] for c in counts.values()),
        "mismatch": sum(c["mismatch"] for c in counts.values()),
        "lock_files_left": leftover_locks,
        "study_trials": len(normalised(study)),
        "told": len(told_ok),
        "problems": problems,
        "nasbo": run([nasbo, "--version"]).stdout.strip(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    bad = summary["lost"] + summary["stale_locks"] + summary["unreadable"] + summary["mismatch"]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
