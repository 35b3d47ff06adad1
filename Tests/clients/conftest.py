"""Fixtures for the client suites. CONTEXTD must name the built binary (Tests/clients/run.sh
sets it); a missing binary fails the suites rather than skipping them."""
import json
import os
import subprocess
import sys
import threading
import queue

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from openrpc_support import DocumentValidator, contextd_binary, load_document  # noqa: E402


@pytest.fixture(scope="session")
def contextd():
    path = contextd_binary()
    if not path or not os.access(path, os.X_OK):
        pytest.fail("set CONTEXTD to the built contextd binary (swift build --product contextd)")
    return path


@pytest.fixture(scope="session")
def document():
    return load_document()


@pytest.fixture(scope="session")
def validator(document):
    return DocumentValidator(document)


class NDJSONServer:
    """contextd over pipes with NDJSON framing: one JSON text per line each way."""

    def __init__(self, binary, args=("--store", "memory")):
        self.proc = subprocess.Popen([binary, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.next_id = 0
        self.lines = queue.Queue()
        self.notifications = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def send(self, message):
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, method, params=None):
        """Sends a request; returns the whole response object."""
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        while True:
            reply = self.lines.get(timeout=10)
            assert reply is not None, f"server closed its output during {method}"
            if "id" in reply and reply["id"] == self.next_id:
                return reply
            self.notifications.append(reply)

    def call(self, method, params=None):
        reply = self.request(method, params)
        assert "error" not in reply, f"{method} {params} → {reply['error']}"
        return reply["result"]

    def error(self, method, params=None):
        reply = self.request(method, params)
        assert "error" in reply, f"{method} {params} succeeded: {reply.get('result')}"
        return reply["error"]

    def close(self):
        self.proc.stdin.close()
        code = self.proc.wait(timeout=10)
        return code


@pytest.fixture
def server(contextd):
    s = NDJSONServer(contextd)
    yield s
    if s.proc.poll() is None:
        s.close()
