"""Draft cards and modals: pure builders from a DraftCard (services.drafts.models: the public draft plus what
only the card needs) to Block Kit. Any text at all stays within Slack's limits, truncated visibly."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from bot import ids
from bot.blocks import stages
from bot.blocks.common import actions, button, clip, context, escape, header, message, plain, section
from services.drafts.models import DraftCard

CARD_BODY_MAX = 2800  # of a section's 3,000, leaving room for the label and the code fence
INPUT_MAX = 3000  # plain_text_input max_length
EDIT_PARTS_MAX = 20  # 60,000 characters in one modal stays far below Slack's view size limit
CONTEXT_ITEMS_MAX = 8
PENDING_MAX = 40
OUTCOMES = {
    "approved": ":white_check_mark: *Approved*",
    "edited": ":pencil2: *Approved with edits*",
    "rejected": ":x: *Rejected*",
    "expired": ":hourglass: *Expired*",
    "auto_approved": ":robot_face: *Auto-approved*",
    "cancelled": ":no_entry_sign: *Cancelled by the agent*",
}
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_URL = re.compile(r"^https?://[^\s<>|]{1,1500}$")


def _who(user_id: str) -> str:
    """A mention for a real user id; anything else shown as text, so it can't forge a mention."""
    return f"<@{user_id}>" if _USER_ID.match(user_id) else escape(clip(user_id, 40))


def _people(user_ids: list[str]) -> str:
    shown = [_who(u) for u in user_ids[:10]]
    more = f" and {len(user_ids) - 10} more" if len(user_ids) > 10 else ""
    return (", ".join(shown) or "nobody") + more


def _date(when: datetime | None) -> str:
    """A timestamp every reader sees in their own time zone, with the UTC text as the fallback."""
    if when is None:
        return "—"
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{when:%Y-%m-%d %H:%M} UTC>"


def _link(url: str | None, text: str, max_url: int = 300) -> str:
    """A link around already escaped text; a `|` in the label would read as the link's own separator, so it is
    drawn as `∣` there."""
    return f"<{url}|{text.replace('|', '∣')}>" if url and len(url) <= max_url and _URL.match(url) else text


def _clip_escaped(text: str, limit: int) -> tuple[str, bool]:
    """Escape, then cut to `limit` without leaving half an entity (escaping can make text five times longer)."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped, False
    cut = escaped[:limit]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut, True


def _body_blocks(draft: DraftCard) -> list[dict[str, Any]]:
    text = draft.current_text
    label = "*Draft*"
    if draft.edited_by and draft.status == "pending":
        label = f"*Draft, as edited by {_who(draft.edited_by)}*"
    shown, cut = _clip_escaped(text.replace("```", "`\u200b``"), CARD_BODY_MAX)
    blocks = [section(f"{label}\n```{shown or ' '}```")]
    if cut:
        blocks.append(context(f":scissors: The card shows the beginning of this {len(text):,}-character draft. "
                              "*Edit* shows the full text."))
    return blocks


def _facts(draft: DraftCard) -> list[dict[str, Any]]:
    first = [f"*Cost:* ${draft.cost_usd:.4f}" if draft.cost_usd is not None else "",
             f"*Model:* {escape(clip(draft.model, 200))}" if draft.model else "",
             f"*Prompt:* {escape(clip(draft.prompt_version, 200))}" if draft.prompt_version else "",
             f"*Confidence:* {draft.confidence:.0%}" if draft.confidence is not None else ""]
    second = [f"*Asked by:* {_who(draft.requested_by)}" if draft.requested_by else "",
              f"*Expires:* {_date(draft.expires_at)}", f"`{escape(clip(draft.id, 80))}`"]
    return ([context(*first)] if any(first) else []) + [context(*second)]


def _context_block(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Links first (trace_url and any URL value), then the other inputs, each clipped."""
    if not values:
        return []
    links, others = [], []
    for key, value in values.items():
        name = escape(clip(str(key), 60))
        if isinstance(value, str) and _URL.match(value):
            links.append(f":link: {_link(value, name, max_url=1500)}")
        else:
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
            others.append(f"*{name}:* {escape(clip(shown, 300))}")
    items = links + others
    if len(items) > CONTEXT_ITEMS_MAX:
        items = items[: CONTEXT_ITEMS_MAX - 1] + [f"_…and {len(items) - CONTEXT_ITEMS_MAX + 1} more_"]
    return [context(*items)]


