"""Shared helpers for the Python client suites: the OpenRPC document and JSON Schema validation
of values against its component schemas (Draft 7, as OpenRPC 1.3 specifies)."""
import json
import os
import re
from datetime import datetime
from pathlib import Path

import jsonschema

REPO = Path(__file__).resolve().parents[2]
DOCUMENT_PATH = REPO / "protocol" / "contextd.openrpc.json"

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def load_document():
    with open(DOCUMENT_PATH, encoding="utf-8") as f:
        return json.load(f)


def _format_checker():
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time")
    def is_date_time(value):
        if not isinstance(value, str):
            return True
        if not _DATE_TIME.match(value):
            return False
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    return checker


FORMAT_CHECKER = _format_checker()


class DocumentValidator:
    """Validates values against schemas that may `$ref` the document's components."""

    def __init__(self, document):
        self.document = document
        self.methods = {m["name"]: m for m in document["methods"]}

    def validator(self, schema):
        # The schema is wrapped so that `#/components/...` references resolve inside the document.
        root = {"allOf": [schema], "components": self.document.get("components", {})}
        return jsonschema.Draft7Validator(root, format_checker=FORMAT_CHECKER)

    def errors(self, schema, value):
        return sorted(self.validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))

    def check(self, schema, value, what=""):
        errs = self.errors(schema, value)
        if errs:
            details = "\n".join(f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errs[:10])
            raise AssertionError(f"{what} does not match its schema:\n{details}")

    def params_schema(self, method):
        """The params of a method as one object schema (as the MCP tools' inputSchema)."""
        m = self.methods[method]
        props = {p["name"]: p["schema"] for p in m["params"]}
        required = [p["name"] for p in m["params"] if p.get("required")]
        schema = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        return schema

    def check_params(self, method, params):
        names = {p["name"] for p in self.methods[method]["params"]}
        unknown = set(params) - names
        if unknown:
            raise AssertionError(f"{method}: unknown params {sorted(unknown)}")
        self.check(self.params_schema(method), params, f"{method} params")

    def check_result(self, method, result):
        self.check(self.methods[method]["result"]["schema"], result, f"{method} result")


def contextd_binary():
    path = os.environ.get("CONTEXTD")
    if path:
        return path
    for candidate in (REPO / ".build" / "debug" / "contextd", REPO / ".build" / "release" / "contextd"):
        if candidate.exists():
            return str(candidate)
    return None
