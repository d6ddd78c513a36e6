"""Build signed Slack requests (slack-facts.md section 1) so tests can POST
to the app's /slack/events exactly as Slack would."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import quote, urlencode

FORM = "application/x-www-form-urlencoded"

# Fields Slack sends with every slash command (slack-facts.md 2c); ids match FakeSlack's defaults.
SLASH_DEFAULTS: dict[str, str] = {
    "token": "verification_token", "team_id": "T0TEAM", "team_domain": "example",
    "channel_id": "C0AAA1111", "channel_name": "general", "user_id": "U0AAA1111", "user_name": "jdoe",
    "command": "/countersign", "text": "", "response_url": "https://hooks.slack.com/commands/T0TEAM/1/x",
    "trigger_id": "13345224609.738474920.8088930838d88f008e0", "api_app_id": "A0APP",
}


def slack_signature(secret: str, timestamp: int | str, body: str | bytes) -> str:
    raw = body.decode() if isinstance(body, bytes) else body
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:{raw}".encode(), hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: str | bytes, timestamp: int | str | None = None,
                   content_type: str = FORM) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"X-Slack-Signature": slack_signature(secret, ts, body),
            "X-Slack-Request-Timestamp": ts, "Content-Type": content_type}


def block_actions_body(payload: dict) -> str:
    """Form body for any interactive payload (block_actions, view_submission, ...)."""
    return "payload=" + quote(json.dumps(payload))


def slash_command_body(*, defaults: bool = True, **fields: str | None) -> str:
    """Urlencoded slash command; fields override SLASH_DEFAULTS, None drops a field."""
    merged = {**SLASH_DEFAULTS, **fields} if defaults else dict(fields)
    return urlencode({k: v for k, v in merged.items() if v is not None})