def _status_block(draft: DraftCard) -> dict[str, Any]:
    if draft.status == "pending":
        text = (f":hourglass_flowing_sand: Waiting for a decision: {len(draft.approved_by)} of "
                f"{draft.approvals_required} approvals")
        return section(text + (f" ({_people(draft.approved_by)})" if draft.approved_by else ""))
    line = OUTCOMES.get(draft.status, f"*{escape(clip(draft.status, 40))}*")
    if draft.decided_by:
        line += f" by {_people(draft.decided_by)}"
    line += f" · {_date(draft.decided_at)}"
    if draft.reason:
        line += f"\n>{escape(clip(draft.reason, 1500))}"
    return section(line)


def _buttons(draft: DraftCard) -> dict[str, Any]:
    # "<id>:<revision>[:<stage>]": a first stage's card carries no stage (it reads as 0, as cards always did).
    value = f"{draft.id}:{draft.revision}" + (f":{draft.stage_index}" if draft.stage_index else "")
    confirm = None
    if draft.high_risk:
        confirm = {"title": plain("High-risk action", 100),
                   "text": {"type": "mrkdwn", "text": f"Approve *{escape(clip(draft.title, 150))}* as it stands?"},
                   "confirm": plain("Approve", 30), "deny": plain("Not yet", 30), "style": "danger"}
    return actions(ids.DRAFT_ACTIONS_BLOCK,
                   button("Approve", ids.DRAFT_APPROVE, value, style="primary", confirm=confirm),
                   button("Edit", ids.DRAFT_EDIT, value),
                   button("Reject", ids.DRAFT_REJECT, value, style="danger"))


def draft_card(draft: DraftCard, shown_stage: int | None = None) -> dict[str, Any]:
    """The review card: buttons while pending; the outcome, who and when once decided. `shown_stage`: the
    stage whose card this is; an earlier stage's card says where the draft went, without buttons."""
    risk = " · :warning: *high risk*" if draft.high_risk else ""
    blocks = [header(draft.title),
              section(f"*{escape(clip(draft.agent, 100))}* asks to *{escape(clip(draft.action, 100))}*{risk}")]
    blocks += _body_blocks(draft)
    if draft.review_reasons:
        reasons = "\n".join(f"• {escape(clip(r, 300))}" for r in draft.review_reasons[:8])
        blocks.append(section(f":mag: *A person must review this because:*\n{reasons}"))
    blocks += _facts(draft) + _context_block(draft.context)
    if draft.status == "pending" and shown_stage is not None and shown_stage < draft.stage_index:
        blocks.append(stages.moved_on(draft, shown_stage))
        return message(escape(f"{clip(draft.agent, 100)}: {clip(draft.title, 300)} (moved on)"), blocks)
    blocks += stages.workflow(draft)
    blocks.append(_status_block(draft))
    if draft.status == "pending":
        blocks.append(_buttons(draft))
        blocks += stages.claim(draft)
    outcome = "waiting for approval" if draft.status == "pending" else draft.status
    return message(escape(f"{clip(draft.agent, 100)}: {clip(draft.title, 300)} ({clip(outcome, 40)})"), blocks)


def _metadata(draft: DraftCard, channel: str | None, ts: str | None) -> str:
    """Where the decision goes: draft, the revision the person saw, the card (for ephemerals), JSON or not.
    Real ids are short; clipping only guards the 3,000-character limit against nonsense."""
    return json.dumps({"d": draft.id[:100], "r": draft.revision, "c": (channel or "")[:40] or None,
                       "t": (ts or "")[:40] or None, "j": draft.body_is_json}, separators=(",", ":"))


def _split(text: str) -> list[str]:
    return [text[i: i + INPUT_MAX] for i in range(0, len(text), INPUT_MAX)] or [""]


def edit_modal(draft: DraftCard, *, channel: str | None, ts: str | None) -> dict[str, Any] | None:
    """The edit modal prefilled with the whole text, split over several boxes when one can't hold it.
    None when the text is too long to edit in Slack at all (see too_long_to_edit)."""
    parts = _split(draft.current_text)
    if len(parts) > EDIT_PARTS_MAX:
        return None
    blocks: list[dict[str, Any]] = [section(f"*{escape(clip(draft.title, 200))}*\n"
                                            f"{escape(clip(draft.agent, 100))} · {escape(clip(draft.action, 100))}")]
    if len(parts) > 1:
        blocks.append(context(f"This draft is {len(draft.current_text):,} characters, more than one box holds, so it "
                              f"is split into {len(parts)} parts; they are joined back exactly as they are."))
    if draft.body_is_json:
        blocks.append(context("This draft is JSON: the edited text must stay valid JSON."))
    for index, part in enumerate(parts):
        label = "Draft" if len(parts) == 1 else f"Draft, part {index + 1} of {len(parts)}"
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": ids.DRAFT_EDIT_INPUT, "multiline": True,
                                   "max_length": INPUT_MAX}
        if part:
            element["initial_value"] = part
        blocks.append({"type": "input", "block_id": f"{ids.DRAFT_EDIT_BLOCK}_{index}", "label": plain(label, 2000),
                       "element": element})
    return {"type": "modal", "callback_id": ids.DRAFT_EDIT_VIEW, "title": plain("Edit draft", 24),
            "submit": plain("Approve edits", 24), "close": plain("Cancel", 24),
            "private_metadata": _metadata(draft, channel, ts), "blocks": blocks}


