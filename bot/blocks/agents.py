"""Messages about an agent's state: paused and resumed notices for the owner."""

from __future__ import annotations

from typing import Any

from bot.blocks.common import escape, message, section, user


def paused_notice(*, agent_name: str, by: str, reason: str | None) -> dict[str, Any]:
    who = user(by)
    why = f"\n>{escape(reason)}" if reason else ""
    text = (f":double_vertical_bar: *{escape(agent_name)}* was paused by {who}. "
            f"Its writes are refused until resumed.{why}")
    return message(escape(f"{agent_name} was paused"), [section(text)])


def resumed_notice(*, agent_name: str, by: str) -> dict[str, Any]:
    who = user(by)
    return message(escape(f"{agent_name} was resumed"),
                   [section(f":arrow_forward: *{escape(agent_name)}* was resumed by {who}.")])
