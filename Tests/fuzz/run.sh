#!/usr/bin/env bash
# Builds and runs the libFuzzer targets, each for SECONDS, starting from its committed
# seed corpus (Tests/fuzz/corpus/<target>/, read only). New corpus entries go to
# .build-fuzz/corpus/<target>/ (kept between runs, never committed); crash inputs to
# .build-fuzz/crashes/<target>/.
#
#   bash Tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]    (default: 60, every target)
#
# Environment: FUZZ_JOBS=N runs N targets at a time (default 1); FUZZ_ARGS adds libFuzzer
# flags; FUZZ_OUT as for build.sh.
# Exits non-zero when any target crashes, leaks, times out or fails a property, and
# prints the path of the input that did it (replay: .build-fuzz/bin/<target> <path>).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECONDS_PER_TARGET=${1:-60}
shift || true
OUT=${FUZZ_OUT:-$ROOT/.build-fuzz}
JOBS=${FUZZ_JOBS:-1}

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    for f in "$ROOT"/Tests/fuzz/targets/*.swift; do
        b=$(basename "$f" .swift)
        [[ $b == Common ]] || targets+=("$b")
    done
fi

t0=$SECONDS
if ! bash "$ROOT/Tests/fuzz/build.sh" "${targets[@]}"; then
    echo "fuzz: build failed" >&2
    exit 2
fi
echo "fuzz: built in $((SECONDS - t0)) s; running ${#targets[@]} target(s) × ${SECONDS_PER_TARGET} s (${JOBS} at a time)" >&2

# ASan: stop at the first error; keep the quarantine small (gzip buffers are 1 MiB).
# The Swift runtime's backtracer would run inside ASan after an abort: turn it off.
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:quarantine_size_mb=64:detect_leaks=1}

run_one() {
    local t=$1
    local seeds="$ROOT/Tests/fuzz/corpus/$t"
    local scratch="$OUT/corpus/$t" crashes="$OUT/crashes/$t/" log="$OUT/logs/$t.log"
    mkdir -p "$scratch" "$crashes" "$OUT/logs" "$seeds"
    # shellcheck disable=SC2086
    "$OUT/bin/$t" "$scratch" "$seeds" \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=20 \
        -artifact_prefix="$crashes" -print_final_stats=1 -print_pcs=0 ${FUZZ_ARGS:-} \
        >"$log" 2>&1
    echo $? >"$OUT/logs/$t.rc"
}

pids=()
for t in "${targets[@]}"; do
    rm -f "$OUT/logs/$t.rc"
    run_one "$t" &
    pids+=($!)
    while [[ $(jobs -rp | wc -l) -ge $JOBS ]]; do wait -n; done
done
wait

status=0
printf '\n%-10s %9s %8s %8s %8s %7s  %s\n' target runs exec/s cov ft corpus result
for t in "${targets[@]}"; do
    log="$OUT/logs/$t.log"
    rc=$(cat "$OUT/logs/$t.rc" 2>/dev/null || echo 99)
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    eps=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
    corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
    if [[ $rc == 0 ]]; then
        result=ok
    else
        status=1
        artifact=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -1 | sed 's/Test unit written to //')
        result="FAILED (exit $rc) input: ${artifact:-none} log: $log"
    fi
    printf '%-10s %9s %8s %8s %8s %7s  %s\n' "$t" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
    if [[ $rc != 0 ]]; then
        grep -E 'PROPERTY FAILED|ERROR: AddressSanitizer|ERROR: libFuzzer|Fatal error|SUMMARY' "$log" | head -5 | sed 's/^/    /'
    fi
done
echo "fuzz: total $((SECONDS - t0)) s" >&2
exit $status
