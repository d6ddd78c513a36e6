"""`countersign-mcp`: Countersign as MCP tools, so any MCP-capable agent can ask a person before it acts.

stdio by default (for desktop and IDE clients); `--http` serves streamable HTTP. Configured by COUNTERSIGN_URL and
COUNTERSIGN_API_KEY (the agent's key). Over HTTP every caller acts with that key, so off loopback a bearer token
is required (`--token` or COUNTERSIGN_MCP_TOKEN) and requests without it get 401.

Tool failures come back as tool errors whose text is the server's problem detail, so the model can read what to
fix.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from pydantic import BaseModel, Field
except ImportError as missing:  # pragma: no cover - depends on what is installed
    raise ImportError("countersign-mcp needs the mcp extra: pip install 'countersign-client[mcp]'") from missing

from countersign_client._client import AsyncCountersign
from countersign_client.errors import CountersignError
from countersign_client.types import Draft

MAX_WAIT_S = 55  # below the ~60 s request timeout common in MCP clients; call get_decision to keep waiting
INSTRUCTIONS = (
    "Countersign puts a person between you and consequential actions. Before an irreversible or external action "
    "(sending, paying, deleting, deploying), call request_approval and act only if `approved` is true, using "
    "`final_body` (the reviewer may have edited it). If the status is still `pending`, call get_decision with the "
    "draft id later. `rejected` or `expired` means do not act and do not retry the same request; tell the user "
    "the reason. Report anything unexpected with report_incident, and spend with record_usage."
)


class Decision(BaseModel):
    """A draft and where its decision stands."""

    id: str = Field(description="the draft id: pass it to get_decision")
    status: str = Field(description="pending, approved, edited, rejected, expired, auto_approved or cancelled")
    approved: bool = Field(description="true only for approved, edited and auto_approved: then you may act")
    final_body: Any = Field(None, description="what to act on when approved: the body, as the reviewer edited it")
    reason: str | None = Field(None, description="the reviewer's reason (rejections) or why it expired")
    decided_by: list[str] = Field(default_factory=list, description="Slack user ids of the deciders")
    next_step: str = Field(description="what to do now")

    @classmethod
    def of(cls, draft: Draft) -> Decision:
        if draft.pending:
            step = f"not decided yet: call get_decision with draft_id={draft.id!r} (do not act yet)"
        elif draft.approved:
            step = "approved: act now, using final_body"
        else:
            step = "not approved: do not act and do not retry; tell the user the reason"
        return cls(id=draft.id, status=draft.status, approved=draft.approved,
                   final_body=draft.effective_body if draft.approved else None, reason=draft.reason,
                   decided_by=draft.decided_by, next_step=step)


class Recorded(BaseModel):
    id: Any = Field(description="the server's id of what was recorded")
    status: str = Field(description="for incidents: triggered, acknowledged, snoozed or resolved; else 'recorded'")
    detail: dict[str, Any] = Field(default_factory=dict, description="the server's full answer")


def build_server(client: AsyncCountersign | None = None) -> MCPServer:
    """The MCP server; `client` is built from the environment on first use when not handed in."""
    mcp = MCPServer("countersign", instructions=INSTRUCTIONS)
    holder: dict[str, AsyncCountersign] = {} if client is None else {"client": client}

    def cs() -> AsyncCountersign:
        if "client" not in holder:  # built inside the server's event loop, which owns its connections
            holder["client"] = AsyncCountersign()
        return holder["client"]

    async def attempt(coro: Any) -> Any:
        try:
            return await coro
        except CountersignError as exc:
            fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in exc.errors)
            raise ToolError(f"{exc.message}" + (f" ({fields})" if fields else "")) from None

    @mcp.tool(description="Ask a person to approve an action before you take it. Waits up to wait_s seconds "
                          "for the decision; if still pending, returns the draft id so you can call get_decision.")
    async def request_approval(
        action: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
                                     description="the kind of action, a lower-case slug, e.g. send_email")],
        title: Annotated[str, Field(min_length=1, max_length=300, description="one line a reviewer reads first")],
        body: Annotated[str | dict[str, Any], Field(description="exactly what you will do: the text to send, "
                                                                "or the arguments as a JSON object")],
        context: Annotated[dict[str, Any] | None, Field(description="why: the user's request, links, data")] = None,
        wait_s: Annotated[int, Field(ge=0, le=MAX_WAIT_S, description="seconds to wait for a decision now")] = 25,
    ) -> Decision:
        draft = await attempt(cs().drafts.create(action=action, title=title, body=body, context=context))
        if draft.pending and wait_s > 0:
            draft = await attempt(cs().drafts.wait(draft.id, timeout=wait_s))
        return Decision.of(draft)

    @mcp.tool(description="The decision on a draft from request_approval. Optionally waits up to wait_s seconds.")
    async def get_decision(
        draft_id: Annotated[str, Field(min_length=1, description="the id request_approval returned")],
        wait_s: Annotated[int, Field(ge=0, le=MAX_WAIT_S, description="seconds to wait if still pending")] = 0,
    ) -> Decision:
        return Decision.of(await attempt(cs().drafts.get(draft_id, wait=wait_s or None)))

    @mcp.tool(description="Report unexpected behaviour (yours or a system's) to the accountable people. Reports "
                          "with the same dedup_key while one is open count as occurrences of it.")
    async def report_incident(
        kind: Annotated[str, Field(description="e.g. anomaly, error, loop, data_quality")],
        severity: Annotated[str, Field(description="low, medium, high or critical")],
        summary: Annotated[str, Field(min_length=1, description="one line: what happened")],
        details: Annotated[dict[str, Any] | None, Field(description="anything that helps a person look")] = None,
        dedup_key: Annotated[str | None, Field(description="same problem, same key")] = None,
        run_id: Annotated[str | None, Field(description="the run it happened in, if any")] = None,
    ) -> Recorded:
        incident = await attempt(cs().report_incident(kind=kind, severity=severity, summary=summary,
                                                      details=details, dedup_key=dedup_key, run_id=run_id))
        return Recorded(id=incident.id, status=incident.status, detail=incident.raw)

    @mcp.tool(description="Record model spend: tokens of one model call (cached tokens are part of input_tokens, "
                          "reasoning tokens part of output_tokens). request_id makes a repeat count once.")
    async def record_usage(
        model: Annotated[str, Field(min_length=1, description="e.g. gpt-4o-mini")],
        input_tokens: Annotated[int, Field(ge=0)],
        output_tokens: Annotated[int, Field(ge=0)],
        cached_tokens: Annotated[int, Field(ge=0)] = 0,
        reasoning_tokens: Annotated[int, Field(ge=0)] = 0,
        provider: Annotated[str | None, Field(description="e.g. openai")] = None,
        request_id: Annotated[str | None, Field(description="the provider's response id")] = None,
        draft_id: Annotated[str | None, Field(description="the draft this spend was for")] = None,
    ) -> Recorded:
        result = await attempt(cs().record_usage(model=model, input_tokens=input_tokens, output_tokens=output_tokens,
                                                 cached_tokens=cached_tokens, reasoning_tokens=reasoning_tokens,
                                                 provider=provider, request_id=request_id, draft_id=draft_id))
        return Recorded(id=result.id, status="recorded", detail=result.raw)

    @mcp.tool(description="Start a watched run: if heartbeats stop for heartbeat_every_s + grace_s, people are "
                          "told the run halted.")
    async def start_run(
        name: Annotated[str, Field(max_length=200, description="what the run does")],
        heartbeat_every_s: Annotated[int, Field(ge=1, description="how often you will call heartbeat")] = 60,
        grace_s: Annotated[int, Field(ge=0)] = 30,
        run_id: Annotated[str | None, Field(description="your own id for the run (optional)")] = None,
    ) -> Recorded:
        run = await attempt(cs().runs.start(name=name, heartbeat_every_s=heartbeat_every_s, grace_s=grace_s,
                                            run_id=run_id))
        return Recorded(id=run.run_id, status=run.status, detail=run.raw)

    @mcp.tool(description="Say a watched run is alive, and what step it is on.")
    async def heartbeat(
        run_id: Annotated[str, Field(min_length=1, description="from start_run")],
        step: Annotated[str | None, Field(max_length=500, description="what you are doing now")] = None,
    ) -> Recorded:
        run = await attempt(cs().runs.heartbeat(run_id, step=step))
        return Recorded(id=run.run_id, status=run.status, detail=run.raw)

    @mcp.tool(description="Finish a watched run: succeeded, failed or aborted.")
    async def finish_run(run_id: Annotated[str, Field(min_length=1)],
                         status: Annotated[str, Field(pattern="^(succeeded|failed|aborted)$")] = "succeeded",
                         note: Annotated[str | None, Field(max_length=1000)] = None) -> Recorded:
        run = await attempt(cs().runs.finish(run_id, status=status, note=note))
        return Recorded(id=run.run_id, status=run.status, detail=run.raw)

    return mcp


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name other than localhost may resolve anywhere
        return False


class BearerToken:
    """Refuses every HTTP request without `Authorization: Bearer <token>` (401), before MCP sees it."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self._token = app, token.encode()

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] == "http" and not self._allowed(dict(scope.get("headers") or []).get(b"authorization")):
            body = json.dumps({"error": "unauthorized", "detail": "send Authorization: Bearer <token> "
                               "(the --token or COUNTERSIGN_MCP_TOKEN this server was started with)"}).encode()
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def _allowed(self, header: bytes | None) -> bool:
        scheme, _, given = (header or b"").partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self._token)


