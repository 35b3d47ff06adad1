#!/usr/bin/env python3
"""Writes the committed seed corpus: Tests/fuzz/corpus/<target>/<name>.

Run after changing the formats or adding a target:  python3 Tests/fuzz/seeds.py
Seeds are small, meaningful inputs (valid and almost-valid) the fuzzer mutates from.
"""
import gzip, json, os, shutil, struct, zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def reset(target):
    shutil.rmtree(os.path.join(ROOT, target), ignore_errors=True)

# ---------------------------------------------------------------- json
reset("json")
json_seeds = {
    "null": "null", "true": "true", "false": "false", "zero": "0", "neg": "-0.0e+0",
    "numbers": "[1, -1, 1.5, 1e308, 9007199254740993, 1E-7, 0.000001, 123456789012345678901234567890]",
    "string": '"hello"', "escapes": r'"\" \\ \/ \b \f \n \r \t \u0000 \u00e9 \u20ac \ud83d\ude00"',
    "utf8": '"héllo ☃ 😀 \u0800 \uffff"', "empty-object": "{}", "empty-array": "[]",
    "nested": '{"a": [1, {"b": [true, false, null]}, "c"], "d": {"e": {"f": {}}}}',
    "duplicate-keys": '{"a": 1, "a": 2, "b": [], "b": {}}',
    "request": '{"jsonrpc": "2.0", "id": 1, "method": "session/create", "params": {"name": "x", "mode": "building"}}',
    "batch": '[{"jsonrpc":"2.0","id":"a","method":"ping"},{"jsonrpc":"2.0","method":"n"}]',
    "whitespace": ' \t\r\n [ 1 , 2 ] \n',
    "deep": "[" * 40 + "]" * 40,
    "long-string": '"' + "abcdefgh" * 40 + '"',
    "bad-trailing": "[1] x", "bad-comma": "[1,]", "bad-lone-surrogate": r'"\ud800"',
    "bad-utf8": b'"\xc3\x28"', "bad-overlong": b'"\xc0\xaf"', "bad-control": '"a\tb"',
    "bad-number": "01", "bad-unterminated": '{"a": "b', "bad-escape": r'"\x"',
    "keys-unicode": '{"é": 1, "\\u00e9": 2, "": 3}',
}
for k, v in json_seeds.items():
    write("json", k, v)

# ---------------------------------------------------------------- frame
# Byte 0: bits 0-1 max message (16, 64, 1024, 1 MiB), bit 2 max header (32, 8192),
# bits 3-4 framing (detect, detect, Content-Length, NDJSON), bit 5 depth 4, bit 6 batch 2.
reset("frame")
def cl(body):
    b = body.encode() if isinstance(body, str) else body
    return b"Content-Length: %d\r\n\r\n" % len(b) + b
