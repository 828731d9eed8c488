#!/usr/bin/env bash
# Quality under asynchrony (benchmarks/workers/RESULTS.md): BO, RE and random search with 1, 4
# and 8 simulated workers on NAS-Bench-201 CIFAR-10, each trial taking its 200-epoch training
# time from the table; 100 seeds, then 100 held-out seeds; then BO's rule for pending trials
# (Kriging believer, the default, against two constant liars).
#
#   NASBO_DATA=/path/to/data bash benchmarks/workers/async.sh [OUT] [NASBO]
#
# OUT defaults to runs/async, NASBO to `nasbo` on the PATH. About 30 minutes on 2 cores (31.8 min
# measured with other jobs beside it).
set -euo pipefail
out=${1:-runs/async}
nasbo=${2:-nasbo}
: "${NASBO_DATA:?set NASBO_DATA to the folder that holds nb201/nb201_cifar10.csv.gz}"
table=$NASBO_DATA/nb201/nb201_cifar10.csv.gz
here=$(dirname "$0")
common=(--benchmark "$table" --budget 150 --seeds 100 --quiet)
"$nasbo" bench "${common[@]}" --strategies bo,re,random --workers 1,4,8 --out "$out/c10"
"$nasbo" bench "${common[@]}" --strategies bo,re,random --workers 1,4,8 --first-seed 100 \
    --out "$out/c10-heldout"
for rule in liar-min liar-mean; do
    "$nasbo" bench "${common[@]}" --config "$here/configs/$rule.toml" --strategies bo \
        --workers 4,8 --out "$out/c10-$rule"
done
