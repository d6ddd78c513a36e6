"""Small pure helpers every builder uses to stay within Slack's limits, truncating visibly."""

from __future__ import annotations

import re
from typing import Any

from services.text import visible

SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
HEADER_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
MAX_BLOCKS = 50
MESSAGE_TEXT_MAX = 40000
ELLIPSIS = "… (truncated)"
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
CONVERSATION_ID = re.compile(r"^[CGS][A-Z0-9]{2,20}$")


def clip(text: str, limit: int, marker: str = ELLIPSIS) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))] + marker


def escape(text: str) -> str:
    """Slack's mrkdwn control characters, so user text can't forge mentions or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Every text object on a card or modal goes through these two: invisible and direction-changing characters are
# drawn visibly (services.text.visible) before the text is clipped to Slack's limits.
def mrkdwn(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(visible(text), limit) or " "}


def plain(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(visible(text), limit) or " ", "emoji": True}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, HEADER_MAX)}


def context(*texts: str) -> dict[str, Any]:
    elements = [mrkdwn(t, FIELD_TEXT_MAX) for t in texts if t][:10]
    return {"type": "context", "elements": elements or [mrkdwn(" ")]}


def button(text: str, action_id: str, value: str, *, style: str | None = None,
           confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, BUTTON_TEXT_MAX), "action_id": action_id,
                               "value": clip(value, BUTTON_VALUE_MAX, "")}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def actions(block_id: str, *elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)[:25]}


def user(user_id: str) -> str:
    """A mention for a real user id; anything else is shown as escaped text, so it can't forge a mention."""
    return f"<@{user_id}>" if USER_ID.match(user_id) else escape(user_id)


def escape_keeping_mentions(text: str) -> str:
    """Escaped, except the user mentions Countersign's own sentences carry (`<@U…>`): a sentence may quote
    user text, which must not be able to ping a channel or forge a link."""
    return re.sub(r"&lt;@([UW][A-Z0-9]{2,20})&gt;", r"<@\1>", escape(text))


def cap_blocks(blocks: list[dict[str, Any]], limit: int = MAX_BLOCKS) -> list[dict[str, Any]]:
    """Keep the last (actions) block when trimming, and say that something was left out."""
    if len(blocks) <= limit:
        return blocks
    kept = blocks[: limit - 2] + [context(f"_{len(blocks) - limit + 1} more blocks left out_")] + [blocks[-1]]
    return kept


def message(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"text": clip(visible(text), MESSAGE_TEXT_MAX), "blocks": cap_blocks(blocks)}
