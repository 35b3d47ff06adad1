"""python-lsp-jsonrpc (the JSON-RPC layer of python-lsp-server) as a Content-Length client:
the same framing editors' LSP clients use, including the Content-Type header it always sends."""
import queue
import subprocess
import threading

import pytest
from pylsp_jsonrpc.streams import JsonRpcStreamReader, JsonRpcStreamWriter


class LSPClient:
    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "--store", "memory"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.writer = JsonRpcStreamWriter(self.proc.stdin)
        self.reader = JsonRpcStreamReader(self.proc.stdout)
        self.messages = queue.Queue()
        threading.Thread(target=self.reader.listen, args=(self.messages.put,), daemon=True).start()
        self.next_id = 0

    def request(self, method, params=None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.writer.write(msg)
        while True:
            reply = self.messages.get(timeout=10)
            if reply.get("id") == self.next_id:
                return reply

    def notify(self, method, params=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.writer.write(msg)


@pytest.fixture
def lsp(contextd):
    c = LSPClient(contextd)
    yield c
    if c.proc.poll() is None:
        c.proc.kill()
        c.proc.wait()


def test_lsp_lifecycle_and_calls(lsp, validator):
    init = lsp.request("initialize", {"processId": None, "rootUri": None, "capabilities": {},
                                      "clientInfo": {"name": "pylsp-jsonrpc-test"}})["result"]
    validator.check_result("initialize", init)
    assert init["capabilities"]["framing"] == "contentLength"
    assert "protocolVersion" not in init  # LSP-shaped initialize: no MCP result
    lsp.notify("initialized", {})

    modes = lsp.request("session/modes")["result"]
    validator.check_result("session/modes", modes)
    assert {m["mode"] for m in modes["modes"]} == {"planning", "building", "testing", "refactoring", "debugging", "deployment"}

    s = lsp.request("session/create", {"name": "from pylsp", "mode": "testing", "id": "lsp-1"})["result"]
    validator.check_result("session/create", s)
    started = lsp.request("session/start", {"id": "lsp-1"})["result"]
    assert started["status"] == "active"

    err = lsp.request("session/start", {"id": "lsp-1"})["error"]
    assert err["code"] == 1002
    assert err["data"]["from"] == "active" and "pause" in err["data"]["allowed"]

    unknown = lsp.request("no/such/method")["error"]
    assert unknown["code"] == -32601

    # Non-ASCII content both ways: Content-Length counts bytes, not characters.
    name = "naïve café 日本語 🎉"
    renamed = lsp.request("session/update", {"id": "lsp-1", "name": name})["result"]
    assert renamed["name"] == name
    assert lsp.request("session/get", {"id": "lsp-1"})["result"]["name"] == name

    assert lsp.request("shutdown")["result"] is None
    assert lsp.request("ping")["error"]["code"] == -32600
    lsp.notify("exit")
    assert lsp.proc.wait(timeout=10) == 0


def test_discover_returns_the_document(lsp, document):
    assert lsp.request("rpc.discover")["result"] == document
