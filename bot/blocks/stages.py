"""The approval workflow on a draft card: which stage is open ("Stage 2 of 2: finance"), who approved the
earlier ones, the claim with Claim / Release, Assign to…, and the stage's SLA. Pure builders over a DraftCard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import ids
from bot.blocks.common import button, clip, context, escape, plain, section, user
from services.drafts.models import DraftCard

Block = dict[str, Any]  # pieces of a draft card, not messages of their own


def _names(people: list[str]) -> str:
    return ", ".join(user(p) for p in people[:10]) or "nobody"


def moved_on(draft: DraftCard, shown: int) -> Block:
    """An earlier stage's card while the draft waits further on: where it went, and who passed this stage."""
    if not 0 <= shown < len(draft.stages):
        return section(f":arrow_right: The draft is now at *{escape(clip(draft.stage_label, 120))}*.")
    stage = draft.stages[shown]
    return section(f":white_check_mark: *{escape(clip(stage.name, 60))}* passed ({_names(stage.approved_by)}); "
                   f"the draft is now at *{escape(clip(draft.stage_label, 120))}*.")


def workflow(draft: DraftCard) -> list[Block]:
    """The open stage, earlier approvers and the SLA (nothing for a single stage without an SLA)."""
    if not draft.stages:
        return []
    at = min(draft.stage_index, len(draft.stages) - 1)
    stage = draft.stages[at]
    lines = []
    if len(draft.stages) > 1:
        lines.append(f":arrow_right: *{escape(clip(draft.stage_label, 120))}*")
        lines += [f"• {escape(clip(s.name, 60))}: approved by {_names(s.approved_by)}"
                  for s in draft.stages[:at] if s.status == "passed"]
    if stage.sla_s and stage.opened_at and draft.status == "pending":
        due = stage.opened_at + timedelta(seconds=stage.sla_s)
        lines.append(f":stopwatch: SLA: decide by {due:%Y-%m-%d %H:%M} UTC, or it escalates")
    if stage.escalated_to:
        lines.append(f":rotating_light: escalated to {_names(stage.escalated_to)}")
    return [context(*lines[:10])] if lines else []


def claim(draft: DraftCard) -> list[Block]:
    """Who is on it, with Claim or Release beside it, and Assign to… (a claim is a signal, not a lock)."""
    value = draft.id
    if draft.claimed_by:
        line = section(f":raising_hand: Claimed by {user(draft.claimed_by)}")
        line["accessory"] = button("Release", ids.DRAFT_RELEASE, value)
    else:
        line = section("Nobody has claimed this yet.")
        line["accessory"] = button("Claim", ids.DRAFT_CLAIM, value)
    assign = section("Hand it to another decider of this stage:")
    assign["accessory"] = {"type": "users_select", "action_id": ids.DRAFT_ASSIGN,
                           "placeholder": plain("Assign to…", 150)}
    assign["block_id"] = f"assign:{clip(value, 200, '')}"
    return [line, assign]
