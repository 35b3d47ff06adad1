#!/usr/bin/env bash
# Tests/perf/peers.sh — contextd side by side with its peers (issue 11).
#
# usage: Tests/perf/peers.sh [--rounds R] [--out FILE] [--no-install] [--no-build]
#                            [-- extra contextd-bench rpc options, e.g. --pipelined 100000]
#
# Run from the repository root. It installs what it needs (golang-go,
# golang-github-sourcegraph-jsonrpc2-dev, valgrind; apt-get update only if a package is
# not found), builds the C echo (Tests/perf/c-echo.c, gcc -O2: the pipe's limit), the Go
# echo (Tests/perf/go-echo, sourcegraph/jsonrpc2 in GOPATH mode) and contextd in release,
# then runs `contextd-bench rpc --json --binary X` for contextd, C and Go INTERLEAVED
# (contextd, C, Go, contextd, C, Go, ...) for R rounds (default 5) and prints the median
# of every figure, the ratios the issue's targets need, and the figures as JSON (the
# last line of output, and FILE with --out). When the build serves session/create and
# memory/createConversation (probed with `contextd call`), it also compares session/get
# and memory/addMessage with the Go echo (`contextd-bench method`, interleaved) and
# addMessage with fsync against none at 64 in flight. About a minute after the builds
# (two more with the method comparisons).
set -euo pipefail

rounds=5
out=""
install=1
build=1
bench_extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --no-install) install=0; shift ;;
        --no-build) build=0; shift ;;
        --) shift; bench_extra=("$@"); break ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "peers.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done

[[ -f Package.swift && -d Tests/perf ]] || { echo "peers.sh: run from the repository root" >&2; exit 64; }
work=.build/perf
mkdir -p "$work"

