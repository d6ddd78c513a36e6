"""The outbox's way to Slack: slack_sdk's AsyncWebClient, with Slack's errors sorted into retry or give up."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from services.outbox.transport import SlackPermanentError, SlackRateLimited, SlackTransientError

# ok:false errors that a later attempt may well get past.
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
                    "team_added_to_org"}


class SlackWebTransport:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            if method == "files.upload_v2":
                response = await self._upload(args)
            else:
                response = await self.client.api_call(method, json=args)
        except SlackApiError as exc:
            raise _classify(exc) from None
        except (TimeoutError, aiohttp.ClientError, SlackRequestError, OSError) as exc:
            raise SlackTransientError(f"{type(exc).__name__}: {exc}") from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def _upload(self, args: dict[str, Any]) -> Any:
        """The two-step external upload; the outbox stores the file as base64 in the row."""
        content = base64.b64decode(args["content_b64"])
        return await self.client.files_upload_v2(
            content=content,
            filename=args.get("filename", "file"),
            title=args.get("title"),
            channel=args.get("channel"),
            initial_comment=args.get("initial_comment"),
            thread_ts=args.get("thread_ts"),
        )


def _classify(exc: SlackApiError) -> Exception:
    status = exc.response.status_code
    error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
    if status == 429:
        retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after") or "1"
        try:
            return SlackRateLimited(float(retry_after))
        except ValueError:
            return SlackRateLimited(1.0)
    if status >= 500 or error in TRANSIENT_ERRORS:
        return SlackTransientError(f"HTTP {status}: {error}")
    return SlackPermanentError(f"{error or 'HTTP ' + str(status)}")