req = '{"jsonrpc":"2.0","id":%s,"method":"echo","params":{"x":[1,2]}}'
frame_seeds = {
    "cl-one": b"\x07" + cl(req % "1"),
    "cl-two": b"\x07" + cl(req % '"a"') + cl(req % "2.50"),
    "cl-headers": b"\x07" + b"content-type: application/vscode-jsonrpc; charset=utf-8\r\nCONTENT-LENGTH:  2 \r\nX-Other: y\r\n\r\n{}",
    "cl-bad-header": b"\x07" + b"Content-Length: abc\r\n\r\n" + cl(req % "3"),
    "cl-no-length": b"\x07" + b"Foo: bar\r\n\r\n" + cl(req % "4"),
    "cl-oversized": b"\x04" + cl('{"jsonrpc":"2.0","id":5,"method":"echo","params":{"long":"' + "x" * 80 + '"}}') + cl(req % "6"),
    "cl-long-header": b"\x03" + b"X-Pad: " + b"p" * 60 + b"\r\n" + cl(req % "7"),
    "cl-stray-crlf": b"\x07" + b"\r\n\r\n" + cl(req % "8") + b"\r\n" + cl(req % "9"),
    "nd-one": b"\x07" + (req % "1").encode() + b"\n",
    "nd-crlf-blank": b"\x07" + (req % "1").encode() + b"\r\n\r\n  \n" + (req % '"z"').encode() + b"\n",
    "nd-batch": b"\x07" + b'[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":2,"method":"fail"}]\n',
    "nd-batch-limit": b"\x47" + b'[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"b"},{"jsonrpc":"2.0","id":3,"method":"c"}]\n',
    "nd-empty-batch": b"\x07" + b"[]\n",
    "nd-notifications": b"\x07" + b'[{"jsonrpc":"2.0","method":"n"}]\n{"jsonrpc":"2.0","method":"m","params":null}\n',
    "nd-invalid": b"\x07" + b'{"jsonrpc":"1.0","id":1,"method":"a"}\n{"id":[1],"method":"a"}\n{"jsonrpc":"2.0","id":null,"method":"a"}\n{"jsonrpc":"2.0","id":3,"method":"a","params":7}\n',
    "nd-parse-error": b"\x07" + b'{"jsonrpc":\n[1,\n',
    "nd-depth": b"\x27" + b'{"jsonrpc":"2.0","id":1,"method":"a","params":{"a":{"b":{"c":{}}}}}\n',
    "nd-cancel": b"\x07" + b'{"jsonrpc":"2.0","id":9,"method":"a"}\n{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":9}}\n',
    "nd-ids": b"\x07" + b'{"jsonrpc":"2.0","id":9007199254740993,"method":"a"}\n{"jsonrpc":"2.0","id":1.50,"method":"a"}\n{"jsonrpc":"2.0","id":"\\u00e9","method":"a"}\n',
    "nd-response": b"\x07" + b'{"jsonrpc":"2.0","id":1,"result":{}}\n',
    "nd-oversized-line": b"\x05" + b'{"jsonrpc":"2.0","id":1,"method":"' + b"m" * 80 + b'"}\n' + (req % "2").encode() + b"\n",
    "forced-nd": b"\x1f" + b"x\n{}\n",
    "forced-cl": b"\x17" + b"{}\n",
}
for k, v in frame_seeds.items():
    write("frame", k, v)

# ---------------------------------------------------------------- store
# Byte 0 mod 5: 0 raw journal, 1 payloads (0xFF-separated) framed, 2 snapshot,
# 3 snapshot gzip-compressed by the target, 4 a data directory (payloads; the last one a
# torn tail; a first payload starting with '{' is also written as sessions.json).
reset("store")
ts = "2026-01-02T03:04:05.678Z"
session = {"id": "ses_1", "name": "fix the parser", "mode": "building", "status": "active", "tags": ["a", "b"],
           "metadata": {"k": [1, 2.5, None]}, "context": {"file": "x.swift"}, "createdAt": ts, "updatedAt": ts}
records = [
    {"kind": "session", "value": session},
    {"kind": "checkpoint", "value": {"id": "chk_1", "sessionId": "ses_1", "createdAt": ts}},
    {"kind": "group", "value": {"id": "grp_1", "name": "g", "sessionIds": ["ses_1"]}},
    {"kind": "conversation", "value": {"id": "conv1", "title": "t"}},
    {"kind": "message", "value": {"id": "msg_1", "conversationId": "conv1", "role": "user", "content": "héllo ☃", "tokens": 3}},
    {"kind": "memory", "value": {"id": "mem_1", "content": "prefers tabs", "tags": ["style"]}},
    {"kind": "template", "value": {"id": "tpl_1", "name": "review", "content": "Hello {{name}}"}},
    {"kind": "setting", "key": "store.format", "value": "jsonGzip"},
]
changes = [dict(op="put", **r) for r in records] + [
    {"op": "delete", "kind": "message", "id": "msg_1", "parent": "conv1"},
    {"op": "delete", "kind": "session", "id": "ses_1"},
]
def payload(chs):
    return json.dumps(chs, separators=(",", ":"), ensure_ascii=False).encode()
def jframe(seq, p):
    seqb = struct.pack("<Q", seq)
    crc = zlib.crc32(p, zlib.crc32(seqb)) & 0xFFFFFFFF
    return struct.pack("<II", len(p), crc) + seqb + p
