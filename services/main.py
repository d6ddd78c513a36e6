"""create_app(): the service assembled from its parts (context, Slack, background work in services.lifespan,
middleware, routes, the web app, ops in services.http.ops). With services.assembly (which picks the context's
Slack notifier), the composition root: the only modules of services/ that import bot/ or web/, which the rest of
services/ knows nothing of (tests/test_layering.py holds the line)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from services import migrations
from services.assembly import build_context
from services.clock import Clock
from services.config import Settings, get_settings
from services.context import AppContext
from services.db import make_engine
from services.domains import domain_modules
from services.events import Events
from services.http import docs, limits, openapi, problems
from services.http.admission import RateLimitMiddleware
from services.http.inflight import InflightMiddleware
from services.http.metrics import MetricsMiddleware
from services.http.ops import build_metrics, install_ops
from services.http.ratelimit import RateLimiter
from services.http.strictjson import StrictJSONMiddleware
from services.jobs import Job
from services.lifespan import Background, make_lifespan
from services.notify import Notifier
from services.outbox.transport import SlackTransport
from services.outbox.urls import Resolver
from web.app import install as install_web

log = logging.getLogger("countersign")


@dataclass
class SlackParts:
    """Slack as the app uses it: the Bolt app, the verified HTTP endpoint for it, and the outbox's transport."""

    app: Any
    endpoint: Any
    transport: SlackTransport
    connections: Callable[[], AbstractAsyncContextManager[None]]  # the client's HTTP session, for the lifespan


def wire_slack(ctx: AppContext, client: Any | None) -> SlackParts | None:
    """Build the Slack side with one bot client and give the domain its membership directory; None when off."""
    settings = ctx.settings
    if not settings.slack_enabled:
        return None
    from bot.app import build_app, make_client, shared_session
    from bot.groups import Directory
    from bot.http import SlackEndpoint
    from bot.transport import SlackWebTransport

    client = client or make_client(settings)
    ctx.approver_groups = Directory(client)
    slack_app = build_app(ctx, client)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    return SlackParts(slack_app, SlackEndpoint(slack_app, secret or "unset-signing-secret"), SlackWebTransport(client),
                      lambda: shared_session(client))


def socket_mode_handler(settings: Settings, slack: SlackParts | None) -> Callable[[], Any] | None:
    """What makes the Socket Mode handler in the lifespan, when an `xapp-` token asks for Socket Mode."""
    if slack is None or not settings.socket_mode:
        return None
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    token = settings.slack_app_token.get_secret_value()  # type: ignore[union-attr]
    return lambda: AsyncSocketModeHandler(slack.app, token)


def install_slack_route(app: FastAPI, settings: Settings, slack: SlackParts | None) -> None:
    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        if slack is None:
            return problems.problem(503, "Slack is off", "SLACK_BOT_TOKEN is not set", slug="slack-off")
        if settings.slack_signing_secret is None:
            return problems.problem(503, "Slack requests refused", "SLACK_SIGNING_SECRET is not set",
                                    slug="slack-unverifiable")
        return await slack.endpoint.handle(request)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    slack_client: Any | None = None,
    http_client: httpx.AsyncClient | None = None,
    run_background: bool = True,
    jobs: list[Job] | None = None,
    migrate: bool = True,
    channel_interval_s: float | None = None,
    events: Events | None = None,
    llm: Any | None = None,
    resolver: Resolver | None = None,
) -> FastAPI:
    """The whole service: context, Slack, background work, middleware, the API, the web app and ops routes.
    Tests hand in what they fake (engine, clock, notifier, Slack client, HTTP client, jobs, events, LLM)."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    if migrate:
        migrations.upgrade(engine)
    ctx = build_context(settings, engine=engine, clock=clock, notifier=notifier, events=events, llm=llm,
                        resolver=resolver)
    slack = wire_slack(ctx, slack_client)
    background = Background(run=run_background, jobs=jobs, slack=slack.transport if slack else None,
                            slack_connections=slack.connections if slack else None,
                            socket_mode=socket_mode_handler(settings, slack), http_client=http_client,
                            channel_interval_s=channel_interval_s)
    app = FastAPI(title="Countersign", version="0.1.0", lifespan=make_lifespan(ctx, background),
                  docs_url=None, redoc_url=None,  # served by services.http.docs, with no CDN
                  description="Human checkpoints, accountable owners and budgets for AI agents.")
    metrics = build_metrics(ctx)
    app.state.ctx, app.state.metrics, app.state.slack_app = ctx, metrics, slack.app if slack else None
    problems.install(app)
    # Outermost last: metrics see every answer; a 429 is decided before the body is read; an agent key's writes
    # past its in-flight cap wait their turn on the loop, after the rate limit and before any body or thread; the
    # body limit holds before strict JSON parses a bounded body.
    app.add_middleware(StrictJSONMiddleware)
    app.add_middleware(limits.BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(InflightMiddleware, settings=settings)
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(ctx))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    for module in domain_modules("api"):
        app.include_router(module.router)
    install_web(app, ctx)  # the review web app at /app/ (and GET /)
    install_ops(app, engine=engine, metrics=metrics)
    install_slack_route(app, settings, slack)
    openapi.install(app)
    docs.install(app)
    return app


def startup_summary(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    from bot.startup import slack_line  # asks Slack's auth.test: the token is checked before "on" is said

    url = make_url(settings.database_url)
    sqlite = url.get_backend_name() == "sqlite"
    db = f"{url.get_backend_name()} ({url.database})" if sqlite else url.render_as_string(hide_password=True)
    return "\n".join([
        "Countersign",
        f"  database:  {db}",
        f"  slack:     {slack_line(settings)}",
        f"  listening: http://{settings.host}:{settings.port}",
        f"  admin API: {'on' if settings.admin_token else 'off (COUNTERSIGN_ADMIN_TOKEN unset)'}",
        f"  timezone:  {settings.timezone}",
    ])
