#!/usr/bin/env bash
# Runs a command with a private redis-server: 127.0.0.1 on a random free port (or a unix
# socket with REDIS_UNIX=1), in a temp dir, `--save '' --appendonly yes`. Exports
# CONTEXTD_TEST_REDIS_URL (redis://127.0.0.1:PORT/0 or redis+unix:///…/redis.sock?db=0),
# CONTEXTD_TEST_REDIS_DIR (the data dir, holding the AOF) and CONTEXTD_TEST_REDIS_PIDFILE,
# runs the command, then stops that redis by pid and removes the dir.
#   Tests/redis/with-redis.sh swift test --filter Redis
# Tests that stop and restart Redis mid-run start it again with the same arguments:
#   CONTEXTD_TEST_REDIS_START (a command line that restarts it in the same dir/port).
set -euo pipefail

command -v redis-server >/dev/null || { echo "with-redis: redis-server not installed (apt-get install -y redis-server)" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

dir=$(mktemp -d /tmp/contextd-redis-XXXXXX)
pidfile="$dir/redis.pid"

free_port() {
    python3 - <<'PY' 2>/dev/null || echo $(( 20000 + RANDOM % 30000 ))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

if [ "${REDIS_UNIX:-0}" = 1 ]; then
    sock="$dir/redis.sock"
    listen=(--port 0 --unixsocket "$sock" --unixsocketperm 700)
    url="redis+unix://$sock?db=0"
else
    port=$(free_port)
    listen=(--port "$port" --bind 127.0.0.1)
    url="redis://127.0.0.1:$port/0"
fi

start_cmd=(redis-server --dir "$dir" --save '' --appendonly yes --appendfsync everysec
    --daemonize yes --pidfile "$pidfile" --logfile "$dir/redis.log" "${listen[@]}")

cleanup() {
    if [ -f "$pidfile" ]; then
        pid=$(cat "$pidfile" 2>/dev/null || true)
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

"${start_cmd[@]}"
for _ in $(seq 100); do
    if [ -f "$pidfile" ] && redis-cli ${sock:+-s "$sock"} ${port:+-p "$port"} ping >/dev/null 2>&1; then break; fi
    sleep 0.05
done
redis-cli ${sock:+-s "$sock"} ${port:+-p "$port"} ping >/dev/null || { echo "with-redis: redis did not start; log:" >&2; cat "$dir/redis.log" >&2; exit 1; }

export CONTEXTD_TEST_REDIS_URL="$url"
export CONTEXTD_TEST_REDIS_DIR="$dir"
export CONTEXTD_TEST_REDIS_PIDFILE="$pidfile"
printf -v CONTEXTD_TEST_REDIS_START '%q ' "${start_cmd[@]}"
export CONTEXTD_TEST_REDIS_START
echo "with-redis: $url (dir $dir)" >&2
set +e
"$@"
rc=$?
set -e
exit $rc