HEADER = b"CTXDJRNL" + struct.pack("<II", 1, 0)
def jfile(ps, first_seq=1):
    return HEADER + b"".join(jframe(first_seq + i, p) for i, p in enumerate(ps))
ps = [payload([c]) for c in changes]
write("store", "raw-journal", b"\x00" + jfile(ps))
write("store", "raw-journal-one-batch", b"\x00" + jfile([payload(changes)]))
write("store", "raw-journal-torn", b"\x00" + jfile(ps[:3]) + jframe(4, ps[3])[:10])
write("store", "raw-journal-zero-tail", b"\x00" + jfile(ps[:2]) + b"\x00" * 20)
write("store", "raw-journal-backwards", b"\x00" + HEADER + jframe(5, ps[0]) + jframe(3, ps[1]))
bad_crc = bytearray(jfile(ps[:2])); bad_crc[20] ^= 1
write("store", "raw-journal-bad-crc-middle", b"\x00" + bytes(bad_crc) + jframe(3, ps[2]))
write("store", "raw-journal-version2", b"\x00" + b"CTXDJRNL" + struct.pack("<II", 2, 0))
write("store", "raw-journal-empty", b"\x00")
write("store", "raw-journal-bad-payload", b"\x00" + jfile([b'{"op":"put"}', b'[{"op":"nope"}]', b"[1]", b"[]"]))
sep = b"\xff"
write("store", "payloads", b"\x01" + sep.join(ps))
write("store", "payloads-invalid", b"\x01" + sep.join([b'[{"op":"delete","kind":"memory"}]', b'[{"op":"put","kind":"session","value":{}}]', b"", b"[", b"null"]))
def snap(component, recs, seq=7, **extra):
    o = {"schemaVersion": 1, "component": component, "sequence": seq, "savedAt": ts, **extra, "records": recs}
    return o
for i, (comp, recs) in enumerate([("sessions", records[:2]), ("groups", records[2:3]), ("memories", records[5:6]),
                                  ("templates", records[6:7]), ("settings", records[7:])]):
    write("store", f"snapshot-{comp}", b"\x02" + json.dumps(snap(comp, recs), indent=2, ensure_ascii=False).encode())
write("store", "snapshot-conversation", b"\x02" + json.dumps(snap("conversations", records[3:5], conversationId="conv1"), separators=(",", ":")).encode())
# Found by the fuzzer: four fractional digits and no zone in savedAt trapped Timestamp.
write("store", "snapshot-savedAt-digits", b"\x02" + b'{"schemaVersion":1,"component":"groups","sequence":7,"savedAt":"2026-01-02T03:04:05.6780","records":[]}')
write("store", "snapshot-empty-records", b"\x02" + b'{"schemaVersion":1,"component":"sessions","sequence":0,"records":[]}')
write("store", "snapshot-newer", b"\x02" + b'{"schemaVersion":99,"component":"sessions","sequence":1,"records":[]}')
write("store", "snapshot-old", b"\x02" + b'{"schemaVersion":0,"component":"sessions","sequence":1,"items":[]}')
write("store", "snapshot-bad-sequence", b"\x02" + b'{"schemaVersion":1,"component":"sessions","sequence":-1,"records":[]}')
write("store", "snapshot-bad-record", b"\x02" + b'{"schemaVersion":1,"component":"sessions","sequence":1,"records":[{"kind":"session"},{"kind":"x","value":1}]}')
write("store", "snapshot-gzip", b"\x02" + gzip.compress(json.dumps(snap("sessions", records[:1])).encode()))
write("store", "snapshot-gzip-two-members", b"\x02" + gzip.compress(b'{"schemaVersion":1,') + gzip.compress(b'"component":"x","sequence":1,"records":[]}'))
write("store", "snapshot-gzip-truncated", b"\x02" + gzip.compress(json.dumps(snap("sessions", records[:1])).encode())[:30])
write("store", "gzip-snapshot", b"\x03" + json.dumps(snap("sessions", records[:2]), separators=(",", ":")).encode())
write("store", "gzip-memories", b"\x03" + json.dumps(snap("memories", records[5:6])).encode())
write("store", "dir-journal", b"\x04" + sep.join(ps + [payload(changes[:1])]))
write("store", "dir-snapshot-and-journal", b"\x04" + sep.join([json.dumps(snap("sessions", records[:2], seq=2)).encode()] + ps[:4] + [ps[4]]))
write("store", "dir-bad-snapshot", b"\x04" + sep.join([b'{"schemaVersion":1', ps[0], b""]))
write("store", "dir-bad-payload", b"\x04" + sep.join([ps[0], b'[{"op":"zap"}]', ps[1]]))

