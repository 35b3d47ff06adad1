#!/usr/bin/env bash
# Builds the libFuzzer targets under Tests/fuzz/targets/ into .build-fuzz/.
#
# SwiftPM cannot build fuzz executables, so the modules a target needs are compiled by
# hand with swiftc, each as a static library instrumented for coverage (-sanitize=fuzzer)
# and checked by AddressSanitizer (-sanitize=address), then each target is linked against
# them with libFuzzer's main.
#
#   bash Tests/fuzz/build.sh [TARGET...]     (default: every target)
#
# Environment: SWIFTC (default swiftc), FUZZ_OPT (default -O; bounds and overflow
# checks stay on at -O), FUZZ_OUT (default .build-fuzz).
# A module or target is rebuilt only when one of its inputs is newer than its output.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SWIFTC=${SWIFTC:-swiftc}
OPT=${FUZZ_OPT:--O}
OUT=${FUZZ_OUT:-$ROOT/.build-fuzz}
mkdir -p "$OUT/modules" "$OUT/bin"
SAN=(-sanitize=fuzzer,address)
COMMON=(-swift-version 6 "$OPT" -g -suppress-warnings -I "$OUT/modules" -I "$ROOT/Sources/CZlib")

# newer OUTPUT INPUT... → true when OUTPUT is missing or older than an input.
stale() {
    local out=$1; shift
    [[ -e $out ]] || return 0
    local f
    for f in "$@"; do [[ $f -nt $out ]] && return 0; done
    return 1
}

# module NAME "IMPORTED MODULES": Sources/NAME/**/*.swift → libNAME.a + NAME.swiftmodule
module() {
    local name=$1 imports=$2
    local srcs
    mapfile -t srcs < <(find "$ROOT/Sources/$name" -name '*.swift' | sort)
    local deps=("${srcs[@]}")
    # A module is stale when a module it imports was rebuilt after it.
    local m
    for m in $imports; do deps+=("$OUT/modules/lib$m.a"); done
    if stale "$OUT/modules/lib$name.a" "${deps[@]}"; then
        echo "fuzz build: module $name (${#srcs[@]} files)" >&2
        local t0=$SECONDS
        "$SWIFTC" "${COMMON[@]}" "${SAN[@]}" -parse-as-library -enable-testing \
            -module-name "$name" -emit-library -static -emit-module \
            -emit-module-path "$OUT/modules/$name.swiftmodule" \
            -o "$OUT/modules/lib$name.a" "${srcs[@]}"
        echo "fuzz build: module $name took $((SECONDS - t0)) s" >&2
    fi
}

# Module order follows the imports (Package.swift).
module JSONCore ""
module JSONRPC "JSONCore"
module ContextCore "JSONCore"
module ContextStore "ContextCore JSONCore"

LIBS=(-L "$OUT/modules" -lContextStore -lContextCore -lJSONRPC -lJSONCore -lz)

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    for f in "$ROOT"/Tests/fuzz/targets/*.swift; do
        b=$(basename "$f" .swift)
        [[ $b == Common ]] || targets+=("$b")
    done
fi
for t in "${targets[@]}"; do
    src="$ROOT/Tests/fuzz/targets/$t.swift"
    [[ -f $src ]] || { echo "fuzz build: no target $t ($src)" >&2; exit 2; }
    if stale "$OUT/bin/$t" "$src" "$ROOT/Tests/fuzz/targets/Common.swift" "$OUT"/modules/lib*.a; then
        echo "fuzz build: target $t" >&2
        "$SWIFTC" "${COMMON[@]}" "${SAN[@]}" -parse-as-library -module-name "${t//-/_}" \
            "$src" "$ROOT/Tests/fuzz/targets/Common.swift" "${LIBS[@]}" -o "$OUT/bin/$t" 2> >(grep -v "Cannot export local symbol" >&2)
    fi
done
