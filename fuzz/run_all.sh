#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, JOBS at a time, seeded with
# its kept inputs, and prints one Markdown row per target: seconds, executions, executions
# per second, corpus size at the end, peak memory, and crashes (files left in artifacts/).
#
#   fuzz/run_all.sh SECONDS JOBS [TARGET...]
#
# Needs cargo-fuzz and a nightly toolchain (see README.md). Logs go to fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: run_all.sh SECONDS JOBS [TARGET...]}
jobs=${2:?usage: run_all.sh SECONDS JOBS [TARGET...]}
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p logs
cargo +nightly fuzz build -O --debug-assertions >logs/build.log 2>&1
run() {
    local t=$1
    mkdir -p "corpus/$t" "artifacts/$t"
    cargo +nightly fuzz run -O --debug-assertions "$t" "corpus/$t" "regressions/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 -timeout=20 \
        -print_final_stats=1 >"logs/$t.log" 2>&1 || true
}
export -f run
export seconds
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run {}'
echo "| target | seconds | executions | per second | corpus | peak RSS (MB) | crashes |"
echo "|---|--:|--:|--:|--:|--:|--:|"
for t in "${targets[@]}"; do
    log=logs/$t.log
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    corpus=$(find "corpus/$t" -type f | wc -l)
    crashes=$(find "artifacts/$t" -type f | wc -l)
    echo "| \`$t\` | $seconds | $execs | $rate | $corpus | $rss | $crashes |"
done
