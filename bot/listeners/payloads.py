"""Signed payloads that are not shaped as Slack sends them: refused with 400 and a log line, before any listener.

A signature proves the request came from someone holding the signing secret, not that its JSON is sane; a
listener that reads `body["user"]["id"]` must be able to trust it is there. Checked here once, for every kind.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.internals import parse_body
from slack_bolt.response import BoltResponse

log = logging.getLogger("countersign.slack")

SLACK_ID = re.compile(r"^[A-Z][A-Z0-9]{2,30}$")  # what Slack's ids look like; nothing mrkdwn could misread
WITH_USER = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion")


def _str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _id(value: Any) -> bool:
    return isinstance(value, str) and SLACK_ID.match(value) is not None


def problem(body: Any) -> str | None:
    """Why `body` is not a payload Slack would send, or None when its shape is sound."""
    if not isinstance(body, dict):
        return f"the payload is a {type(body).__name__}, not an object"
    kind = body.get("type")
    if kind in WITH_USER and not (isinstance(body.get("user"), dict) and _id(body["user"].get("id"))):
        return f"{kind} without a user.id shaped like a Slack id"
    if "team" in body and body["team"] is not None and not isinstance(body["team"], dict):
        return "team is not an object"
    if kind == "block_actions":
        acts = body.get("actions")
        if not isinstance(acts, list) or not acts or not all(isinstance(a, dict) and _str(a.get("action_id"))
                                                             for a in acts):
            return "block_actions without a list of actions, each with an action_id"
        if any(a.get("value") is not None and not isinstance(a["value"], str) for a in acts):
            return "an action's value is not a string"
        for key in ("container", "channel", "message"):
            if body.get(key) is not None and not isinstance(body[key], dict):
                return f"{key} is not an object"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict):
            return f"{kind} without a view"
        state = view.get("state")
        if state is not None and not (isinstance(state, dict) and isinstance(state.get("values", {}), dict)):
            return "view.state.values is not an object"
        if view.get("private_metadata") is not None and not isinstance(view["private_metadata"], str):
            return "view.private_metadata is not a string"
    if "command" in body and not (_id(body.get("user_id")) and _id(body.get("channel_id"))
                                  and isinstance(body.get("text", ""), str)):
        return "a slash command without user_id, channel_id or text"
    if kind == "event_callback" and not isinstance(body.get("event"), dict):
        return "event_callback without an event"
    return None


def install(app: AsyncApp) -> None:
    """A global middleware, for Socket Mode (HTTP bodies are checked first by bot.http): it runs after Bolt
    verified the request, before any listener matches."""

    @app.middleware
    async def refuse_malformed(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        why = problem(body)
        if why is None:
            return await next()
        log.warning("refused a signed but malformed Slack payload: %s", why)
        return BoltResponse(status=400, body="")


def raw_problem(raw: str, content_type: str | None) -> str | None:
    """Why this HTTP body is not a payload Slack would send (parsed as Bolt parses it), or None.

    Checked before Bolt sees the body: Bolt raises on some shapes (a view that is not an object) while building
    its own arguments, before any middleware of ours could answer."""
    try:
        parsed = parse_body(raw, content_type)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return f"unparsable payload ({type(exc).__name__})"
    return problem(parsed)