gopath=/usr/share/gocode
if [[ $install == 1 ]]; then
    need=()
    command -v go >/dev/null || need+=(golang-go)
    [[ -d $gopath/src/github.com/sourcegraph/jsonrpc2 ]] || need+=(golang-github-sourcegraph-jsonrpc2-dev)
    command -v valgrind >/dev/null || need+=(valgrind)
    if [[ ${#need[@]} -gt 0 ]]; then
        echo "== installing ${need[*]}" >&2
        apt-get install -y "${need[@]}" >&2 || { apt-get update >&2 && apt-get install -y "${need[@]}" >&2; }
    fi
fi

echo "== building C echo, Go echo, contextd (release)" >&2
gcc -O2 -o "$work/c-echo" Tests/perf/c-echo.c
GOPATH=$gopath GO111MODULE=off GOFLAGS= GOCACHE="$PWD/$work/gocache" \
    go build -o "$work/go-echo" ./Tests/perf/go-echo
if [[ $build == 1 ]]; then
    # The release binary as README builds it: on Linux with the Swift runtime and
    # Foundation linked in (self-contained; half the start-up time, 13 MB idle RSS).
    static=(); [[ $(uname) == Linux ]] && static=(--static-swift-stdlib)
    swift build -c release ${static[@]+"${static[@]}"} >&2
fi
bench=.build/release/contextd-bench
contextd=.build/release/contextd
[[ -x $bench && -x $contextd ]] || { echo "peers.sh: $bench or $contextd missing (swift build -c release)" >&2; exit 1; }

names=(contextd c-echo go-echo)
binaries=("$contextd" "$work/c-echo" "$work/go-echo")
rm -f "$work"/run-*.json
for ((r = 1; r <= rounds; r++)); do
    for i in 0 1 2; do
        echo "== round $r/$rounds: ${names[$i]}" >&2
        timeout 120 "$bench" rpc --json --skip-json-speed --binary "${binaries[$i]}" ${bench_extra[@]+"${bench_extra[@]}"} \
            >"$work/run-$r-${names[$i]}.json"
    done
done

# Real methods, when this build serves them (`contextd-bench method`): session/get and
# memory/addMessage against the Go echo (which answers with the params), and
# memory/addMessage with fsync against none at 64 in flight (contextd only).
serves() { "$contextd" call "$1" "$2" --store memory --log-level error >/dev/null 2>&1; }
content='Refactor the session store so that checkpoints are written once; keep the API stable and add a test for rollback. Refactor the session store so that checkpoints are written once; keep the API stable and add a test for rollback.'
get_args=(--method session/get --params '{"id":"$ID"}' --setup session/create
    --setup-params '{"name":"bench","mode":"building","id":"sess_bench"}' --pipelined 50000)
add_args=(--method memory/addMessage --params '{"conversationId":"$ID","role":"user","content":"'"$content"'"}'
    --setup memory/createConversation --setup-params '{"title":"bench","id":"conv_bench"}')
method_run() { # NAME BINARY ARGS...: one `contextd-bench method` run into $work/method-NAME-rR.json
    local name=$1 binary=$2
    shift 2
    timeout 120 "$bench" method --json --binary "$binary" "$@" >"$work/method-$name-r$r.json"
}
rm -f "$work"/method-*.json
if serves session/create '{"name":"peers probe","mode":"building"}'; then
    for ((r = 1; r <= rounds; r++)); do
        echo "== round $r/$rounds: session/get (contextd, Go)" >&2
        method_run get-contextd "$contextd" "${get_args[@]}"
        method_run get-go "$work/go-echo" "${get_args[@]}"
    done
else
    echo "== session/create is not served by this build: session/get comparison skipped" >&2
fi
if serves memory/createConversation '{"title":"peers probe"}'; then
    for ((r = 1; r <= rounds; r++)); do
        echo "== round $r/$rounds: memory/addMessage (contextd none, Go, contextd fsync/none at 64)" >&2
        method_run add-contextd "$contextd" "${add_args[@]}" --durability none --pipelined 50000
        method_run add-go "$work/go-echo" "${add_args[@]}" --durability none --pipelined 50000
        method_run add64-fsync "$contextd" "${add_args[@]}" --durability fsync --window 64 --pipelined 5000 --sequential 200
        method_run add64-none "$contextd" "${add_args[@]}" --durability none --window 64 --pipelined 5000 --sequential 200
    done
else
    echo "== memory/createConversation is not served by this build: memory/addMessage comparison skipped" >&2
fi

python3 - "$work" "$rounds" "$out" "$(nproc)" "$(cat /proc/loadavg 2>/dev/null || echo '?')" <<'PY'
import datetime, json, statistics, sys

work, rounds, out, cpus, loadavg = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
names = ["contextd", "c-echo", "go-echo"]
runs = {n: [json.load(open(f"{work}/run-{r}-{n}.json")) for r in range(1, rounds + 1)] for n in names}
figures = [
    ("ping_seq_p50_us", "seq ping p50 (µs)", "{:.1f}"),
    ("ping_seq_p99_us", "seq ping p99 (µs)", "{:.1f}"),
    ("ping_pipelined_rps", "pipelined ping (req/s)", "{:,.0f}"),
    ("ping_pipelined_server_cpu_us", "server CPU / pipelined ping (µs)", "{:.2f}"),
    ("ping_pipelined_bench_cpu_us", "bench CPU / pipelined ping (µs)", "{:.2f}"),
    ("mib_request_mb_s", "1 MiB requests (MB/s)", "{:,.0f}"),
    ("startup_ms_p50", "start-up to first reply (ms)", "{:.2f}"),
    ("idle_rss_mb", "idle RSS (MB)", "{:.1f}"),
]
med = {n: {} for n in names}
for n in names:
    for key, _, _ in figures:
        values = [run[key] for run in runs[n] if key in run]
        if values:
            med[n][key] = statistics.median(values)

def cell(n, key, fmt):
    return fmt.format(med[n][key]) if key in med[n] else "-"

rows = [[label] + [cell(n, k, fmt) for n in names] for k, label, fmt in figures]
header = ["median of %d interleaved rounds" % rounds] + names
widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
def line(r):
    return "| " + " | ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)) + " |"
print(line(header))
print("|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|")
for r in rows:
    print(line(r))

def ratio(a, b, key):
    """(ratio of the medians, median of the per-round ratios) of contextd to a peer."""
    x, y = med[a].get(key), med[b].get(key)
    per_round = [ra[key] / rb[key] for ra, rb in zip(runs[a], runs[b]) if rb.get(key)]
    return (x / y if x is not None and y else None,
            statistics.median(per_round) if per_round else None)

c = med["contextd"]
targets = [
    # (name, (value, per-round value), unit, target text, ok?)
    ("pipelined ping contextd / Go", ratio("contextd", "go-echo", "ping_pipelined_rps"), "×", "≥ 10×", lambda v: v >= 10),
    ("pipelined ping contextd / C", ratio("contextd", "c-echo", "ping_pipelined_rps"), "%", "≥ 50%", lambda v: v >= 0.5),
    ("seq ping p50 contextd / C", ratio("contextd", "c-echo", "ping_seq_p50_us"), "×", "≤ 1.3×", lambda v: v <= 1.3),
    ("1 MiB MB/s contextd / C", ratio("contextd", "c-echo", "mib_request_mb_s"), "%", "≥ 50%", lambda v: v >= 0.5),
    ("start-up to first reply (ms)", (c.get("startup_ms_p50"), None), "ms", "≤ 10 ms", lambda v: v <= 10),
    ("idle RSS (MB)", (c.get("idle_rss_mb"), None), "MB", "≤ 20 MB", lambda v: v <= 20),
]

def show(v, unit):
    if v is None:
        return "-"
    return f"{v * 100:.0f}%" if unit == "%" else f"{v:.2f}{unit if unit == '×' else ' ' + unit}"

print()
print("| target | ratio of medians | median of per-round ratios | goal | |")
print("|---|---:|---:|---:|---|")
ratios = {}
for name, (v, per_round), unit, goal, ok in targets:
    verdict = "n/a" if v is None else ("met" if ok(v) else "MISSED")
    ratios[name] = {"value": v, "medianOfPerRoundRatios": per_round, "goal": goal, "met": None if v is None else ok(v)}
    print(f"| {name} | {show(v, unit)} | {show(per_round, unit)} | {goal} | {verdict} |")
# Real methods (present only when the build serves them).
import os
def method_runs(name):
    files = [f"{work}/method-{name}-r{r}.json" for r in range(1, rounds + 1)]
    return [json.load(open(f)) for f in files if os.path.exists(f)]
methods = {n: method_runs(n) for n in ["get-contextd", "get-go", "add-contextd", "add-go", "add64-fsync", "add64-none"]}
methods = {n: rs for n, rs in methods.items() if rs}
method_med = {n: {k: statistics.median(r[k] for r in rs) for k in ("seq_p50_us", "pipelined_rps", "server_cpu_us", "bench_cpu_us")}
              for n, rs in methods.items()}
if method_med:
    print()
    print("| method scenario (median) | seq p50 (µs) | pipelined req/s | server CPU/req (µs) |")
    print("|---|---:|---:|---:|")
    labels = {"get-contextd": "session/get, contextd", "get-go": "session/get, Go echo",
              "add-contextd": "memory/addMessage none, contextd", "add-go": "memory/addMessage, Go echo",
              "add64-fsync": "memory/addMessage fsync, 64 in flight", "add64-none": "memory/addMessage none, 64 in flight"}
    for n, m in method_med.items():
        print(f"| {labels[n]} | {m['seq_p50_us']:.1f} | {m['pipelined_rps']:,.0f} | {m['server_cpu_us']:.2f} |")
    print()
    print("| target | ratio of medians | median of per-round ratios | goal | |")
    print("|---|---:|---:|---:|---|")
    for name, a, b, goal_text, goal in [
        ("session/get pipelined contextd / Go", "get-contextd", "get-go", "≥ 5×", 5),
        ("memory/addMessage (none) contextd / Go", "add-contextd", "add-go", "≥ 3×", 3),
        ("addMessage fsync / none at 64 in flight", "add64-fsync", "add64-none", "≥ 50%", 0.5),
    ]:
        if a not in methods or b not in methods:
            continue
        v = method_med[a]["pipelined_rps"] / method_med[b]["pipelined_rps"]
        pr = statistics.median(x["pipelined_rps"] / y["pipelined_rps"] for x, y in zip(methods[a], methods[b]))
        unit = "%" if goal < 1 else "×"
        print(f"| {name} | {show(v, unit)} | {show(pr, unit)} | {goal_text} | {'met' if v >= goal else 'MISSED'} |")
        ratios[name] = {"value": v, "medianOfPerRoundRatios": pr, "goal": goal_text, "met": v >= goal}

now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
print(f"\n{now}, {rounds} rounds, {cpus} CPUs, load average at the end: {loadavg}")

doc = {"date": now, "rounds": rounds, "cpus": int(cpus), "loadavg": loadavg,
       "medians": med, "runs": runs, "methodMedians": method_med, "methodRuns": methods, "targets": ratios}
text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
if out:
    with open(out, "w") as f:
        f.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
print(text)
PY
