"""People away in Slack: the App Home's section (your absence, whom you stand in for) and the modal that sets
an absence. Pure builders."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot import ids
from bot.blocks.common import actions, button, context, section, user
from services.people.models import AwayPublic


def _when(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def away_section(*, mine: AwayPublic | None, standing_in: list[str]) -> list[dict[str, Any]]:
    if mine is not None:
        blocks = [section(f"*You are away* until {_when(mine.until)}; {user(mine.delegate)} stands in for you."),
                  actions(ids.PEOPLE_BLOCK, button("I'm back", ids.PEOPLE_BACK, "back", style="primary"))]
    else:
        blocks = [section("*Going away?* Your delegate gets your DMs, reminders, pages and escalations, and may "
                          "decide wherever you could, until you are back."),
                  actions(ids.PEOPLE_BLOCK, button("Set away…", ids.PEOPLE_SET_AWAY, "away"))]
    if standing_in:
        blocks.append(context("You stand in for " + ", ".join(user(u) for u in standing_in) + "."))
    return blocks


def away_modal(*, now: datetime) -> dict[str, Any]:
    """Until when, and who stands in; the datetime picker defaults to a week from now."""
    return {
        "type": "modal", "callback_id": ids.PEOPLE_AWAY_VIEW,
        "title": {"type": "plain_text", "text": "Set away"},
        "submit": {"type": "plain_text", "text": "Set away"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": ids.PEOPLE_UNTIL_BLOCK, "label": {"type": "plain_text", "text": "Until"},
             "element": {"type": "datetimepicker", "action_id": ids.PEOPLE_UNTIL_INPUT,
                         "initial_date_time": int((now + timedelta(days=7)).timestamp())}},
            {"type": "input", "block_id": ids.PEOPLE_DELEGATE_BLOCK,
             "label": {"type": "plain_text", "text": "Delegate"},
             "element": {"type": "users_select", "action_id": ids.PEOPLE_DELEGATE_INPUT,
                         "placeholder": {"type": "plain_text", "text": "Who stands in for you"}}},
        ],
    }
