"""build_app(): the Bolt AsyncApp over a Web API client pointed at SLACK_API_URL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners import payloads, register_listeners
from services.config import Settings
from services.context import AppContext

log = logging.getLogger("countersign.slack")
BOLT_LOG = "countersign.bolt"


class Client(AsyncWebClient):
    """The bot's Web API client. While the app runs it shares one aiohttp session (kept-alive connections) across
    every call, Bolt's per-request copies included, where slack_sdk would open a session and a connection per
    call. A session belongs to the loop it was opened in, so a call from any other loop (a second test client,
    a CLI's own asyncio.run) gets the one-off session slack_sdk makes by default."""

    _shared: tuple[aiohttp.ClientSession, asyncio.AbstractEventLoop] | None = None

    @property  # type: ignore[override]
    def session(self) -> aiohttp.ClientSession | None:
        shared = self._shared
        if shared is None or shared[0].closed:
            return None
        try:
            return shared[0] if asyncio.get_running_loop() is shared[1] else None
        except RuntimeError:
            return None

    @session.setter
    def session(self, value: aiohttp.ClientSession | None) -> None:
        self._shared = None if value is None else (value, asyncio.get_running_loop())


def make_client(settings: Settings) -> Client:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = Client(token=token, base_url=settings.slack_api_url, timeout=15)
    client.retry_handlers = [AsyncConnectionErrorRetryHandler(max_retry_count=1)]
    return client


@asynccontextmanager
async def shared_session(client: AsyncWebClient) -> AsyncIterator[None]:
    """Open the session `client` shares while the app runs, in the running loop, and close it at the end. Only a
    `Client` keeps its session to the loop that opened it, so any other client (one a caller handed in) keeps
    slack_sdk's session per call."""
    if not isinstance(client, Client):
        yield
        return
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout))
    client.session = session
    try:
        yield
    finally:
        client.session = None
        await session.close()


class _ClientTokenWarning(logging.Filter):
    """AsyncApp reads SLACK_BOT_TOKEN from the environment even when handed a client, then warns that the token
    is unused. Our client was built from that same token, so the warning says nothing true: drop just it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(ctx: AppContext, client: AsyncWebClient) -> AsyncApp:
    settings = ctx.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    bolt_log = logging.getLogger(BOLT_LOG)
    quiet = _ClientTokenWarning()
    bolt_log.addFilter(quiet)
    try:
        app = AsyncApp(
            client=client,
            signing_secret=secret or "unset-signing-secret",
            # Without a secret, HTTP requests are refused before Bolt (see services.main); Socket Mode needs none.
            request_verification_enabled=secret is not None,
            process_before_response=False,
            logger=bolt_log,
        )
    finally:
        bolt_log.removeFilter(quiet)
    payloads.install(app)
    register_listeners(app, ctx)
    return app
