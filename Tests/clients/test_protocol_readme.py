"""protocol/README.md's framed transcript states byte-exact Content-Length values."""
import json
import re

from openrpc_support import REPO

README = (REPO / "protocol" / "README.md").read_text(encoding="utf-8")
FRAMED = re.compile(r"^[→←] Content-Length: (\d+)\\r\\n\\r\\n(.*)$", re.M)


def test_transcript_lengths_are_exact():
    frames = FRAMED.findall(README)
    assert len(frames) >= 6
    for length, body in frames:
        json.loads(body)
        assert int(length) == len(body.encode("utf-8")), body


def _normalize(value):
    """Replaces timestamps, which differ from run to run, by a fixed marker."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value):
        return "<timestamp>"
    return value


def test_transcript_replays_against_the_server(contextd):
    """The README transcript is what the server really says, byte framing included."""
    import subprocess
    lines = re.findall(r"^([→←]) Content-Length: (\d+)\\r\\n\\r\\n(.*)$", README, re.M)
    sent = b"".join(b"Content-Length: %d\r\n\r\n%s" % (int(n), body.encode()) for d, n, body in lines if d == "→")
    expected = [json.loads(body) for d, _, body in lines if d == "←"]
    proc = subprocess.run([contextd, "--store", "memory"], input=sent, capture_output=True, timeout=30)
    out, replies = proc.stdout, []
    while out:
        head, sep, rest = out.partition(b"\r\n\r\n")
        assert sep and head.startswith(b"Content-Length: "), out[:80]
        n = int(head[len(b"Content-Length: "):])
        replies.append(json.loads(rest[:n]))
        out = rest[n:]
    assert [_normalize(r) for r in replies] == [_normalize(e) for e in expected]
    assert proc.returncode == 0
