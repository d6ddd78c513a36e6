"""countersign-mcp over stdio, driven by the mcp package's own client: the tools and their schemas, then
request_approval -> a person approves in Slack -> get_decision sees it."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from testkit.live import free_port
from tests.client.conftest import Live, child_env

TOOLS = {"request_approval", "get_decision", "report_incident", "record_usage", "heartbeat", "start_run",
         "finish_run"}


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content or json.loads(result.content[0].text)


def server_params(live: Live, agent: dict[str, Any]) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-c", "from countersign_client.mcp_server import main; main()"],
        env=child_env(COUNTERSIGN_URL=live.base_url, COUNTERSIGN_API_KEY=agent["api_key"]))


def test_mcp_stdio_request_approval_then_get_decision(live: Live, agent: dict[str, Any]) -> None:
    """The model-facing path: list tools, ask (times out pending), a person approves, get_decision says approved."""
    tag = f"mcp-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        async with stdio_client(server_params(live, agent)) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = {t.name: t for t in (await session.list_tools()).tools}
                assert TOOLS <= set(tools)
                schema = tools["request_approval"].input_schema
                assert set(schema["required"]) == {"action", "title", "body"}
                assert schema["properties"]["wait_s"]["maximum"] == 55
                assert tools["request_approval"].description and tools["get_decision"].description
                asked = structured(await session.call_tool("request_approval", {
                    "action": "send_email", "title": f"Email {tag}", "body": "Hello", "wait_s": 0}))
                assert asked["status"] == "pending" and asked["approved"] is False and asked["id"].startswith("drf_")
                await anyio.to_thread.run_sync(lambda: live.reviewer.decide(tag, "approve"))
                decided = structured(await session.call_tool("get_decision", {"draft_id": asked["id"], "wait_s": 10}))
                assert decided["status"] == "approved" and decided["approved"] is True
                assert decided["final_body"] == "Hello" and decided["decided_by"] == ["U078ALICE"]
                assert decided["next_step"].startswith("approved: act now")
                bad = await session.call_tool("request_approval", {"action": "Bad Slug", "title": "t", "body": "b"})
                assert bad.is_error
                missing = await session.call_tool("get_decision", {"draft_id": "drf_missing"})
                assert missing.is_error and "404" in missing.content[0].text
                incident = structured(await session.call_tool("report_incident", {
                    "kind": "anomaly", "severity": "low", "summary": "odd", "dedup_key": tag}))
                assert incident["status"] == "triggered"
                usage = structured(await session.call_tool("record_usage", {
                    "model": "gpt-4o-mini", "input_tokens": 100, "output_tokens": 20, "request_id": tag}))
                assert usage["status"] == "recorded"
                run = structured(await session.call_tool("start_run", {"name": "mcp run", "heartbeat_every_s": 60}))
                beat = structured(await session.call_tool("heartbeat", {"run_id": run["id"], "step": "one"}))
                assert beat["status"] == "running" and beat["detail"]["last_step"] == "one"

    anyio.run(main)


def test_mcp_http_serves_the_same_tools(live: Live, agent: dict[str, Any], tmp_path: Path) -> None:
    """`countersign-mcp --http` serves streamable HTTP; the mcp client lists the tools and calls one."""
    params, port = server_params(live, agent), free_port()
    log = (tmp_path / "mcp.log").open("w")  # a file, not a pipe: nobody reads a pipe until it fills and stalls
    proc = subprocess.Popen([params.command, *params.args, "--http", "--port", str(port)], env=params.env,
                            stdout=log, stderr=subprocess.STDOUT)

    async def main() -> None:
        with anyio.fail_after(30):
            while True:  # until the port accepts
                try:
                    await (await anyio.connect_tcp("127.0.0.1", port)).aclose()
                    break
                except OSError:
                    assert proc.poll() is None, (tmp_path / "mcp.log").read_text()
                    await anyio.sleep(0.05)
            async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    assert TOOLS <= {t.name for t in (await session.list_tools()).tools}
                    me = structured(await session.call_tool("record_usage", {
                        "model": "gpt-4o-mini", "input_tokens": 1, "output_tokens": 1}))
                    assert me["status"] == "recorded"

    try:
        anyio.run(main)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
