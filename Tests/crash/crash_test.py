#!/usr/bin/env python3
"""Crash test for contextd's file store (issue 6).

Repeatedly: start `contextd --data-dir DIR`, stream pipelined writes over stdin
(Content-Length framing), kill -9 the server at a random moment, restart it on the same
directory, and check that the store loads and that every write the server acknowledged
is present. Snapshots (`store/save`) are mixed into the stream so crashes also land in
the middle of saves and journal truncation.

Writes are `session/create` with unique ids when the server serves it, else the store's
own persisted setting (`store/enableAutoSave` with a strictly increasing interval: after
a restart the persisted interval must be at least the last acknowledged one).

usage: crash_test.py [ROUNDS] [--binary PATH] [--seed N] [--durability fsync|os]
       exit status 0 = every round passed; 1 = a failure (details on stderr).
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def default_binary():
    for cfg in ("release", "debug"):
        p = os.path.join(ROOT, ".build", cfg, "contextd")
        if os.access(p, os.X_OK):
            return p
    sys.exit("crash_test: no built contextd (run `swift build` first or pass --binary)")


class Server:
    """One contextd process; a reader thread collects responses by id."""

    def __init__(self, binary, data_dir, durability):
        self.proc = subprocess.Popen(
            [binary, "--data-dir", data_dir, "--durability", durability, "--log-level", "warn"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.responses = {}
        self.cond = threading.Condition()
        self.closed = False
        self.stderr = b""
        self.next_id = 1
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_err(self):
        data = self.proc.stderr.read()
        self.stderr = data or b""

    def _read(self):
        out = self.proc.stdout
        try:
            while True:
                headers = {}
                while True:
                    line = out.readline()
                    if not line:
                        raise EOFError
                    line = line.strip()
                    if not line:
                        break
                    k, _, v = line.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers["content-length"])
                body = out.read(n)
                if len(body) < n:
                    raise EOFError
                msg = json.loads(body)
                for m in (msg if isinstance(msg, list) else [msg]):
                    if "id" in m:
                        with self.cond:
                            self.responses[m["id"]] = m
                            self.cond.notify_all()
        except (EOFError, ValueError, OSError):
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def send(self, method, params=None):
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        body = json.dumps(msg).encode()
        try:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        return rid

    def wait(self, rid, timeout=20):
        deadline = time.time() + timeout
        with self.cond:
            while rid not in self.responses:
                left = deadline - time.time()
                if self.closed or left <= 0:
                    return None
                self.cond.wait(left)
            return self.responses[rid]

    def call(self, method, params=None):
        r = self.wait(self.send(method, params))
        if r is None:
            raise RuntimeError("no reply to %s (server exited?)\nstderr:\n%s" % (method, self.stderr.decode(errors="replace")))
        return r

    def kill(self):
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def detect_mode(server):
    r = server.call("session/create", {"name": "probe", "mode": "building", "id": "crash-probe"})
    if "result" in r or r.get("error", {}).get("code") == 1003:
        return "session"
    return "setting"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rounds", nargs="?", type=int, default=20)
    ap.add_argument("--binary", default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--durability", default="fsync", choices=["fsync", "os"])
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    args = ap.parse_args()
    binary = args.binary or default_binary()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    data_dir = tempfile.mkdtemp(prefix="contextd-crash-")
    print("crash_test: %d rounds, seed %d, %s, %s" % (args.rounds, seed, binary, data_dir), file=sys.stderr)

    acked_sessions = set()  # ids whose create was acknowledged
    last_acked_interval = 0  # setting mode
    next_value = 1
    mode = None
    failures = 0
    total_acked = 0
    try:
        for rnd in range(1, args.rounds + 1):
            s = Server(binary, data_dir, args.durability)
            # 1. The store loads and holds every acknowledged write.
            try:
                s.call("ping")
            except RuntimeError as e:
                print("round %d: the store did not load: %s" % (rnd, e), file=sys.stderr)
                failures += 1
                break
            if mode is None:
                mode = detect_mode(s)
                print("crash_test: writes via %s" % ("session/create" if mode == "session" else "store/enableAutoSave"), file=sys.stderr)
            missing = []
            if mode == "session":
                ids = sorted(acked_sessions)
                rids = [(i, s.send("session/get", {"id": i})) for i in ids]
                for i, rid in rids:
                    r = s.wait(rid)
                    if r is None or "result" not in r:
                        missing.append(i)
            else:
                st = s.call("store/status")["result"]
                have = st["autoSave"]["intervalSeconds"] if st["autoSave"]["enabled"] else 0
                if have < last_acked_interval:
                    missing.append("interval %s < acknowledged %s" % (have, last_acked_interval))
            if missing:
                print("round %d: %d acknowledged writes missing after restart: %s" % (rnd, len(missing), missing[:10]), file=sys.stderr)
                print(s.stderr.decode(errors="replace"), file=sys.stderr)
                failures += 1
                s.kill()
                break
            # 2. Stream pipelined writes (and occasional snapshots); kill at a random moment.
            pending = {}
            stop_at = time.time() + rng.uniform(0.05, 0.6)
            while time.time() < stop_at:
                for _ in range(rng.randint(1, 32)):
                    if rng.random() < 0.03:
                        s.send("store/save", {})
                        continue
                    if mode == "session":
                        sid = "crash-%d-%d" % (rnd, next_value)
                        pending[s.send("session/create", {"name": sid, "mode": "building", "id": sid})] = sid
                    else:
                        pending[s.send("store/enableAutoSave", {"intervalSeconds": next_value})] = next_value
                    next_value += 1
                time.sleep(rng.uniform(0, 0.01))
            s.kill()
            # Everything answered with a result before the kill was acknowledged.
            with s.cond:
                answered = dict(s.responses)
            for rid, value in pending.items():
                r = answered.get(rid)
                if r is not None and "result" in r:
                    total_acked += 1
                    if mode == "session":
                        acked_sessions.add(value)
                    else:
                        last_acked_interval = max(last_acked_interval, value)
                elif r is not None and "error" in r:
                    print("round %d: write failed: %s" % (rnd, r["error"]), file=sys.stderr)
                    failures += 1
            print("round %d: %d sent, %d acknowledged so far" % (rnd, len(pending), total_acked), file=sys.stderr)
            if failures:
                break
        else:
            # Final check after a clean stop.
            s = Server(binary, data_dir, args.durability)
            s.call("ping")
            s.stop()
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    if failures:
        print("crash_test: FAILED (seed %d)" % seed, file=sys.stderr)
        return 1
    print("crash_test: OK — %d rounds, %d acknowledged writes, all present" % (args.rounds, total_acked), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
