"""Real responses validate against the OpenRPC result schemas: one scenario drives every
method of the document through `contextd --data-dir TMP` and checks each result (and the
data of the errors it provokes) against the document. Every method must be exercised."""
import glob
import os

from conftest import NDJSONServer

ERROR_DATA = {1001: "NotFoundErrorData", 1002: "InvalidTransitionErrorData", 1003: "ConflictErrorData",
              1004: "MissingVariablesErrorData", 1005: "GroupClosedErrorData", 1006: "StorageErrorData",
              1007: "PathNotAllowedErrorData", 1008: "LimitExceededErrorData", -32602: "InvalidParamsErrorData"}


class Scenario:
    def __init__(self, server, validator):
        self.server = server
        self.v = validator
        self.called = set()
        self.failures = []

    def call(self, method, params=None):
        self.called.add(method)
        try:
            self.v.check_params(method, params or {})
        except AssertionError as e:
            self.failures.append(f"scenario bug: {e}")
        reply = self.server.request(method, params)
        if "error" in reply:
            self.failures.append(f"{method} {params} → error {reply['error']}")
            return None
        try:
            self.v.check_result(method, reply["result"])
        except AssertionError as e:
            self.failures.append(str(e))
        return reply["result"]

    def fails(self, method, params, code):
        reply = self.server.request(method, params)
        if "error" not in reply:
            self.failures.append(f"{method} {params} should fail with {code}, got {reply['result']}")
            return
        err = reply["error"]
        if err["code"] != code:
            self.failures.append(f"{method} {params} → {err}, expected code {code}")
            return
        try:
            self.v.check({"$ref": f"#/components/schemas/{ERROR_DATA[code]}"}, err.get("data"), f"{method} error {code} data")
        except AssertionError as e:
            self.failures.append(str(e))


def get(obj, *keys):
    for k in keys:
        if obj is None:
            return None
        obj = obj[k] if isinstance(obj, dict) else None
    return obj


def test_every_method_result_matches_its_schema(contextd, validator, document, tmp_path):
    data = tmp_path / "data"
    work = tmp_path / "work"
    (work / "templates").mkdir(parents=True)
    server = NDJSONServer(contextd, ["--data-dir", str(data)])
    sc = Scenario(server, validator)
    try:
        _drive(sc, str(work), str(data))
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
    missing = sorted({m["name"] for m in document["methods"]} - sc.called)
    problems = sc.failures + ([f"methods not exercised: {missing}"] if missing else [])
    assert not problems, "\n".join(problems)