def http_app(server: MCPServer, *, host: str, token: str | None) -> ASGIApp:
    """The streamable HTTP app, behind the bearer token when there is one."""
    app: ASGIApp = server.streamable_http_app(host=host)
    return BearerToken(app, token) if token else app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="countersign-mcp", description=__doc__.split("\n\n")[0])
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="with --http (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="with --http (default 8765)")
    parser.add_argument("--token", default=None, help="with --http: the bearer token callers must send; required "
                                                      "off loopback (default: COUNTERSIGN_MCP_TOKEN)")
    args = parser.parse_args(argv)
    if not os.environ.get("COUNTERSIGN_API_KEY"):
        parser.error("set COUNTERSIGN_API_KEY (the agent's key) and COUNTERSIGN_URL (the Countersign server)")
    token = args.token or os.environ.get("COUNTERSIGN_MCP_TOKEN") or None
    if args.http and token is None and not is_loopback(args.host):
        parser.exit(2, f"countersign-mcp: refusing to serve {args.host} without a bearer token: anyone who reaches "
                       "it would act with this agent's key; pass --token or set COUNTERSIGN_MCP_TOKEN\n")
    server = build_server()
    if args.http:
        import uvicorn  # installed with mcp

        uvicorn.run(http_app(server, host=args.host, token=token), host=args.host, port=args.port, log_level="info")
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
