"""The OpenRPC document is well-formed: OpenRPC structure, valid Draft 7 schemas, resolvable
references, shared errors, and examples that match their own schemas."""
import json
import re

import jsonschema
import pytest

from openrpc_support import DocumentValidator, load_document

# A condensed OpenRPC 1.3 structure check (objects, required members, no unknown members
# except `x-` extensions), written after the OpenRPC specification's meta-schema.
REF = {"type": "object", "additionalProperties": False, "required": ["$ref"], "properties": {"$ref": {"type": "string"}}}
X = {"^x-": {}}
def obj(req, props, addl=False, pat=True):
    o = {"type": "object", "required": req, "properties": props}
    if not addl:
        o["additionalProperties"] = False
        if pat: o["patternProperties"] = X
    return o
S = {"type": "string"}
error = obj(["code", "message"], {"code": {"type": "integer"}, "message": S, "data": {}}, pat=False)
example = {"type": "object", "required": ["name", "value"], "properties": {"summary": S, "value": {}, "description": S, "name": {"type": "string", "minLength": 1}}}
pairing = {"type": "object", "required": ["name", "params", "result"], "properties": {"name": {"type": "string", "minLength": 1}, "description": S,
    "params": {"type": "array", "items": {"oneOf": [example, REF]}}, "result": {"oneOf": [example, REF]}}}
cd = obj(["name", "schema"], {"name": {"type": "string", "minLength": 1}, "description": S, "summary": S, "schema": {"type": ["object", "boolean"]},
    "required": {"type": "boolean"}, "deprecated": {"type": "boolean"}})
tag = obj(["name"], {"name": {"type": "string", "minLength": 1}, "description": S})
method = obj(["name", "result", "params"], {
    "name": {"type": "string", "minLength": 1}, "description": S, "summary": S,
    "tags": {"type": "array", "items": {"oneOf": [tag, REF]}},
    "paramStructure": {"enum": ["by-position", "by-name", "either"]},
    "params": {"type": "array", "items": {"oneOf": [cd, REF]}},
    "result": {"oneOf": [cd, REF]},
    "errors": {"type": "array", "items": {"oneOf": [error, REF]}},
    "examples": {"type": "array", "items": {"oneOf": [pairing, REF]}},
    "deprecated": {"type": "boolean"}})
info = obj(["title", "version"], {"title": S, "description": S, "version": S,
    "contact": obj([], {"name": S, "email": S, "url": S}), "license": obj([], {"name": S, "url": S})})
META = obj(["info", "methods", "openrpc"], {
    "openrpc": {"enum": ["1.3.2"]}, "info": info,
    "servers": {"type": "array"},
    "methods": {"type": "array", "items": method},
    "components": {"type": "object", "properties": {
        "schemas": {"type": "object"},
        "errors": {"type": "object", "patternProperties": {"[0-z]+": error}},
        "examples": {"type": "object", "patternProperties": {"[0-z]+": example}},
        "examplePairings": {"type": "object", "patternProperties": {"[0-z]+": pairing}},
        "contentDescriptors": {"type": "object", "patternProperties": {"[0-z]+": cd}},
        "tags": {"type": "object", "patternProperties": {"[0-z]+": tag}}}}})


DOC = load_document()
V = DocumentValidator(DOC)
METHODS = DOC["methods"]
NAMES = [m["name"] for m in METHODS]

# What PROTOCOL.md §3–§9 names; the document must hold exactly these methods.
EXPECTED = {
    "initialize", "shutdown", "ping", "rpc.discover", "events/subscribe", "events/unsubscribe",
    *(f"session/{n}" for n in "create start pause resume complete fail get update delete addTag removeTag setMetadata "
      "setContext getContext list recent statistics count trimHistory modes setPhase recordUsage recordQuality "
      "checkpoint checkpoints rollback export import".split()),
    *(f"group/{n}" for n in "create get addSession removeSession sessions list updateMetadata setStatus delete".split()),
    *(f"memory/{n}" for n in "createConversation addMessage previewTrim getMessages search toText setLimits getConversation "
      "listConversations clearConversation deleteConversation trimConversations statistics exportConversation "
      "importConversation forkConversation estimateTokens remember recall forget".split()),
    "context/build",
    *(f"template/{n}" for n in "create get update delete list render extractVariables saveToFile loadFromFile "
      "loadDirectory export import statistics".split()),
    *(f"store/{n}" for n in "save load status setFormat detectFormat enableAutoSave disableAutoSave backup listBackups restore".split()),
}


