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
