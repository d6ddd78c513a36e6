"""create_app(): FastAPI plus its lifespan (outbox sender, scheduler, Socket Mode). The one place bot/ is
wired in: services/ otherwise knows nothing of Slack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, func, select, text

from services import migrations
from services.clock import Clock, SystemClock
from services.config import Settings, get_settings
from services.context import AppContext
from services.db import make_engine
from services.domains import domain_modules
from services.drafts.waiter import waiter_for
from services.events import Events
from services.http import limits, openapi, problems
from services.http.metrics import Metrics, MetricsMiddleware
from services.http.ratelimit import RateLimiter, RateLimitMiddleware
from services.http.strictjson import StrictJSONMiddleware
from services.llm import build_client as build_llm
from services.notify import Notifier
from services.outbox.models import OutboxMessage
from services.outbox.sender import OutboxSender
from services.scheduler import Job, start_scheduler
from services.wiring import build_events
from services.writer import writer_stats

log = logging.getLogger("countersign")


def default_notifier() -> Notifier:
    """Chat goes through Slack (written to the outbox); the CLI uses this too, so bot/ is wired only here."""
    from bot.notifier import SlackNotifier

    return SlackNotifier()


def build_context(settings: Settings, *, engine: Engine, clock: Clock | None = None, notifier: Notifier | None = None,
                  events: Events | None = None, llm: Any | None = None) -> AppContext:
    """The context every route, flow and job gets; the app, the CLI and the benchmarks all build it here.
    `llm`: an openai.OpenAI client (tests hand in one over a fake transport); None builds it from settings."""
    return AppContext(settings=settings, engine=engine, clock=clock or SystemClock(),
                      notifier=notifier if notifier is not None else default_notifier(),
                      events=events or build_events(), llm=llm if llm is not None else build_llm(settings))


def slack_group_members(settings: Settings) -> Callable[[str], Awaitable[frozenset[str]]] | None:
    """How the CLI learns a Slack user group's members (the same lookup a click uses); None with Slack off."""
    if not settings.slack_enabled:
        return None
    from bot.app import make_client
    from bot.groups import Directory

    return Directory(make_client(settings)).members


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
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    if migrate:
        migrations.upgrade(engine)
    ctx = build_context(settings, engine=engine, clock=clock, notifier=notifier, events=events, llm=llm)
    metrics = Metrics()
    metrics.add_gauges("countersign_outbox_depth", "Outbox rows waiting for delivery", lambda: _outbox_depth(engine),
                       "kind")
    metrics.add_gauges("countersign_long_polls", "Draft long-polls waiting in this process",
                       lambda: {"waiting": float(waiter_for(ctx).waiting)}, "state")
    metrics.add_gauges("countersign_writer", "Group commit: transactions committed and units carried (SQLite)",
                       lambda: writer_stats(engine), "count")

    slack_app, slack_handler, slack_transport = None, None, None
    if settings.slack_enabled:
        from bot.app import build_app, make_client
        from bot.groups import Directory
        from bot.http import SlackEndpoint
        from bot.transport import SlackWebTransport

        client = slack_client or make_client(settings)
        ctx.approver_groups = Directory(client)
        slack_app = build_app(ctx, client)
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        slack_handler = SlackEndpoint(slack_app, secret or "unset-signing-secret")
        slack_transport = SlackWebTransport(client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        # asyncio.to_thread runs Slack decisions and the outbox's database work; the stock pool (cores + 4
        # threads) made a click's decision queue behind the sender's on a two-core machine.
        loop.set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="countersign"))
        ctx.outbox_wakeup.loop = ctx.decision_wakeup.loop = loop
        own_http = http_client is None
        http = http_client or httpx.AsyncClient(follow_redirects=False)
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        scheduler = None
        socket_handler = None
        connecting: asyncio.Task[None] | None = None
        if run_background:
            sender = OutboxSender(engine=engine, clock=ctx.clock, slack=slack_transport, http=http,
                                  secret_key=ctx.secret_key, deny_private=settings.callback_deny_private,
                                  channel_interval_s=settings.slack_channel_interval_s
                                  if channel_interval_s is None else channel_interval_s,
                                  lease_s=settings.outbox_lease_s, heartbeat_s=settings.outbox_heartbeat_s)
            wake = ctx.outbox_wakeup.subscribe()
            tasks.append(asyncio.create_task(sender.run_forever(stop, wake)))
            if settings.scheduler_enabled:
                scheduler = start_scheduler(ctx, jobs)
        if slack_app is not None and settings.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            socket_handler = AsyncSocketModeHandler(slack_app, settings.slack_app_token.get_secret_value())  # type: ignore[union-attr]
            connecting = asyncio.create_task(_connect_socket_mode(socket_handler, stop))
        try:
            yield
        finally:
            stop.set()
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            for task in tasks:  # a task still busy after 5 s (a hung connect) is cancelled, not waited on
                with suppress(asyncio.CancelledError, asyncio.TimeoutError):
                    await asyncio.wait_for(task, timeout=5)
            if connecting is not None:
                connecting.cancel()  # a connect attempt in flight has nothing to finish
                with suppress(asyncio.CancelledError):
                    await connecting
            if socket_handler is not None:
                with suppress(Exception):  # closing a connection that never opened may raise; nothing to save
                    await socket_handler.close_async()
            if own_http:
                await http.aclose()

    app = FastAPI(title="Countersign", version="0.1.0", lifespan=lifespan,
                  description="Human checkpoints, accountable owners and budgets for AI agents.")
    app.state.ctx = ctx
    app.state.metrics = metrics
    problems.install(app)
    app.add_middleware(StrictJSONMiddleware)  # inside the body limit: it reads a bounded body
    app.add_middleware(limits.BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(ctx))  # before the body is read: a 429 costs nothing
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    for module in domain_modules("api"):
        app.include_router(module.router)
    from web.app import install as install_web  # the review web app at /app/ (and GET /)

    install_web(app, ctx)

    @app.get("/healthz", tags=["ops"], response_model=openapi.Health)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=openapi.Ready, responses=openapi.problems(503))
    def readyz() -> JSONResponse:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means "not ready"; the body says which
            return problems.problem(503, "Not ready", f"database unreachable: {type(exc).__name__}", slug="not-ready")
        return JSONResponse({"status": "ready", "database": "ok"})

    @app.get("/metrics", tags=["ops"], response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                              "description": "Prometheus text format"}})
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        if slack_handler is None:
            return problems.problem(503, "Slack is off", "SLACK_BOT_TOKEN is not set", slug="slack-off")
        if settings.slack_signing_secret is None:
            return problems.problem(503, "Slack requests refused", "SLACK_SIGNING_SECRET is not set",
                                    slug="slack-unverifiable")
        return await slack_handler.handle(request)

    app.state.slack_app = slack_app
    openapi.install(app)
    return app


async def _connect_socket_mode(handler: Any, stop: asyncio.Event) -> None:
    """Connect in the background, retrying: Slack being unreachable must not keep the API from starting."""
    delay = 1.0
    while not stop.is_set():
        try:
            await handler.connect_async()
            log.info("Socket Mode connected")
            return
        except Exception as exc:  # any failure to reach Slack: log it, wait, try again
            log.warning("Socket Mode connection failed (%s); retrying in %.0fs", type(exc).__name__, delay)
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, 60.0)


def _outbox_depth(engine: Engine) -> dict[str, float]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(OutboxMessage.kind, func.count()).where(OutboxMessage.status == "pending")  # type: ignore[arg-type]
            .group_by(OutboxMessage.kind)).all()
    depth = {"slack": 0.0, "callback": 0.0}
    depth.update({kind: float(count) for kind, count in rows})
    return depth


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
