"""build_app(): the Bolt AsyncApp over a Web API client pointed at SLACK_API_URL."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners import register_listeners
from services.config import Settings
from services.context import AppContext
from services.errors import CountersignError

log = logging.getLogger("countersign.slack")


def make_client(settings: Settings) -> AsyncWebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = AsyncWebClient(token=token, base_url=settings.slack_api_url, timeout=15)
    client.retry_handlers = [AsyncConnectionErrorRetryHandler(max_retry_count=1)]
    return client


def build_app(ctx: AppContext, client: AsyncWebClient) -> AsyncApp:
    settings = ctx.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = AsyncApp(
        client=client,
        signing_secret=secret or "unset-signing-secret",
        # Without a secret, HTTP requests are refused before Bolt (see services.main); Socket Mode needs none.
        request_verification_enabled=secret is not None,
        process_before_response=False,
        logger=logging.getLogger("countersign.bolt"),
    )

    @app.error
    async def polite_errors(error: Exception, body: dict[str, Any], respond: Any = None) -> None:
        if isinstance(error, CountersignError):
            text = f":warning: {error.detail}"
        else:
            log.error("Slack listener failed: %s", type(error).__name__, exc_info=error)
            text = ":warning: Something went wrong on our side; it has been logged. Please try again."
        if respond is not None and (body.get("response_url") or body.get("response_urls")):
            await respond(response_type="ephemeral", replace_original=False, text=text)

    register_listeners(app, ctx)
    return app
