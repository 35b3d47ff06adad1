#!/bin/sh
# Runs the Python client suites (MCP SDK, python-lsp-jsonrpc, OpenRPC document and response
# schemas) against a built contextd. Usage: Tests/clients/run.sh [path/to/contextd] [pytest args]
# CONTEXTD may also be set in the environment; default: .build/debug/contextd.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ $# -gt 0 ] && [ -x "$1" ] && [ ! -d "$1" ]; then CONTEXTD=$1; shift; fi
CONTEXTD=${CONTEXTD:-$repo/.build/debug/contextd}
case $CONTEXTD in /*) ;; *) CONTEXTD=$(pwd)/$CONTEXTD ;; esac
export CONTEXTD
if [ ! -x "$CONTEXTD" ]; then
    echo "run.sh: no contextd binary at $CONTEXTD (swift build --product contextd, or set CONTEXTD)" >&2
    exit 1
fi
python3 -m pip install -q --disable-pip-version-check mcp python-lsp-jsonrpc jsonschema pytest >&2 || {
    echo "run.sh: pip install failed" >&2
    exit 1
}
cd "$repo" || exit 1
python3 -m pytest -q -p no:cacheprovider "$@" Tests/clients
status=$?
if [ "$status" -eq 5 ]; then
    echo "run.sh: no tests were collected" >&2
    exit 1
fi
exit "$status"
