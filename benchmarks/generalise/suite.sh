#!/usr/bin/env bash
# The generalisation suite (issue 17): `nasbo bench` on every suite table, then one report.
#
#   benchmarks/generalise/suite.sh [OUT_DIR] [SEEDS] [FIRST_SEED] [BUDGET] [-- BENCH ARGS...]
#
# Defaults: OUT_DIR runs/suite, SEEDS 100, FIRST_SEED 0, BUDGET 100 (queries). Writes the tables
# with make_suite.py first when any is missing (NASBO_DATA, or DATA, must then name the folder
# holding nb201/nb201_cifar10.csv.gz), then for each suite table NAME runs
#
#   $NASBO bench --config OUT_DIR/configs/NAME.toml --strategies bo,re,ls,random \
#       --seeds SEEDS --first-seed FIRST_SEED --budget BUDGET --jobs 1 --quiet \
#       --out OUT_DIR/results/NAME-sFIRST_SEED [BENCH ARGS...]
#
# and finally suite_report.py over the results, written to OUT_DIR/report-sFIRST_SEED.md.
# A rerun continues where it stopped (nasbo bench resumes its folders); another budget needs
# another OUT_DIR. Environment:
#   NASBO         the binary (default: nasbo on PATH, else $CARGO_TARGET_DIR/release/nasbo,
#                 else target/release/nasbo of this checkout)
#   TABLES        comma-separated subset of the suite (default: all of it)
#   STRATEGIES    default bo,re,ls,random
#   JOBS          runs at a time (default 1)
#   EXTRA_CONFIG  a TOML file (or TOML text) appended to every suite config, to screen a
#                 setting on the whole suite, e.g. a file holding
#                     [bo]
#                     thompson-every = 0
#                 Its results go to OUT_DIR/results/NAME-TAG-sFIRST_SEED (configs in
#                 OUT_DIR/configs-TAG/), TAG being $TAG or the file's name without .toml.
#                 The report then also compares BO under the setting with BO under the
#                 defaults (NAME-sFIRST_SEED, when that folder exists), paired by seed.
#                 Do not set a top-level key that a config already has (`noise`, `budget`...).
#   AT            the report's checkpoints (default "50 100"; "BUDGET/2 BUDGET" below 100)
#   TAG           the label of an EXTRA_CONFIG screen (required when EXTRA_CONFIG is text)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUITE=(nb201-onehot nb201-e12proxy nb201-noise-0.2 nb201-noise-0.5 nb201-noise-1.0 chain-nk nk-large mlp-random)
GENERATED=(chain-nk nk-large mlp-random)

POS=()
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; break; fi
    POS+=("$1"); shift
done
PASS=("$@")
OUT="${POS[0]:-runs/suite}"
SEEDS="${POS[1]:-100}"
FIRST="${POS[2]:-0}"
BUDGET="${POS[3]:-100}"
STRATEGIES="${STRATEGIES:-bo,re,ls,random}"
JOBS="${JOBS:-1}"

if [ -n "${NASBO:-}" ]; then :
elif command -v nasbo >/dev/null 2>&1; then NASBO="$(command -v nasbo)"
elif [ -n "${CARGO_TARGET_DIR:-}" ] && [ -x "$CARGO_TARGET_DIR/release/nasbo" ]; then NASBO="$CARGO_TARGET_DIR/release/nasbo"
elif [ -x "$HERE/../../target/release/nasbo" ]; then NASBO="$HERE/../../target/release/nasbo"
else
    echo "suite.sh: no nasbo binary: set NASBO, put nasbo on PATH, or build it (cargo build --release -p nasbo-cli)" >&2
    exit 2
fi

if [ -n "${TABLES:-}" ]; then IFS=, read -r -a NAMES <<< "$TABLES"; else NAMES=("${SUITE[@]}"); fi
for name in "${NAMES[@]}"; do
    case " ${SUITE[*]} " in
        *" $name "*) ;;
        *) echo "suite.sh: unknown table '$name' in TABLES; the suite is ${SUITE[*]}" >&2; exit 2 ;;
    esac
done

# The tables, spaces and configs: generated when any is missing.
missing=0
for name in "${NAMES[@]}"; do
    [ -f "$OUT/configs/$name.toml" ] || missing=1
    for g in "${GENERATED[@]}"; do
        if [ "$g" = "$name" ] && [ ! -f "$OUT/tables/$name.csv.gz" ]; then missing=1; fi
    done
done
if [ "$missing" = 1 ]; then
    DATA_ARGS=()
    if [ -n "${DATA:-}" ]; then DATA_ARGS=(--data "$DATA"); fi
    echo "suite.sh: generating the suite into $OUT"
    python3 "$HERE/make_suite.py" "$OUT" "${DATA_ARGS[@]}"
fi

# A screened setting: configs with EXTRA_CONFIG appended.
CONFIGS="$OUT/configs"
SUFFIX=""
if [ -n "${EXTRA_CONFIG:-}" ]; then
    if [ -f "$EXTRA_CONFIG" ]; then
        EXTRA_TEXT="$(cat "$EXTRA_CONFIG")"
        TAG="${TAG:-$(basename "$EXTRA_CONFIG" .toml)}"
    else
        EXTRA_TEXT="$EXTRA_CONFIG"
        if [ -z "${TAG:-}" ]; then echo "suite.sh: EXTRA_CONFIG is TOML text: set TAG to label its results" >&2; exit 2; fi
    fi
    CONFIGS="$OUT/configs-$TAG"
    SUFFIX="-$TAG"
    mkdir -p "$CONFIGS"
    for name in "${NAMES[@]}"; do
        { cat "$OUT/configs/$name.toml"; printf '\n# EXTRA_CONFIG (TAG %s)\n%s\n' "$TAG" "$EXTRA_TEXT"; } > "$CONFIGS/$name.toml"
    done
fi

mkdir -p "$OUT/results"
DIRS=()
for name in "${NAMES[@]}"; do
    dir="$OUT/results/$name$SUFFIX-s$FIRST"
    DIRS+=("$dir")
    echo "== $name: $(date '+%F %T') -> $dir"
    start=$(date +%s)
    "$NASBO" bench --config "$CONFIGS/$name.toml" --strategies "$STRATEGIES" --seeds "$SEEDS" \
        --first-seed "$FIRST" --budget "$BUDGET" --jobs "$JOBS" --quiet --out "$dir" "${PASS[@]}"
    echo "== $name: done in $(( $(date +%s) - start )) s"
done

REPORT="$OUT/report$SUFFIX-s$FIRST.md"
if [ -z "${AT:-}" ]; then
    if [ "$BUDGET" -ge 100 ]; then AT="50 100"; else AT="$(( BUDGET / 2 )) $BUDGET"; fi
fi
# shellcheck disable=SC2086
python3 "$HERE/suite_report.py" "${DIRS[@]}" --at $AT | tee "$REPORT"
if [ -n "$SUFFIX" ]; then
    # The setting against the defaults' folders NAME-sFIRST_SEED (those that exist).
    DEFAULT_DIRS=()
    for name in "${NAMES[@]}"; do DEFAULT_DIRS+=("$OUT/results/$name-s$FIRST"); done
    echo | tee -a "$REPORT"
    # shellcheck disable=SC2086
    python3 "$HERE/suite_report.py" "${DEFAULT_DIRS[@]}" --screen "$TAG" --at $AT | tee -a "$REPORT"
fi
echo "suite.sh: wrote $REPORT"
