"""MCP over raw NDJSON: the tool schemas the server derives from the document, and the MCP
error paths, checked without an SDK in between."""
import jsonschema

from openrpc_support import FORMAT_CHECKER


def test_tool_input_schemas_accept_the_documented_examples(server, document):
    tools = {t["name"]: t for t in server.call("tools/list")["tools"]}
    checked = 0
    for m in document["methods"]:
        tool = tools.get(m["name"].replace("/", "_"))
        if tool is None:
            continue
        schema = tool["inputSchema"]
        jsonschema.Draft7Validator.check_schema(schema)
        validator = jsonschema.Draft7Validator(schema, format_checker=FORMAT_CHECKER)
        for ex in m["examples"]:
            args = {p["name"]: p["value"] for p in ex["params"]}
            errors = [e.message for e in validator.iter_errors(args)]
            assert not errors, (m["name"], ex["name"], errors)
            checked += 1
        # and rejects a wrong type for a required param
        for name in schema.get("required", []):
            prop = schema["properties"][name]
            if prop.get("type") == "string":
                bad = {p["name"]: p["value"] for p in m["examples"][0]["params"]}
                bad[name] = 12345
                assert list(validator.iter_errors(bad)), (m["name"], name)
    assert checked >= 75


def test_mcp_error_paths(server):
    init = server.call("initialize", {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "raw"}})
    assert init["protocolVersion"] == "2025-03-26"
    server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert server.call("ping") == {}

    assert server.error("tools/call", {"name": "nope_nothing", "arguments": {}})["code"] == -32602
    assert server.error("tools/call", {"arguments": {}})["code"] == -32602  # name missing

    bad = server.call("tools/call", {"name": "session_get", "arguments": "s-1"})
    assert bad["isError"] is True and bad["structuredContent"]["code"] == -32602

    missing = server.error("resources/read", {"uri": "contextd://conversation/none"})
    assert missing["code"] == -32002 and missing["data"] == {"uri": "contextd://conversation/none"}
    assert server.error("resources/read", {"uri": "https://example.com/"})["code"] == -32002

    assert server.error("prompts/get", {"name": "no such prompt"})["code"] == -32602
    templates = server.call("resources/templates/list")["resourceTemplates"]
    assert {t["uriTemplate"] for t in templates} == {"contextd://session/{id}", "contextd://conversation/{id}"}


def test_prompt_with_missing_argument_is_invalid_params(server):
    created = server.call("tools/call", {"name": "template_create", "arguments": {
        "name": "Needs Topic", "type": "prompt", "content": "Write about {{topic}}",
        "variables": [{"name": "topic", "required": True}]}})
    assert created["isError"] is False, created
    err = server.error("prompts/get", {"name": "Needs Topic", "arguments": {}})
    assert err["code"] == -32602 and "topic" in err["message"]
    ok = server.call("prompts/get", {"name": "needs topic", "arguments": {"topic": "tides"}})
    assert ok["messages"][0]["content"]["text"] == "Write about tides"
