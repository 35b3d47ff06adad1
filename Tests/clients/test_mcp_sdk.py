"""The official MCP Python SDK (`mcp`) talks to `contextd --store memory` over stdio, as an
AI agent host would: initialize, tools, prompts, resources."""
import asyncio
import json
import re

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


try:  # SDK 2.x
    from mcp.shared.exceptions import MCPError as SDKError
except ImportError:  # SDK 1.x
    from mcp.shared.exceptions import McpError as SDKError


def f(obj, camel):
    """A field of an SDK model: camelCase in SDK 1.x, snake_case in 2.x."""
    if hasattr(obj, camel):
        return getattr(obj, camel)
    return getattr(obj, re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel))


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=60))


async def with_session(binary, body):
    params = StdioServerParameters(command=binary, args=["--store", "memory"])
    async with stdio_client(params) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            return await body(session, init)


def structured(result):
    """A tool result's structured content, checked against its text content."""
    assert result.content and result.content[0].type == "text"
    from_text = json.loads(result.content[0].text)
    assert f(result, "structuredContent") == from_text
    return f(result, "structuredContent")


def test_initialize_negotiates_and_lists_tools(contextd, document):
    async def body(session, init):
        assert f(init, "protocolVersion") in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
        assert f(init, "serverInfo").name == "contextd"
        assert init.capabilities.tools is not None
        assert init.capabilities.prompts is not None
        assert init.capabilities.resources is not None
        await session.send_ping()
        tools = (await session.list_tools()).tools
        by_name = {t.name: t for t in tools}
        # One tool per contract method (lifecycle and events excluded), named with _ for /.
        expected = {m["name"].replace("/", "_") for m in document["methods"]} - {
            "initialize", "shutdown", "ping", "rpc.discover", "events_subscribe", "events_unsubscribe"}
        assert set(by_name) == expected
        create = by_name["session_create"]
        assert f(create, "inputSchema")["type"] == "object"
        assert set(f(create, "inputSchema")["required"]) == {"name", "mode"}
        assert "building" in f(create, "inputSchema")["properties"]["mode"]["enum"]
        assert "$ref" not in json.dumps(f(create, "inputSchema"))
        assert create.description
    run(with_session(contextd, body))


def test_tools_session_create_then_get_and_domain_error(contextd):
    async def body(session, init):
        created = await session.call_tool("session_create", {"name": "MCP session", "mode": "debugging", "tags": ["agent"]})
        assert f(created, "isError") is False
        s = structured(created)
        assert s["name"] == "MCP session" and s["mode"] == "debugging" and s["status"] == "idle"

        got = await session.call_tool("session_get", {"id": s["id"]})
        assert f(got, "isError") is False
        assert structured(got) == s

        # A domain error (1001) is a tool result with isError, not a JSON-RPC error.
        missing = await session.call_tool("session_get", {"id": "no-such-session"})
        assert f(missing, "isError") is True
        err = structured(missing)
        assert err["code"] == 1001 and err["data"] == {"kind": "session", "id": "no-such-session"}

        # Invalid arguments are isError too.
        bad = await session.call_tool("session_create", {"name": "x", "mode": "sleeping"})
        assert f(bad, "isError") is True
        assert structured(bad)["code"] == -32602

        # An invalid transition names the allowed actions.
        done = await session.call_tool("session_complete", {"id": s["id"]})
        assert f(done, "isError") is True
        assert structured(done)["code"] == 1002
    run(with_session(contextd, body))


def test_prompts_from_prompt_templates(contextd):
    async def body(session, init):
        created = await session.call_tool("template_create", {
            "name": "Explain Error", "type": "prompt", "description": "Explain a compiler error",
            "content": "Explain this {{language}} error:\n{{error}}",
            "variables": [{"name": "language", "required": True, "description": "Programming language"},
                          {"name": "error", "required": True}]})
        assert f(created, "isError") is False, created.content
        prompts = (await session.list_prompts()).prompts
        names = [p.name for p in prompts]
        assert "Explain Error" in names
        # Exactly the prompt-type templates are prompts (built-ins included, other types not).
        templates = structured(await session.call_tool("template_list", {}))["templates"]
        assert sorted(names) == sorted(t["name"] for t in templates if t["type"] == "prompt")
        assert any(t["type"] != "prompt" for t in templates)
        p = next(p for p in prompts if p.name == "Explain Error")
        assert p.description == "Explain a compiler error"
        assert {(a.name, a.required) for a in p.arguments} == {("language", True), ("error", True)}

        got = await session.get_prompt("Explain Error", {"language": "Swift", "error": "cannot find 'x' in scope"})
        assert len(got.messages) == 1
        m = got.messages[0]
        assert m.role == "user" and m.content.type == "text"
        assert m.content.text == "Explain this Swift error:\ncannot find 'x' in scope"
    run(with_session(contextd, body))


def test_resources_sessions_and_conversations(contextd):
    async def body(session, init):
        s = structured(await session.call_tool("session_create", {"name": "Readable", "mode": "planning"}))
        c = structured(await session.call_tool("memory_createConversation", {"title": "Notes", "sessionId": s["id"]}))
        added = await session.call_tool("memory_addMessage", {"conversationId": c["id"], "role": "user", "content": "hello"})
        assert f(added, "isError") is False

        resources = (await session.list_resources()).resources
        uris = {str(r.uri) for r in resources}
        assert f"contextd://session/{s['id']}" in uris
        assert f"contextd://conversation/{c['id']}" in uris

        read = await session.read_resource(f"contextd://session/{s['id']}")
        assert len(read.contents) == 1
        content = read.contents[0]
        assert f(content, "mimeType") == "application/json"
        assert json.loads(content.text)["name"] == "Readable"

        conv = json.loads((await session.read_resource(f"contextd://conversation/{c['id']}")).contents[0].text)
        assert conv["title"] == "Notes"
        assert [m["content"] for m in conv["messages"]] == ["hello"]

        with pytest.raises(SDKError) as info:
            await session.read_resource("contextd://session/missing")
        code = getattr(info.value, "code", None)
        assert (code if code is not None else info.value.error.code) == -32002
    run(with_session(contextd, body))


def test_high_level_client_with_discovery_probe(contextd):
    """SDK 2.x's `Client` probes `server/discover` first (-32601 here) and then falls back to
    `initialize`: the unknown-method probe must not close the initialize window."""
    try:
        from mcp import Client
    except ImportError:
        pytest.skip("this mcp SDK has no high-level Client (SDK 1.x)")

    async def body():
        params = StdioServerParameters(command=contextd, args=["--store", "memory"])
        async with Client(params, read_timeout_seconds=20) as client:
            assert client.protocol_version in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
            r = await client.call_tool("session_create", {"name": "probe", "mode": "refactoring"})
            assert f(r, "isError") is False
            assert structured(r)["mode"] == "refactoring"
    run(body())
