"""Acting as Slack against a live server: signed block_actions for a posted card's own button."""

from __future__ import annotations

import time
from typing import Any

from testkit.fakes.signing import block_actions_body, signed_headers
from testkit.live import SIGNING_SECRET
from testkit.load import Request


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for block in message.get("blocks") or []:
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if isinstance(element, dict) and element.get("type") == "button" and element.get("action_id"):
                found.append({**element, "_block_id": block.get("block_id", "")})
    return found


def pick_button(message: dict[str, Any], prefer: str = "approve") -> dict[str, Any] | None:
    """The button a reviewer would press: one whose action id mentions `prefer`, else the first."""
    found = buttons(message)
    return next((b for b in found if prefer in b["action_id"]), found[0] if found else None)


def click_request(message: dict[str, Any], button: dict[str, Any], *, user: str, response_url: str,
                  team: str = "T0TEAM", secret: str = SIGNING_SECRET) -> Request:
    """The request Slack sends when `user` presses `button` on `message`, signed now."""
    channel = message["channel"]
    payload = {
        "type": "block_actions", "team": {"id": team, "domain": "example"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": "A0APP", "token": "verification_token", "trigger_id": f"trigger-{time.time_ns()}",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "review"}, "enterprise": None, "is_enterprise_install": False,
        "message": {"type": "message", "ts": message["ts"], "text": message.get("text", ""),
                    "blocks": message.get("blocks") or []},
        "state": {"values": {}}, "response_url": response_url,
        "actions": [{"action_id": button["action_id"], "block_id": button.get("_block_id", ""),
                     "text": button.get("text"), "value": button.get("value"), "type": "button",
                     "action_ts": f"{time.time():.6f}"}],
    }
    body = block_actions_body(payload)
    return Request("POST", "/slack/events", content=body.encode(), headers=signed_headers(secret, body))
