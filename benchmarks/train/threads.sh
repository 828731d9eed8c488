#!/usr/bin/env bash
# Training speed of `nasbo train` on the README's network (C=8, N=1, the README's winner cell,
# Fashion-MNIST, batch 256) with 1 and with 2 threads (RAYON_NUM_THREADS, as `--threads`), each run REPS times in
# turn; prints images/s of the training epochs (report.json: train images / epoch seconds),
# the speed-up of 2 threads over 1, and the load average before and after.
#
#   benchmarks/train/threads.sh [--reps 3] [--epochs 2] [--train-limit 4000] NASBO_BINARY...
#
# Several binaries (an old and a new build) are measured in the same run, interleaved, so
# their ratios share the machine's load. Data: $NASBO_DATA or --data-dir DIR (the folder
# holding Fashion-MNIST's IDX files, e.g. $NASBO_DATA/fashion-mnist-small).
set -euo pipefail

reps=3 epochs=2 limit=4000 data_dir=""
bins=()
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --train-limit) limit="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "unknown flag $1 (see --help)" >&2; exit 2 ;;
    *) bins+=("$1"); shift ;;
  esac
done
[ ${#bins[@]} -gt 0 ] || { echo "give at least one nasbo binary (see --help)" >&2; exit 2; }
data_args=()
[ -n "$data_dir" ] && data_args=(--data-dir "$data_dir")

cell='|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; reps $reps, epochs $epochs, --train-limit $limit"
for rep in $(seq "$reps"); do
  for b in "${!bins[@]}"; do
    for t in 1 2; do
      out="$work/b$b-t$t-r$rep"
      # RAYON_NUM_THREADS is what --threads sets; the variable also reaches older binaries.
      RAYON_NUM_THREADS="$t" "${bins[$b]}" train --arch "$cell" --dataset fashion-mnist "${data_args[@]}" \
        --channels 8 --cells 1 --epochs "$epochs" --train-limit "$limit" --eval-limit 2000 \
        --out "$out" >/dev/null 2>"$out.log" || { cat "$out.log" >&2; exit 1; }
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work" "$reps" "${bins[@]}" <<'PY'
import json, statistics, sys
work, reps, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print(f"| binary | threads | images/s (mean of {reps} runs) | runs |")
print("|---|---|---|---|")
for b, path in enumerate(bins):
    speed = {}
    for t in (1, 2):
        runs = []
        for r in range(1, reps + 1):
            rep = json.load(open(f"{work}/b{b}-t{t}-r{r}/report.json"))
            images = int(rep["trained_on"].split()[0])
            runs.append(statistics.mean(images / e["train_s"] for e in rep["epochs"]))
        speed[t] = statistics.mean(runs)
        print(f"| {path} | {t} | {speed[t]:.0f} | {', '.join(f'{x:.0f}' for x in runs)} |")
    print(f"| {path} | speed-up 2/1 | {speed[2] / speed[1]:.2f}x | |")
PY
