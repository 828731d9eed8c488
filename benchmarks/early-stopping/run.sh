#!/usr/bin/env bash
# Early stopping of real trainings against training every candidate in full, on the same
# wall-clock budget (issue 16): BO with early stopping (`asha-bo --fidelities 1,E`: one epoch
# for every new architecture, the best 1/eta continued from their checkpoints to E) against BO
# training every architecture for E epochs (`bo --epochs E`), SEEDS seeds each, on the README's
# Fashion-MNIST setting (C=8, one cell per stage, 4,000 training images, 2,000 for validation
# and test). Each run then retrains its winner for FINAL epochs, and its test accuracy is the
# figure compared.
#
# The two arms of a seed run at the same time, one thread each, so that both see the same
# machine (their budgets are wall-clock seconds); seeds run one after another.
#
#   NASBO=target/release/nasbo bash benchmarks/early-stopping/run.sh
#   python3 benchmarks/early-stopping/report.py runs/early-stopping
#
# Settings (environment): SEEDS (default "0 1 2 3 4"), ES_STRATEGY (asha-bo; mf-bo also spends
# fidelities), BUDGET_S (360), TOP (4 epochs),
# FINAL (6 epochs), OUT (runs/early-stopping), NASBO (nasbo on PATH), plus the data: Debian's
# dataset-fashion-mnist package, or --data-dir through DATA_DIR.
set -euo pipefail
NASBO="${NASBO:-nasbo}"
SEEDS="${SEEDS:-0 1 2 3 4}"
ES_STRATEGY="${ES_STRATEGY:-asha-bo}"
BUDGET_S="${BUDGET_S:-360}"
TOP="${TOP:-4}"
FINAL="${FINAL:-6}"
OUT="${OUT:-runs/early-stopping}"
mkdir -p "$OUT"
data_args=()
[ -n "${DATA_DIR:-}" ] && data_args=(--data-dir "$DATA_DIR")
common=(search --evaluator train --dataset fashion-mnist --channels 8 --cells 1
  --train-limit 4000 --eval-limit 2000 --budget-seconds "$BUDGET_S" --threads 1
  --final-epochs "$FINAL" --json --overwrite "${data_args[@]}")
{
  echo "nasbo: $("$NASBO" --version)"
  echo "host: $(nproc) cores; started $(date -u +%FT%TZ); load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "settings: SEEDS=$SEEDS ES_STRATEGY=$ES_STRATEGY BUDGET_S=$BUDGET_S TOP=$TOP FINAL=$FINAL"
} > "$OUT/settings.txt"
for seed in $SEEDS; do
  "$NASBO" "${common[@]}" --strategy "$ES_STRATEGY" --fidelities "1,$TOP" --seed "$seed" \
    --out "$OUT/es-s$seed.jsonl" > "$OUT/es-s$seed.json" 2> "$OUT/es-s$seed.log" &
  es=$!
  "$NASBO" "${common[@]}" --strategy bo --epochs "$TOP" --seed "$seed" \
    --out "$OUT/full-s$seed.jsonl" > "$OUT/full-s$seed.json" 2> "$OUT/full-s$seed.log" &
  full=$!
  wait "$es" "$full"
  echo "seed $seed done $(date -u +%T); load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/settings.txt"
done
echo "finished $(date -u +%FT%TZ)" >> "$OUT/settings.txt"
