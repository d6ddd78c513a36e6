"""The startup summary's Slack line: the token is tried with auth.test, so a wrong or revoked one is said at
once ("token refused (invalid_auth)") rather than found at the first card that never arrives."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import WebClient

from services.config import Settings

TIMEOUT_S = 5


def slack_line(settings: Settings) -> str:
    if not settings.slack_enabled or settings.slack_bot_token is None:
        return settings.slack_status()
    client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url,
                       timeout=TIMEOUT_S)
    try:
        who = client.auth_test()
    except SlackApiError as exc:
        return f"token refused ({exc.response.get('error') or exc.response.status_code})"
    except (SlackClientError, OSError) as exc:  # unreachable, DNS, TLS: Slack may come back; deliveries wait
        return f"{settings.slack_status()}; but auth.test could not reach Slack ({type(exc).__name__})"
    return f"{settings.slack_status()}, as @{who.get('user')} in {who.get('team')}"
