#!/usr/bin/env bash
# Tests/perf/callgrind.sh — instructions per request of the release contextd (issue 11).
#
# usage: Tests/perf/callgrind.sh [--n1 N] [--n2 N] [--top K] [--no-build] [SCENARIO ...]
#
# Run from the repository root. Scenarios (default: ping and ping-1MiB, plus session/get
# and memory/addMessage when the server serves them — probed with `contextd call`):
#   ping               {"method":"ping"}
#   ping-1MiB          ping carrying a 1 MiB string in params (N1/100 and N2/100 requests)
#   session/get        session/get of a session made by session/create first
#   memory/addMessage  a ~230-byte user message into a conversation made first
# For each, it runs `contextd --store memory` under `valgrind --tool=callgrind` twice,
# once with N1 (default 2000) and once with N2 (default 10000) pipelined requests
# written to its stdin, and reports (Ir(N2) - Ir(N1)) / (N2 - N1) = instructions per
# request: start-up, set-up requests and shutdown cancel out. Instruction counts are
# repeatable on a noisy machine, unlike timings. With --top K (default 12; 0 = none) it
# also prints, per scenario, the K functions with the most self instructions per
# request (the same difference taken per function from callgrind_annotate, names
# demangled with `swift demangle`), i.e. where a request's work goes.
# CONTEXTD_BIN=PATH measures another build (e.g. one built without --static-swift-stdlib).
# Needs valgrind (apt-get install -y valgrind) and python3.
set -euo pipefail

n1=2000
n2=10000
top=12
build=1
methods=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --n1) n1="$2"; shift 2 ;;
        --n2) n2="$2"; shift 2 ;;
        --top) top="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        -*) echo "callgrind.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
        *) methods+=("$1"); shift ;;
    esac
done
[[ -f Package.swift && -d Tests/perf ]] || { echo "callgrind.sh: run from the repository root" >&2; exit 64; }
(( n2 > n1 )) || { echo "callgrind.sh: --n2 must be larger than --n1" >&2; exit 64; }
command -v valgrind >/dev/null || { apt-get install -y valgrind >&2 || { apt-get update >&2 && apt-get install -y valgrind >&2; }; }

work=.build/perf/callgrind
mkdir -p "$work"
if [[ $build == 1 && -z ${CONTEXTD_BIN:-} ]]; then
    static=(); [[ $(uname) == Linux ]] && static=(--static-swift-stdlib)  # as README builds it
    swift build -c release ${static[@]+"${static[@]}"} --product contextd >&2
fi
contextd=${CONTEXTD_BIN:-.build/release/contextd}
[[ -x $contextd ]] || { echo "callgrind.sh: $contextd missing (swift build -c release)" >&2; exit 1; }