def _drive(sc, work, data):
    c = sc.call
    c("initialize", {"processId": os.getpid(), "rootUri": "file://" + work, "capabilities": {}, "clientInfo": {"name": "schema-test"}})
    c("ping")
    c("rpc.discover")
    c("events/subscribe", {"topics": ["session", "memory"]})
    c("events/unsubscribe", {})

    # sessions
    c("session/modes")
    a = c("session/create", {"name": "Alpha", "mode": "building", "projectId": "web", "id": "s-alpha",
                             "tags": ["x"], "metadata": {"k": 1}, "context": {"branch": "main"}})
    c("session/create", {"name": "Beta", "mode": "testing", "id": "s-beta"})
    sc.fails("session/create", {"name": "Dup", "mode": "testing", "id": "s-beta"}, 1003)
    sc.fails("session/get", {"id": "s-none"}, 1001)
    sc.fails("session/create", {"name": "Bad", "mode": "napping"}, -32602)
    c("session/get", {"id": "s-alpha"})
    c("session/update", {"id": "s-alpha", "name": "Alpha 2", "mode": "debugging"})
    c("session/addTag", {"id": "s-alpha", "tag": "y"})
    c("session/removeTag", {"id": "s-alpha", "tag": "x"})
    c("session/setMetadata", {"id": "s-alpha", "key": "ticket", "value": "WEB-1"})
    c("session/setContext", {"id": "s-alpha", "key": "file", "value": "a.swift"})
    c("session/getContext", {"id": "s-alpha"})
    c("session/getContext", {"id": "s-alpha", "key": "file"})
    c("session/getContext", {"id": "s-alpha", "key": "unset"})
    c("session/start", {"id": "s-alpha", "exclusive": True})
    sc.fails("session/start", {"id": "s-alpha"}, 1002)
    c("session/pause", {"id": "s-alpha"})
    c("session/resume", {"id": "s-alpha"})
    c("session/setPhase", {"id": "s-alpha", "phase": "research"})
    c("session/recordUsage", {"id": "s-alpha", "model": "m", "inputTokens": 100, "outputTokens": 20, "costUsd": 0.01})
    c("session/recordQuality", {"id": "s-alpha", "score": 90, "notes": "ok"})

    # memory (before checkpoints, so they capture a conversation)
    conv = c("memory/createConversation", {"title": "Talk", "sessionId": "s-alpha", "metadata": {"topic": "login"}})
    cid = get(conv, "id") or "c-missing"
    c("memory/addMessage", {"conversationId": cid, "role": "system", "content": "Be brief."})
    m1 = c("memory/addMessage", {"conversationId": cid, "role": "user", "content": "How do we validate emails?"})
    c("memory/addMessage", {"conversationId": cid, "role": "assistant", "content": "",
                            "toolCalls": [{"id": "call-1", "name": "grep", "arguments": {"pattern": "email"}}]})
    c("memory/addMessage", {"conversationId": cid, "role": "tool", "content": "validators.swift:12", "toolCallId": "call-1"})
    c("memory/addMessage", {"conversationId": cid, "role": "assistant", "content": "Use the existing validator.", "metadata": {"model": "m"}})
    c("memory/previewTrim", {"conversationId": cid, "maxMessages": 3})
    c("memory/getMessages", {"conversationId": cid})
    c("memory/getMessages", {"conversationId": cid, "role": "user", "offset": 0, "limit": 10})
    c("memory/getMessages", {"conversationId": cid, "recent": 2})
    c("memory/search", {"query": "valid email"})
    c("memory/search", {"query": "validator", "conversationId": cid, "role": "assistant", "limit": 5})
    c("memory/toText", {"conversationId": cid})
    c("memory/getConversation", {"id": cid})
    c("memory/listConversations", {"sessionId": "s-alpha", "limit": 10})
    c("memory/statistics", {"conversationId": cid})
    c("memory/statistics", {})
    snap = c("memory/exportConversation", {"id": cid})
    if snap:
        c("memory/importConversation", {"snapshot": snap, "onConflict": "newId"})
    fork = c("memory/forkConversation", {"conversationId": cid, "atMessageId": get(m1, "message", "id") or "m-missing", "title": "Fork"})
    c("memory/setLimits", {"conversationId": get(fork, "id") or cid, "maxMessages": 50, "maxTokens": 10000})
    c("memory/clearConversation", {"id": get(fork, "id") or cid})
    c("memory/estimateTokens", {"text": "Hello, world! 你好 🎉"})
    mem = c("memory/remember", {"content": "Emails are validated by validators.swift", "tags": ["email"], "importance": 0.7, "sessionId": "s-alpha"})
    c("memory/remember", {"content": "Deploys happen on Fridays", "importance": 0.3})
    c("memory/recall", {"query": "email", "tags": ["email"], "sessionId": "s-alpha", "minImportance": 0.1, "limit": 5})
    c("memory/recall", {})

    # context
    c("context/build", {"sessionId": "s-alpha", "stage": "reflect", "maxTokens": 4000, "query": "email"})
    c("context/build", {"conversationId": cid, "maxTokens": 50})

    # checkpoints and snapshots
    cp = c("session/checkpoint", {"id": "s-alpha", "label": "after talk"})
    c("session/checkpoints", {"id": "s-alpha"})
    c("session/rollback", {"id": "s-alpha", "checkpointId": get(cp, "id") or "cp-missing"})
    exported = c("session/export", {"id": "s-alpha", "includeConversations": True})
    if exported:
        c("session/import", {"snapshot": exported, "onConflict": "newId"})
    c("session/list", {"projectId": "web", "nameContains": "alpha", "limit": 5})
    c("session/list", {"mode": "testing", "status": "idle", "tag": "none"})
    c("session/recent", {"limit": 3})
    c("session/statistics")
    c("session/count", {})
    c("session/count", {"status": "idle"})

    # groups
    g = c("group/create", {"name": "Sprint", "description": "d", "tags": ["t"], "metadata": {"a": 1}})
    gid = get(g, "id") or "g-missing"
    c("group/get", {"id": gid})
    c("group/addSession", {"groupId": gid, "sessionId": "s-alpha"})
    c("group/addSession", {"groupId": gid, "sessionId": "s-beta"})
    sc.fails("group/addSession", {"groupId": gid, "sessionId": "s-none"}, 1001)
    c("group/sessions", {"groupId": gid})
    c("group/list", {})
    c("group/list", {"tag": "t", "status": "active"})
    c("group/updateMetadata", {"id": gid, "metadata": {"a": None, "b": "two"}})
    c("group/removeSession", {"groupId": gid, "sessionId": "s-beta"})
    c("group/setStatus", {"id": gid, "status": "closed"})
    sc.fails("group/addSession", {"groupId": gid, "sessionId": "s-beta"}, 1005)
    sc.fails("group/setStatus", {"id": gid, "status": "closed"}, 1002)

    # templates
    t = c("template/create", {"name": "Greeting", "type": "prompt", "content": "Hello {{name}}{{#items}}, {{.}}{{/items}}",
                              "description": "greets", "variables": [{"name": "name", "required": True}, {"name": "unused", "required": False}],
                              "tags": ["demo"], "metadata": {}, "version": "1.0.0"})
    tid = get(t, "template", "id") or "t-missing"
    sc.fails("template/create", {"name": "greeting", "type": "prompt", "content": "x"}, 1003)
    c("template/get", {"name": "greeting"})
    c("template/get", {"id": tid})
    c("template/update", {"id": tid, "description": "greets people", "expectedVersion": get(t, "template", "version") or "1.0.0"})
    c("template/list", {"type": "prompt"})
    c("template/list", {"query": "greet", "tag": "demo"})
    c("template/render", {"id": tid, "variables": {"name": "Ada", "items": ["a", "b"]}})
    c("template/render", {"name": "Greeting", "variables": {"name": "<b>"}, "escape": "html", "strict": False})
    sc.fails("template/render", {"id": tid, "variables": {}}, 1004)
    c("template/extractVariables", {"content": "{{a}} {{#b}}{{c.d}}{{/b}} {{> p}}"})
    path = os.path.join(work, "templates", "greeting.json")
    c("template/saveToFile", {"id": tid, "path": path})
    sc.fails("template/saveToFile", {"id": tid, "path": "/etc/contextd-test.json"}, 1007)
    with open(os.path.join(work, "templates", "broken.json"), "w") as f:
        f.write("{not json")
    c("template/loadFromFile", {"path": path, "onConflict": "replace"})
    c("template/loadDirectory", {"path": os.path.join(work, "templates"), "onConflict": "newId", "workDoneToken": "load-1"})
    tsnap = c("template/export", {"id": tid})
    if tsnap:
        c("template/import", {"snapshot": tsnap, "onConflict": "newId"})
    c("template/statistics")
    builtin = get(c("template/get", {"name": "Code Review"}), "id")
    if builtin:
        sc.fails("template/delete", {"id": builtin}, 1003)

    # store
    c("store/status")
    c("store/setFormat", {"format": "compactJson"})
    c("store/save", {})
    c("store/save", {"components": ["sessions"]})
    files = sorted(p for p in glob.glob(os.path.join(data, "**", "*"), recursive=True)
                   if os.path.isfile(p) and "sessions" in os.path.basename(p))
    c("store/detectFormat", {"path": files[0] if files else os.path.join(data, "sessions.json")})
    c("store/load", {"components": ["templates"]})
    c("store/enableAutoSave", {"intervalSeconds": 600})
    c("store/disableAutoSave")
    b = c("store/backup", {"workDoneToken": 7})
    c("store/listBackups")
    c("store/restore", {"path": get(b, "path") or os.path.join(data, "backups", "missing")})

    # removals
    c("template/delete", {"id": tid})
    c("memory/forget", {"id": get(mem, "id") or "mem-missing"})
    c("memory/deleteConversation", {"id": cid})
    c("memory/trimConversations", {"keep": 100})
    c("session/complete", {"id": "s-alpha"})
    c("session/fail", {"id": "s-beta", "reason": "flaky"})
    sc.fails("session/fail", {"id": "s-beta"}, -32602)
    c("session/trimHistory", {"keep": 1})
    c("group/delete", {"id": gid})
    c("session/delete", {"id": "s-beta", "cascade": True})
    c("shutdown")
