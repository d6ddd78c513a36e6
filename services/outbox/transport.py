"""How the sender reaches Slack, without knowing Slack's SDK: bot/ supplies the implementation."""

from __future__ import annotations

from typing import Any, Protocol


class SlackTransport(Protocol):
    async def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """Call one Web API method; return the response body or raise one of the errors below."""
        ...


class SlackDeliveryError(Exception):
    pass


class SlackRateLimited(SlackDeliveryError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


class SlackTransientError(SlackDeliveryError):
    """5xx, network trouble, Slack-side hiccups: try again later."""


class SlackPermanentError(SlackDeliveryError):
    """Slack said no for a reason retrying will not fix (channel_not_found, invalid_blocks, …)."""