def too_long_to_edit(draft: DraftCard) -> str:
    return (f"This draft is {len(draft.current_text):,} characters, too long to edit in Slack (the limit here is "
            f"{EDIT_PARTS_MAX * INPUT_MAX:,}). Approve or reject it as it stands, or ask the agent for a shorter one.")


def reject_modal(draft: DraftCard, *, channel: str | None, ts: str | None) -> dict[str, Any]:
    return {"type": "modal", "callback_id": ids.DRAFT_REJECT_VIEW, "title": plain("Reject draft", 24),
            "submit": plain("Reject", 24), "close": plain("Cancel", 24),
            "private_metadata": _metadata(draft, channel, ts),
            "blocks": [section(f"Reject *{escape(clip(draft.title, 200))}* from {escape(clip(draft.agent, 100))}?"),
                       {"type": "input", "block_id": ids.DRAFT_REASON_BLOCK,
                        "label": plain("Reason (sent to the agent)"),
                        "element": {"type": "plain_text_input", "action_id": ids.DRAFT_REASON_INPUT,
                                    "multiline": True, "max_length": 2000}}]}


def card_link(draft: DraftCard) -> str | None:
    """A link to the draft's posted card, from where the domain says it landed (None: not posted yet)."""
    if draft.link:
        return draft.link
    if not draft.card_channel or not draft.card_ts:
        return None
    return f"https://slack.com/archives/{draft.card_channel}/p{draft.card_ts.replace('.', '')}"


def pending_list(items: list[DraftCard]) -> dict[str, Any]:
    """`/countersign pending`: oldest first, each linked to its card when the card is posted."""
    if not items:
        return message("Nothing is waiting for you", [section(":sparkles: No pending drafts are waiting for you.")])
    lines = []
    for item in items[:PENDING_MAX]:
        title = _link(card_link(item), escape(clip(item.title, 80)))
        lines.append(f"• {title} · {escape(clip(item.agent, 40))} · {len(item.approved_by)} of "
                     f"{item.approvals_required} approvals · expires {_date(item.expires_at)}")
    many = len(items) != 1
    blocks = [section(f"*{len(items)} pending draft{'s' if many else ''} you may decide, oldest first*")]
    blocks += [section("\n".join(lines[i: i + 5])) for i in range(0, len(lines), 5)]
    if len(items) > PENDING_MAX:
        blocks.append(context(f"_…and {len(items) - PENDING_MAX} more_"))
    return message(f"{len(items)} pending draft{'s' if many else ''}", blocks)


def reminder(draft: DraftCard) -> dict[str, Any]:
    text = (f":alarm_clock: Still waiting for a decision: *{escape(clip(draft.title, 200))}* "
            f"expires {_date(draft.expires_at)}.")
    return message(escape(f"Reminder: {clip(draft.title, 300)} is waiting"), [section(text)])


def claimer_reminder(draft: DraftCard) -> dict[str, Any]:
    where = _link(card_link(draft), f"*{escape(clip(draft.title, 200))}*")
    text = (f":alarm_clock: You claimed {where} ({escape(clip(draft.agent, 100))}); it is still waiting on a "
            f"decision. It expires {_date(draft.expires_at)}, and then counts as denied. Release it if you can't "
            "get to it.")
    return message(escape(f"{clip(draft.title, 100)} is still waiting on you"), [section(text)])


def owner_reminder(draft: DraftCard) -> dict[str, Any]:
    where = _link(card_link(draft), f"*{escape(clip(draft.title, 200))}*")
    text = (f":alarm_clock: Your agent *{escape(clip(draft.agent, 100))}* is still waiting on {where}; nobody has "
            f"decided yet. It expires {_date(draft.expires_at)}, and then counts as denied.")
    return message(escape(f"{clip(draft.agent, 100)} is waiting on a decision"), [section(text)])
