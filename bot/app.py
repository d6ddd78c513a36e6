"""build_app(): the Bolt AsyncApp over a Web API client pointed at SLACK_API_URL."""

from __future__ import annotations

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


def make_client(settings: Settings) -> AsyncWebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = AsyncWebClient(token=token, base_url=settings.slack_api_url, timeout=15)
    client.retry_handlers = [AsyncConnectionErrorRetryHandler(max_retry_count=1)]
    return client


@asynccontextmanager
async def shared_session(client: AsyncWebClient) -> AsyncIterator[None]:
    """One aiohttp session for every Web API call `client` (and Bolt's per-request copies of it) makes while the
    app runs: kept-alive connections, where slack_sdk would otherwise open a session and a connection per call.
    Opened inside the running loop, which the session belongs to."""
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
