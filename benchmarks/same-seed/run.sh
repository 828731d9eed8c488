#!/usr/bin/env bash
# Same seed, same journal: runs a fixed set of searches with the nasbo binary given as $1 and
# writes each journal, normalised (wall-clock timestamps and the version that wrote it removed),
# to the folder $2, with a SHA-256 of each in $2/SHA256SUMS. Run it with two builds and compare:
#   bash benchmarks/same-seed/run.sh /path/to/old/nasbo /tmp/old
#   bash benchmarks/same-seed/run.sh /path/to/new/nasbo /tmp/new
#   diff /tmp/old/SHA256SUMS /tmp/new/SHA256SUMS && echo identical
# benchmarks/same-seed/SHA256SUMS is the reference: recorded at stop 14 with a release build of
# f0b76ad (the journals of 2b74581, before the study engine moved into nasbo-experiment, were
# identical at stop 13), so a change to the search shows as `diff` lines without an old build:
#   bash benchmarks/same-seed/run.sh target/release/nasbo /tmp/new
#   diff benchmarks/same-seed/SHA256SUMS /tmp/new/SHA256SUMS && echo identical
# Needs NASBO_DATA (the folder with nb201/nb201_cifar10.csv.gz) and python3; run from the
# repository's root (the declared examples are read from datasets/declared/).
set -euo pipefail
bin=$1
out=$2
: "${NASBO_DATA:?set NASBO_DATA to the folder that holds nb201/nb201_cifar10.csv.gz}"
table=$NASBO_DATA/nb201/nb201_cifar10.csv.gz
mkdir -p "$out/raw"
run() { # name, then the arguments of nasbo search
  local name=$1
  shift
  "$bin" search "$@" --seed 3 --out "$out/raw/$name.jsonl" --overwrite --quiet >/dev/null
}
for s in bo random re ls reinforce; do
  run "nb201-$s" --benchmark "$table" --strategy "$s" --budget 40
done
run nb201-bo-seconds --benchmark "$table" --strategy bo --budget-seconds 3000
run nb201-bo-onehot --config benchmarks/configs/bo-one-hot.toml --benchmark "$table" --budget 40
for s in bo random re ls reinforce; do
  run "tiny-$s" --config benchmarks/configs/tiny-declared.toml --strategy "$s" --budget 25
done
for s in bo ehvi re random; do
  run "mo-$s" --benchmark "$table" --strategy "$s" --budget 30 \
    --objective valid_acc:max --objective flops_m:min
done
for s in bo re ls; do
  run "constrained-$s" --benchmark "$table" --strategy "$s" --budget 30 \
    --constraint 'flops_m<=60'
done
run constrained-measured-bo --benchmark "$table" --strategy bo --budget 30 \
  --constraint 'cifar10_test_acc_200>=0' --metrics-table "$table"
python3 - "$out" <<'PY'
import hashlib, json, pathlib, sys
out = pathlib.Path(sys.argv[1])
sums = []
for path in sorted((out / "raw").glob("*.jsonl")):
    lines = []
    for line in path.read_text().splitlines():
        v = json.loads(line)
        for key in ("started_at", "finished_at", "study"):
            v.pop(key, None)
        lines.append(json.dumps(v, sort_keys=True))
    text = "\n".join(lines) + "\n"
    (out / path.name).write_text(text)
    sums.append(f"{hashlib.sha256(text.encode()).hexdigest()}  {path.name} ({len(lines)} trials)")
(out / "SHA256SUMS").write_text("\n".join(sums) + "\n")
print("\n".join(sums))
PY
