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


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", default=["README.md"])
    ap.add_argument("--skip", action="append", default=[], help="skip commands matching this regex")
    ap.add_argument("--only", help="run only commands matching this regex")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per command (default 1800)")
    args = ap.parse_args()
    data = os.environ.get("NASBO_DATA")
    if not data or not os.path.isabs(data):
        sys.exit("set NASBO_DATA to the absolute path of the data folder (the one holding nb201/)")
    if not shutil.which("nasbo"):
        sys.exit("put the nasbo binary on PATH (cargo install --path crates/nasbo-cli, or PATH=$CARGO_TARGET_DIR/release:$PATH)")
    version = subprocess.run(["nasbo", "--version"], capture_output=True, text=True).stdout.strip()
    scratch = tempfile.mkdtemp(prefix="nasbo-docs-")
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
            t0 = time.monotonic()
            try:
                # As a new user runs it: NASBO_DATA only where the command sets it.
                env = {k: v for k, v in os.environ.items() if k != "NASBO_DATA"}
                p = subprocess.run(["bash", "-c", run], capture_output=True, text=True,
                                   timeout=args.timeout, env=env)
                rc = str(p.returncode)
                if p.returncode != 0:
                    print(f"<!-- {cmd}: {p.stderr.strip()[-400:]} -->", file=sys.stderr)
            except subprocess.TimeoutExpired:
                rc = f"timeout {args.timeout:.0f} s"
            wall = time.monotonic() - t0
            shown = cmd if len(cmd) < 110 else cmd[:107] + "…"
            took = f"{wall:.1f} s" if wall < 120 else f"{wall / 60:.1f} min"
            print(f"| `{shown}` | {stated or '—'} | {took} | {before} → {loadavg()} | {rc} |", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
