#!/usr/bin/env python3
"""Times every `nasbo` command in the shell blocks of README.md (and other Markdown files
given), as a new user runs them: from the repository's root, `../shared/data` read as
$NASBO_DATA (which is otherwise unset for the commands, so Fashion-MNIST comes from Debian's
package unless a command sets NASBO_DATA), outputs under a scratch `runs/` folder. Prints a Markdown table: the command, the
time stated beside it in the README (a `# ... about N min` comment above it, if any), the
wall time measured, the load average before and after, and the exit code.

    NASBO_DATA=/abs/data PATH=$CARGO_TARGET_DIR/release:$PATH \\
        python3 benchmarks/docs/time_commands.py [--skip PATTERN]... [--only PATTERN] [FILE.md...]

The README's setup one-liner (apt-get, cargo install) and the test command are not run here:
time those from a clean clone (`time bash .ci/run`).

With --help-examples it times the examples of the binary's own help instead (`nasbo --help`
and `nasbo <command> --help` for every command): every command under `Examples:` (a line
that starts with `nasbo`, `trial=$(nasbo`, or a `for` loop running nasbo; the lines clap
wrapped it onto and backslash-continued lines are joined to it), with the bare table name
nb201_cifar10.csv.gz read as $NASBO_DATA/nb201/nb201_cifar10.csv.gz ($NASBO_DATA is kept for
these commands: the example trainer reads the digits through it). Each example runs in its own
new scratch folder holding copies of the repository's examples/ and datasets/declared/ (the
paths the examples name), after whatever it needs was prepared there untimed (see PREPARE:
the asks before a tell, the killed run before a --resume, a space file copied from the
repository as the user's own); an example that needs what cannot exist here (a PostgreSQL
host, Optuna's journals) is a "not run" row. The stated time is the `about N s` of the comment
above the example. Exits 1 if a runnable example fails.

    NASBO_DATA=/abs/data PATH=$CARGO_TARGET_DIR/release:$PATH \\
        python3 benchmarks/docs/time_commands.py --help-examples [--only PATTERN] [--list]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def commands(path):
    """(stated time or '', command) for each `nasbo` line in the file's ```sh blocks."""
    out, in_block, stated = [], False, ""
    for line in open(path, encoding="utf-8"):
        s = line.strip()
        if s.startswith("```"):
            in_block = not in_block and s in ("```sh", "```bash")
            stated = ""
            continue
        if not in_block:
            continue
        if s.startswith("#"):
            m = re.search(r"about ([^;)]*?(?:min|s|h))\b", s)
            stated = m.group(1) if m else stated
            continue
        # A setup one-liner (`apt-get ... && cargo install ... && nasbo ...`): its nasbo part.
        for part in (p.strip() for p in s.split("&&")):
            if re.search(r"(^|\s|/)nasbo\s", part) and not part.startswith(("cargo", "sudo")):
                out.append((stated, part))
                stated = ""
    return out


HELP_COMMANDS = ["", "search", "bench", "ask", "tell", "train", "worker", "export", "space"]

# An example's first line: `nasbo ...`, `VAR=value nasbo ...`, `trial=$(nasbo ...`, `for ...; do ... nasbo ...`.
EXAMPLE_START = re.compile(r"^(?:\w+=\S*\s+)*(?:\w+=\$\()?nasbo\s|^for\s.*\snasbo\s")


def stated_time(comment):
    m = re.search(r"about ([^;)]*?(?:min|s|h))\b", comment)
    return m.group(1) if m else ""