def test_document_matches_openrpc_structure():
    jsonschema.Draft7Validator(META).validate(DOC)


def test_top_level():
    assert DOC["openrpc"] == "1.3.2"
    assert re.fullmatch(r"\d+\.\d+\.\d+", DOC["info"]["version"])
    assert DOC["info"]["title"] == "contextd"


def test_method_set_matches_protocol():
    assert len(NAMES) == len(set(NAMES)), "duplicate method names"
    assert set(NAMES) == EXPECTED, (sorted(set(NAMES) - EXPECTED), sorted(EXPECTED - set(NAMES)))


def test_every_schema_is_valid_draft7():
    for name, schema in DOC["components"]["schemas"].items():
        jsonschema.Draft7Validator.check_schema(schema)
    for m in METHODS:
        for p in m["params"]:
            jsonschema.Draft7Validator.check_schema(p["schema"])
        jsonschema.Draft7Validator.check_schema(m["result"]["schema"])


def _refs(node, out):
    if isinstance(node, dict):
        if "$ref" in node:
            out.add(node["$ref"])
        for v in node.values():
            _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)
    return out


def test_every_reference_resolves():
    for r in sorted(_refs(DOC, set())):
        assert r.startswith("#/components/"), r
        _, section, key = r[2:].split("/")
        assert key in DOC["components"][section], r


@pytest.mark.parametrize("method", METHODS, ids=NAMES)
def test_method_shape(method):
    assert method["paramStructure"] == "by-name"
    assert method["summary"]
    assert isinstance(method["params"], list)
    assert method["result"]["name"] and "schema" in method["result"]
    errors = [e["$ref"] for e in method["errors"]]
    assert "#/components/errors/InvalidParams" in errors
    assert method["examples"], "at least one example pairing"
    names = [p["name"] for p in method["params"]]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("method", METHODS, ids=NAMES)
def test_examples_match_schemas(method):
    for ex in method["examples"]:
        params = {p["name"]: p["value"] for p in ex["params"]}
        V.check_params(method["name"], params)
        V.check_result(method["name"], ex["result"]["value"])


def test_error_components():
    codes = {e["code"]: (n, e) for n, e in DOC["components"]["errors"].items()}
    assert set(codes) == {-32602, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008}
    data_schema = {
        "InvalidParams": "InvalidParamsErrorData", "NotFound": "NotFoundErrorData",
        "InvalidTransition": "InvalidTransitionErrorData", "Conflict": "ConflictErrorData",
        "MissingVariables": "MissingVariablesErrorData", "GroupClosed": "GroupClosedErrorData",
        "StorageError": "StorageErrorData", "PathNotAllowed": "PathNotAllowedErrorData",
        "LimitExceeded": "LimitExceededErrorData",
    }
    for name, error in DOC["components"]["errors"].items():
        V.check({"$ref": f"#/components/schemas/{data_schema[name]}"}, error["data"], f"error {name} data")


def test_optional_fields_are_not_required():
    # Spot checks of PROTOCOL's "absent when unset" fields.
    s = DOC["components"]["schemas"]
    for schema, field in [("Session", "projectId"), ("Session", "startedAt"), ("Session", "endedAt"),
                          ("Session", "failureReason"), ("Conversation", "sessionId"), ("Conversation", "maxTokens"),
                          ("Message", "toolCalls"), ("Message", "toolCallId"), ("Group", "description"),
                          ("TemplateVariable", "default")]:
        assert field in s[schema]["properties"], (schema, field)
        assert field not in s[schema].get("required", []), (schema, field)


def test_document_is_canonical_json():
    # The file stays parseable by strict parsers (no NaN, no trailing commas) and round-trips.
    text = open(__import__("openrpc_support").DOCUMENT_PATH, encoding="utf-8").read()
    assert json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c))) == DOC
