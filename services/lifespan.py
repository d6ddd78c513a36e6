"""What runs beside the HTTP server for the app's lifetime: the outbox sender, the scheduler and, with an
`xapp-` token, Socket Mode. Started in the lifespan, stopped in reverse on the way out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from services.context import AppContext
from services.jobs import Job
from services.outbox.connect import callback_client
from services.outbox.sender import OutboxSender
from services.outbox.transport import SlackTransport
from services.scheduler import start_scheduler

log = logging.getLogger("countersign")


@dataclass
class Background:
    """What the lifespan starts. `socket_mode`: makes the Bolt Socket Mode handler to connect (inside the
    running loop: its aiohttp session needs one), or None for HTTP mode."""

    run: bool = True
    jobs: list[Job] | None = None
    slack: SlackTransport | None = None
    slack_connections: Callable[[], AbstractAsyncContextManager[None]] | None = None  # opened in the running loop
    socket_mode: Callable[[], Any] | None = None
    http_client: httpx.AsyncClient | None = None
    channel_interval_s: float | None = None


def make_lifespan(ctx: AppContext, background: Background) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    settings = ctx.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with background.slack_connections() if background.slack_connections else nullcontext():
            async with running():
                yield

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        # asyncio.to_thread runs Slack decisions and the outbox's database work; the stock pool (cores + 4
        # threads) made a click's decision queue behind the sender's on a two-core machine.
        loop.set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="countersign"))
        ctx.outbox_wakeup.loop = ctx.decision_wakeup.loop = loop
        http = background.http_client or callback_client(resolver=ctx.resolver,
                                                         deny_private=settings.callback_deny_private)
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        scheduler = None
        connecting: asyncio.Task[None] | None = None
        socket_handler = background.socket_mode() if background.socket_mode is not None else None
        if background.run:
            interval = background.channel_interval_s
            if interval is None:
                interval = settings.slack_channel_interval_s
            sender = OutboxSender(engine=ctx.engine, clock=ctx.clock, slack=background.slack, http=http,
                                  secret_key=ctx.secret_key, deny_private=settings.callback_deny_private,
                                  channel_interval_s=interval,
                                  lease_s=settings.outbox_lease_s, heartbeat_s=settings.outbox_heartbeat_s)
            tasks.append(asyncio.create_task(sender.run_forever(stop, ctx.outbox_wakeup.subscribe(),
                                                                handoff=ctx.outbox_handoff)))
            if settings.scheduler_enabled:
                scheduler = start_scheduler(ctx, background.jobs)
        if socket_handler is not None:
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
            if background.http_client is None:
                await http.aclose()

    return lifespan


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