def help_examples(sub):
    """(help command, stated time or '', command) for each example in `nasbo [sub] --help`."""
    argv = ["nasbo"] + ([sub] if sub else []) + ["--help"]
    text = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if re.match(r"^Examples?\b.*:\s*$", l)), None)
    if start is None:
        return []
    out, comment, cur, indent = [], "", None, 0

    def close():
        nonlocal cur, comment
        if cur is not None:
            out.append((" ".join(argv), stated_time(comment), cur))
            cur, comment = None, ""

    in_comment = False
    for line in lines[start + 1:]:
        if line.startswith("Usage:"):  # `nasbo --help`: its examples end its about text
            break
        s, ind = line.strip(), len(line) - len(line.lstrip())
        if in_comment and s and not EXAMPLE_START.match(s):  # a comment clap wrapped
            comment += " " + s.lstrip("# ")
            continue
        in_comment = s.startswith("#")
        if cur is not None and cur.endswith("\\"):  # a backslash continues the command
            cur = cur[:-1].rstrip() + " " + s
            continue
        if cur is not None and s and not s.startswith("#") and not EXAMPLE_START.match(s) and ind >= indent:
            cur += " " + s  # clap wrapped the command onto this line
            continue
        if EXAMPLE_START.match(s):
            close()  # the comment read so far is the new command's (close() clears an open one's)
            cur, indent = s, ind
        elif s.startswith("#"):
            close()
            comment = (comment + " " + s.lstrip("# ")).strip()
        else:
            close()
            comment = ""
    close()
    return out


def without_resume(cmd):
    return cmd.replace(" --resume", "")