# ---------------------------------------------------------------- mustache
# Byte 0: bit 0 escapeHTML, bit 1 strict partials, bit 2 partial depth 3, bit 3 output
# limit 256 bytes. Then template ‖ 0xFF ‖ JSON context ‖ 0xFF ‖ "name:source" partials.
reset("mustache")
ctx = json.dumps({"name": "World", "items": [{"n": 1, "tags": ["a", "b"]}, {"n": 2, "tags": []}], "user": {"first": "Ada", "last": "<L>"},
                  "flag": True, "off": False, "empty": [], "none": None, "zero": 0, "text": "a & b", "node": {"v": 1, "kids": [{"v": 2, "kids": []}]}})
def m(control, template, context=ctx, *partials):
    out = bytes([control]) + template.encode()
    if context is not None or partials:
        out += b"\xff" + (context or "").encode()
    for p in partials:
        out += b"\xff" + p.encode()
    return out
mustache_seeds = {
    "plain": m(0, "no tags at all\n", None),
    "variables": m(0, "Hello {{name}}! {{user.first}} {{{user.last}}} {{&text}} {{missing}} {{zero}}"),
    "escaped": m(1, "{{user.last}} {{text}} {{{text}}} {{&user.last}}"),
    "section-list": m(0, "{{#items}}- {{n}}{{#tags}} {{.}}{{/tags}}\n{{/items}}"),
    "section-object": m(0, "{{#user}}{{first}} {{last}}{{/user}}"),
    "inverted": m(0, "{{^empty}}none{{/empty}}{{^flag}}x{{/flag}}{{^none}}null{{/none}}"),
    "dot-names": m(0, "{{#items}}{{.n}}{{.}}{{/items}}{{user.first.bogus}}"),
    "comments": m(0, "a{{! comment }}b\n  {{! standalone }}\nc"),
    "standalone": m(0, "begin\n  {{#flag}}\n  inside\n  {{/flag}}\nend\n"),
    "delimiters": m(0, "{{=<% %>=}}<% name %> {{name}} <%={{ }}=%>{{name}}"),
    "partials": m(0, "[{{>p}}]\n  {{>p}}\n", ctx, "p:{{name}}\nline2\n"),
    "partial-recursion": m(0, "{{>node}}", ctx, "node:{{v}}{{#kids}}{{>node}}{{/kids}}"),
    "partial-cycle": m(4, "{{>a}}", ctx, "a:{{>b}}", "b:{{>a}}"),
    "partial-missing-strict": m(2, "{{>nope}}"),
    "partial-bad": m(0, "{{>bad}}", ctx, "bad:{{#x}}"),
    "output-limit": m(8, "{{#items}}" + "0123456789" * 20 + "{{/items}}"),
    "nested-sections": m(0, "{{#items}}{{#items}}{{#items}}{{n}}{{/items}}{{/items}}{{/items}}"),
    "nested-lists-bomb": m(0, "{{#a}}" * 12 + "{{/a}}" * 12, json.dumps({"a": list(range(10))})),
    "bad-unclosed-tag": m(0, "{{name"),
    "bad-unclosed-section": m(0, "{{#a}}x"),
    "bad-mismatch": m(0, "{{#a}}{{/b}}"),
    "bad-empty-name": m(0, "{{}}"),
    "bad-delimiters": m(0, "{{= x =}}"),
    "bad-dotted": m(0, "{{a..b}}"),
    "array-object-values": m(0, "{{items}} {{user}} {{flag}} {{none}}"),
}
for k, v in mustache_seeds.items():
    write("mustache", k, v)

print("seeds written under", ROOT)
for t in sorted(os.listdir(ROOT)):
    print(" ", t, len(os.listdir(os.path.join(ROOT, t))))
