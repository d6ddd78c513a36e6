"""FastAPI dependencies as Annotated aliases: the context, the calling agent, the admin."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Path, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer

from services.agents import cache as agent_cache
from services.agents.models import Agent, AgentSnapshot
from services.cache import StaleRead
from services.context import AppContext
from services.errors import AgentPaused, Unauthorized, Unavailable


async def get_ctx(request: Request) -> AppContext:
    # async (like the two below): a plain function would cost a hop to the thread pool per dependency
    return request.app.state.ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("missing Authorization: Bearer <token> header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


class DeclaredBearer(HTTPBearer):
    """A bearer scheme declared for the OpenAPI document (and the clients generated from it) and nothing more:
    it never refuses and reads nothing (the checks below read the header, with problem+json saying why), so a
    request does not pay for parsing the header into credentials no route looks at."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


AGENT_KEY = DeclaredBearer(scheme_name="agentKey", auto_error=False, description="an agent's API key (cs_agent_…)")
ADMIN_TOKEN = DeclaredBearer(scheme_name="adminToken", auto_error=False, description="COUNTERSIGN_ADMIN_TOKEN")
AgentBearer = Annotated[None, Security(AGENT_KEY)]
AdminBearer = Annotated[None, Security(ADMIN_TOKEN)]


# The dependencies below take the context from the request rather than through Ctx: each nested dependency is
# solved on every request (Ctx's cache does not spare the walk), and the routes ask for Ctx themselves.
async def get_agent(request: Request, _: AgentBearer) -> AgentSnapshot:
    ctx: AppContext = request.app.state.ctx
    token = _bearer(request.headers.get("authorization"))
    hit, agent = agent_cache.cached(ctx=ctx, api_key=token)  # writes re-check it: services.agents.cache
    if not hit:  # a database read: off the event loop
        agent = await run_in_threadpool(agent_cache.by_key, ctx=ctx, api_key=token)
    if agent is None:
        raise Unauthorized("unknown or revoked API key")
    return agent


CurrentAgent = Annotated[AgentSnapshot, Depends(get_agent)]


def paused_error(agent: Agent | AgentSnapshot) -> AgentPaused:
    why = f": {agent.paused_reason}" if agent.paused_reason else ""
    return AgentPaused(
        f"agent {agent.name!r} is paused by {agent.paused_by or 'unknown'}{why}",
        extra={"paused_by": agent.paused_by, "paused_reason": agent.paused_reason,
               "paused_at": agent.paused_at.isoformat() if agent.paused_at else None},
    )


async def _agent_for_write(request: Request, ctx: AppContext, *, checked_in_write: bool) -> AgentSnapshot:
    """Writes from a paused agent are refused with 423, saying who paused it and why. A cached agent is looked at
    again first (services.agents.cache.current, one indexed read), so a pause or resume made on another replica or
    from the CLI holds at once; `checked_in_write`: the route's write checks the version in its own transaction
    (write_as), so only a cached "paused" needs the look."""
    token = _bearer(request.headers.get("authorization"))
    hit, agent = agent_cache.cached(ctx=ctx, api_key=token)
    if not hit:
        agent = await run_in_threadpool(agent_cache.by_key, ctx=ctx, api_key=token)
    elif agent is not None and (agent.status == "paused" or not checked_in_write):
        agent = await run_in_threadpool(agent_cache.current, ctx=ctx, api_key=token, agent=agent)
    if agent is None:
        raise Unauthorized("unknown or revoked API key")
    if agent.status == "paused":
        raise paused_error(agent)
    return agent


async def get_writable_agent(request: Request, _: AgentBearer) -> AgentSnapshot:
    return await _agent_for_write(request, request.app.state.ctx, checked_in_write=False)


async def get_agent_writing_through_write_as(request: Request, _: AgentBearer) -> AgentSnapshot:
    return await _agent_for_write(request, request.app.state.ctx, checked_in_write=True)


WritingAgent = Annotated[AgentSnapshot, Depends(get_writable_agent)]
# For routes whose write goes through write_as with agent_cache.in_session: no extra read for an active agent.
CheckedWritingAgent = Annotated[AgentSnapshot, Depends(get_agent_writing_through_write_as)]
T = TypeVar("T")


def write_as(ctx: AppContext, agent: AgentSnapshot, attempt: Callable[[AgentSnapshot], T], *, tries: int = 3) -> T:
    """Run `attempt(agent)` (decide, then write in ctx.uow()); when the write finds the agent changed since it was read
    (StaleRead), read it again past the cache, refuse with 401 or 423 if it must be, and try again."""
    for _ in range(tries - 1):
        try:
            return attempt(agent)
        except StaleRead:
            fresh = agent_cache.reload(ctx=ctx, agent=agent)
            if fresh is None:
                raise Unauthorized("unknown or revoked API key") from None
            if fresh.status == "paused":
                raise paused_error(fresh) from None
            agent = fresh
    try:
        return attempt(agent)
    except StaleRead:  # changed under every try: tell the caller to retry rather than fail with a 500
        raise Unavailable("the agent changed while this request was being written; retry it") from None


async def require_admin(request: Request, _: AdminBearer) -> None:
    configured = request.app.state.ctx.settings.admin_token
    if configured is None or not configured.get_secret_value():
        raise Unauthorized("the admin API is disabled: COUNTERSIGN_ADMIN_TOKEN is not set")
    token = _bearer(request.headers.get("authorization"))
    if not hmac.compare_digest(token.encode(), configured.get_secret_value().encode()):
        raise Unauthorized("wrong admin token")


Admin = Depends(require_admin)
IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key")]
# A row id in a path: beyond a 64-bit integer it names nothing (and would overflow the database driver: a 500).
RowId = Annotated[int, Path(ge=-(2**63), le=2**63 - 1)]