# What an example needs that a new scratch folder lacks, prepared there untimed, or why it cannot
# run here: (pattern on the command, shell commands to run first or None, why not run).
PREPARE = [
    (r"db-host", None, "needs the PostgreSQL server db-host"),
    (r"postgres://\S*localhost", None, "needs a PostgreSQL server on localhost with the study"),
    (r"--import opt/journals", None,
     "needs Optuna's journals (benchmarks/nb201/optuna_bench.py --out opt; Optuna is not installed here)"),
    # A tell of trial N: the asks that hand out trials 0..N first (the study of the ask example).
    (r"^nasbo tell --study (\S+) --trial (\d+)",
     lambda m, cmd: "\n".join([f"nasbo ask --study {m[1]} --strategy bo --seed 0 >/dev/null"] * (int(m[2]) + 1)),
     None),
    # The user's own space and config: the repository's tiny declared space and a BO config.
    (r"--space-file my_space\.toml --config search\.toml",
     lambda m, cmd: "cp datasets/declared/tiny.toml my_space.toml && cp $REPO/benchmarks/configs/bo-one-hot.toml search.toml",
     None),
    # The user's own space and trainer: the repository's example trainer and its space.
    (r"--space-file space\.toml .*python3 train\.py",
     lambda m, cmd: "cp examples/command-trainer/mlp.toml space.toml && cp examples/command-trainer/train.py train.py",
     None),
    # A search killed after 60 of its trials.
    (r"^nasbo search .*--out (\S+) --resume$",
     lambda m, cmd: f"{without_resume(cmd)} >/dev/null 2>&1 && head -n 60 {m[1]} > k.jsonl && mv k.jsonl {m[1]}",
     None),
    # A training killed after 30 s (its first epochs checkpointed).
    (r"^nasbo train .*--out (\S+) --resume$",
     lambda m, cmd: f"timeout -s KILL 30 {without_resume(cmd)} >/dev/null 2>&1; test -d {m[1]}",
     None),
]


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def run_one(run, cwd, env, timeout):
    """(wall seconds, exit code as text, stderr tail) of one command."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(["bash", "-c", run], capture_output=True, text=True, timeout=timeout,
                           env=env, cwd=cwd)
        rc, err = str(p.returncode), p.stderr.strip()[-400:]
    except subprocess.TimeoutExpired:
        rc, err = f"timeout {timeout:.0f} s", ""
    return time.monotonic() - t0, rc, err


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", default=["README.md"])
    ap.add_argument("--skip", action="append", default=[], help="skip commands matching this regex")
    ap.add_argument("--only", help="run only commands matching this regex")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per command (default 1800)")
    ap.add_argument("--help-examples", action="store_true",
                    help="time the examples of `nasbo [COMMAND] --help` instead of Markdown files")
    ap.add_argument("--list", action="store_true",
                    help="with --help-examples: print the examples and their stated times, run nothing")
    args = ap.parse_args()
    data = os.environ.get("NASBO_DATA")
    if not data or not os.path.isabs(data):
        sys.exit("set NASBO_DATA to the absolute path of the data folder (the one holding nb201/)")
    if not shutil.which("nasbo"):
        sys.exit("put the nasbo binary on PATH (cargo install --path crates/nasbo-cli, or PATH=$CARGO_TARGET_DIR/release:$PATH)")
    version = subprocess.run(["nasbo", "--version"], capture_output=True, text=True).stdout.strip()
    scratch = tempfile.mkdtemp(prefix="nasbo-docs-")
    if args.help_examples:
        examples = [e for sub in HELP_COMMANDS for e in help_examples(sub)]
        if args.list:
            print("| help | command | stated |\n|---|---|---|")
            for where, stated, cmd in examples:
                print(f"| `{where}` | `{cmd}` | {stated or '—'} |")
            shutil.rmtree(scratch, ignore_errors=True)
            return
        print(f"{version}; {os.cpu_count()} cores; scratch {scratch}\n")
        print("| help | command | stated | measured | load before → after | exit |")
        print("|---|---|---|---|---|---|")
        sys.exit(run_help_examples(examples, args, data, scratch))
    print(f"{version}; {os.cpu_count()} cores; scratch {scratch}\n")
    print("| command | stated | measured | load before → after | exit |")
    print("|---|---|---|---|---|")
    for path in args.files:
        for stated, cmd in commands(path):
            if args.only and not re.search(args.only, cmd):
                continue
            if any(re.search(p, cmd) for p in args.skip):
                continue
            run = cmd.replace("$PWD/../shared/data", data).replace("../shared/data", data)
            run = run.replace("runs/", scratch + "/")
            run = re.sub(r"\./target/release/nasbo|\$CARGO_TARGET_DIR/release/nasbo", "nasbo", run)
            before = loadavg()
            # As a new user runs it: NASBO_DATA only where the command sets it.
            env = {k: v for k, v in os.environ.items() if k != "NASBO_DATA"}
            wall, rc, err = run_one(run, None, env, args.timeout)
            if rc != "0":
                print(f"<!-- {cmd}: {err} -->", file=sys.stderr)
            print(f"| `{short(cmd)}` | {stated or '—'} | {took(wall)} | {before} → {loadavg()} | {rc} |", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)


def short(cmd):
    return cmd if len(cmd) < 110 else cmd[:107] + "…"


def took(wall):
    return f"{wall:.1f} s" if wall < 120 else f"{wall / 60:.1f} min"


def run_help_examples(examples, args, data, scratch):
    """Runs each help example in its own scratch folder; 1 if one that could run failed."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, REPO=repo)
    failed = 0
    for n, (where, stated, cmd) in enumerate(examples):
        if args.only and not re.search(args.only, cmd):
            continue
        if any(re.search(p, cmd) for p in args.skip):
            continue
        row = f"| `{where}` | `{short(cmd)}` | {stated or '—'} |"
        prep, why = None, None
        for pattern, make, reason in PREPARE:
            m = re.search(pattern, cmd)
            if m:
                prep, why = (make(m, cmd) if make else None), reason
                break
        if why:
            print(f"{row} not run: {why} | — | — |", flush=True)
            continue
        cwd = os.path.join(scratch, f"{n:02}")
        os.makedirs(os.path.join(cwd, "datasets"))
        shutil.copytree(os.path.join(repo, "examples"), os.path.join(cwd, "examples"))
        shutil.copytree(os.path.join(repo, "datasets", "declared"), os.path.join(cwd, "datasets", "declared"))
        run = re.sub(r"(?<![/\w])nb201_cifar10\.csv\.gz", "$NASBO_DATA/nb201/nb201_cifar10.csv.gz", cmd)
        if prep:
            prep = re.sub(r"(?<![/\w])nb201_cifar10\.csv\.gz", "$NASBO_DATA/nb201/nb201_cifar10.csv.gz", prep)
            _, rc, err = run_one(prep, cwd, env, args.timeout)
            if rc != "0":
                print(f"<!-- prepare {cmd}: {err} -->", file=sys.stderr)
                print(f"{row} — | — | preparation failed ({rc}) |", flush=True)
                failed = 1
                continue
        before = loadavg()
        wall, rc, err = run_one(run, cwd, env, args.timeout)
        if rc != "0":
            print(f"<!-- {cmd}: {err} -->", file=sys.stderr)
            failed = 1
        print(f"{row} {took(wall)} | {before} → {loadavg()} | {rc} |", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return failed


if __name__ == "__main__":
    main()