serves() { # METHOD PARAMS: does `contextd call` succeed?
    "$contextd" call "$1" "$2" --store memory --log-level error >/dev/null 2>&1
}
if [[ ${#methods[@]} -eq 0 ]]; then
    methods=(ping ping-1MiB)
    if serves session/create '{"name":"callgrind probe","mode":"building"}'; then
        methods+=(session/get)
    else
        echo "== session/create is not served: session/get skipped" >&2
    fi
    if serves memory/createConversation '{"title":"callgrind probe"}'; then
        methods+=(memory/addMessage)
    else
        echo "== memory/createConversation is not served: memory/addMessage skipped" >&2
    fi
fi

python3 - "$contextd" "$work" "$n1" "$n2" "$top" "${methods[@]}" <<'PY'
import json, re, subprocess, sys, threading

contextd, work, n1, n2, top = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
methods = sys.argv[6:]
content = ("Refactor the session store so that checkpoints are written once; "
           "keep the API stable and add a test for rollback. ") * 2  # ~230 bytes of prose

mib = "abcdefghij" * 104_858  # the 1 MiB string of `contextd-bench rpc`

# scenario -> (wire method, set-up request or None, params of the measured request given
# the set-up reply's result.id, divisor of N1/N2 for heavy requests)
scenarios = {
    "ping": ("ping", None, lambda sid: None, 1),
    "ping-1MiB": ("ping", None, lambda sid: {"payload": mib}, 100),
    "session/get": ("session/get", ("session/create", {"name": "callgrind", "mode": "building"}),
                    lambda sid: {"id": sid}, 1),
    "memory/addMessage": ("memory/addMessage", ("memory/createConversation", {"title": "callgrind"}),
                          lambda sid: {"conversationId": sid, "role": "user", "content": content}, 1),
}

def frame(obj):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)

def read_frame(stream):
    length = None
    while True:
        line = stream.readline()
        if not line:
            raise SystemExit("callgrind.sh: the server closed its output")
        line = line.strip()
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return json.loads(stream.read(length))

def run(scenario, count, out_file):
    """Runs the server under callgrind with `count` pipelined requests; returns Ir."""
    method, setup, params, _ = scenarios[scenario]
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", "--log-file=/dev/null",
         contextd, "--store", "memory", "--log-level", "error"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    sid = None
    if setup:
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": 0, "method": setup[0], "params": setup[1]}))
        proc.stdin.flush()
        reply = read_frame(proc.stdout)
        if "result" not in reply:
            raise SystemExit(f"callgrind.sh: {setup[0]} failed: {reply}")
        sid = reply["result"]["id"]
    p = params(sid)
    requests = b"".join(
        frame({"jsonrpc": "2.0", "id": i, "method": method, **({"params": p} if p is not None else {})})
        for i in range(1, count + 1))
    replies = bytearray()
    drain = threading.Thread(target=lambda: replies.extend(proc.stdout.read()))
    drain.start()
    proc.stdin.write(requests)
    proc.stdin.close()
    drain.join()
    if proc.wait() != 0:
        raise SystemExit(f"callgrind.sh: the server exited with {proc.returncode}")
    got = replies.count(b"Content-Length:")
    errors = replies.count(b'"error":')
    if got != count or errors:
        raise SystemExit(f"callgrind.sh: {method}: {got} replies of {count}, {errors} errors")
    with open(out_file) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise SystemExit(f"callgrind.sh: no totals in {out_file}")

def per_function(out_file):
    """Self instructions per function ("file:function", file reduced to its name)."""
    text = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100", out_file],
                          capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\([^)]*\)\s+(\S.*)$", line)
        if m and "PROGRAM TOTALS" not in line:
            name = re.sub(r" \[[^\]]*\]$", "", m.group(2))       # the object file
            file, sep, function = name.partition(":")
            name = (file.rsplit("/", 1)[-1] + ":" if file != "???" else "") + function if sep else name
            costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs

def demangle(names):
    """Swift symbols made readable with `swift demangle` when it is there."""
    try:
        out = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(names),
                             capture_output=True, text=True, check=True).stdout.splitlines()
        return out if len(out) == len(names) else names
    except (OSError, subprocess.CalledProcessError):
        return names

rows = []
profiles = {}
for method in methods:
    if method not in scenarios:
        raise SystemExit(f"callgrind.sh: unknown method {method} (known: {', '.join(scenarios)})")
    slug = method.replace("/", "_")
    c1 = max(1, n1 // scenarios[method][3])
    c2 = max(c1 + 1, n2 // scenarios[method][3])
    files = [f"{work}/{slug}-{n}.out" for n in (c1, c2)]
    print(f"== {method}: {c1} and {c2} requests under callgrind", file=sys.stderr)
    ir1 = run(method, c1, files[0])
    ir2 = run(method, c2, files[1])
    rows.append((method, (ir2 - ir1) / (c2 - c1), ir1, ir2, c1, c2))
    if top > 0:
        a, b = per_function(files[0]), per_function(files[1])
        diff = {k: (b.get(k, 0) - a.get(k, 0)) / (c2 - c1) for k in set(a) | set(b)}
        profiles[method] = sorted(diff.items(), key=lambda kv: -kv[1])[:top]

print("| scenario | instructions / request | N1 | Ir(N1) | N2 | Ir(N2) |")
print("|---|---:|---:|---:|---:|---:|")
for method, per, ir1, ir2, c1, c2 in rows:
    print(f"| {method} | {per:,.0f} | {c1:,} | {ir1:,} | {c2:,} | {ir2:,} |")
for method, items in profiles.items():
    total = next(r[1] for r in rows if r[0] == method)
    print(f"\n{method}: top functions by self instructions per request (of {total:,.0f})")
    for name, (_, per) in zip(demangle([n for n, _ in items]), items):
        short = name if len(name) <= 150 else name[:147] + "..."
        print(f"  {per:9,.0f}  {per / total * 100:5.1f}%  {short}")
print(json.dumps({"n1": n1, "n2": n2, "instructionsPerRequest": {r[0]: round(r[1]) for r in rows}}))
PY
