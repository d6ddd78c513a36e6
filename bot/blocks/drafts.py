"""Draft cards and modals: pure builders from the draft's public JSON (plus `current_text`) to Block Kit."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot import ids
from bot.blocks.common import actions, button, clip, context, escape, header, message, plain, section, user

CARD_BODY_MAX = 2800  # of a section's 3,000, leaving room for the label and the code fence
INPUT_MAX = 3000  # plain_text_input max_length
EDIT_PARTS_MAX = 20  # 60,000 characters in one modal stays far below Slack's view size limit
CONTEXT_ITEMS_MAX = 8
OUTCOMES = {
    "approved": ":white_check_mark: *Approved*",
    "edited": ":pencil2: *Approved with edits*",
    "rejected": ":x: *Rejected*",
    "expired": ":hourglass: *Expired*",
    "auto_approved": ":robot_face: *Auto-approved*",
    "cancelled": ":no_entry_sign: *Cancelled by the agent*",
}


def slack_date(iso: str | None) -> str:
    """A timestamp every reader sees in their own time zone, with the UTC text as the fallback."""
    if not iso:
        return "—"
    when = datetime.fromisoformat(iso)
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{when:%Y-%m-%d %H:%M} UTC>"


def people(ids_: list[str]) -> str:
    return ", ".join(user(u) for u in ids_) or "nobody"


def button_value(draft: dict[str, Any]) -> str:
    return f"{draft['id']}:{draft.get('revision', 0)}"


def parse_button_value(value: str) -> tuple[str, int | None]:
    draft_id, _, revision = value.partition(":")
    return draft_id, int(revision) if revision.isdigit() else None


def _body_blocks(draft: dict[str, Any]) -> list[dict[str, Any]]:
    text = str(draft.get("current_text") or "")
    label = "*Draft*"
    if draft.get("edited_by") and draft["status"] == "pending":
        label = f"*Draft, as edited by {user(draft['edited_by'])}*"
    shown, cut = clip_escaped(text.replace("```", "`\u200b``"), CARD_BODY_MAX)
    blocks = [section(f"{label}\n```{shown}```")]
    if cut:
        blocks.append(context(f":scissors: The card shows the beginning of this {len(text):,}-character draft. "
                              "*Edit* shows the full text."))
    return blocks


def clip_escaped(text: str, limit: int) -> tuple[str, bool]:
    """Escape, then cut to `limit` without leaving half an entity (escaping can make text five times longer)."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped, False
    cut = escaped[:limit]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut, True


def _facts(draft: dict[str, Any]) -> list[dict[str, Any]]:
    money = f"${draft['cost_usd']:.4f}" if draft.get("cost_usd") is not None else None
    conf = f"{draft['confidence']:.0%}" if draft.get("confidence") is not None else None
    first = [f"*Cost:* {money}" if money else "", f"*Model:* {escape(str(draft['model']))}" if draft.get("model") else "",
             f"*Prompt:* {escape(str(draft['prompt_version']))}" if draft.get("prompt_version") else "",
             f"*Confidence:* {conf}" if conf else ""]
    second = [f"*Asked by:* {user(draft['requested_by'])}" if draft.get("requested_by") else "",
              f"*Expires:* {slack_date(draft.get('expires_at'))}", f"`{draft['id']}`"]
    return [b for b in (context(*first) if any(first) else None, context(*second)) if b]


def _context_block(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """Links first (trace_url and any URL value), then the other inputs, each clipped."""
    if not ctx:
        return []
    items = []
    for key, value in ctx.items():
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            items.insert(0, f":link: <{clip(value, 1500, '')}|{escape(clip(key, 60))}>")
        else:
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            items.append(f"*{escape(clip(key, 60))}:* {escape(clip(shown, 300))}")
    if len(items) > CONTEXT_ITEMS_MAX:
        items = items[: CONTEXT_ITEMS_MAX - 1] + [f"_…and {len(items) - CONTEXT_ITEMS_MAX + 1} more_"]
    return [context(*items)]


def _status_block(draft: dict[str, Any]) -> dict[str, Any]:
    status = draft["status"]
    if status == "pending":
        approved = draft.get("approved_by") or []
        text = f":hourglass_flowing_sand: Waiting for a decision: {len(approved)} of {draft['approvals_required']} approvals"
        return section(text + (f" ({people(approved)})" if approved else ""))
    line = OUTCOMES.get(status, f"*{escape(status)}*")
    if draft.get("decided_by"):
        line += f" by {people(draft['decided_by'])}"
    line += f" · {slack_date(draft.get('decided_at'))}"
    if draft.get("reason"):
        line += f"\n>{escape(clip(str(draft['reason']), 1500))}"
    return section(line)


def _buttons(draft: dict[str, Any]) -> dict[str, Any]:
    value = button_value(draft)
    confirm = None
    if draft.get("high_risk"):
        confirm = {"title": plain("High-risk action", 100),
                   "text": {"type": "mrkdwn", "text": clip(f"Approve *{escape(draft['title'])}* as it stands?", 300)},
                   "confirm": plain("Approve", 30), "deny": plain("Not yet", 30), "style": "danger"}
    return actions(ids.DRAFT_ACTIONS_BLOCK,
                   button("Approve", ids.DRAFT_APPROVE, value, style="primary", confirm=confirm),
                   button("Edit", ids.DRAFT_EDIT, value),
                   button("Reject", ids.DRAFT_REJECT, value, style="danger"))


def draft_card(draft: dict[str, Any]) -> dict[str, Any]:
    """The review card: buttons while pending; the outcome, who and when once decided."""
    risk = " · :warning: *high risk*" if draft.get("high_risk") else ""
    blocks = [header(draft["title"]),
              section(f"*{escape(draft['agent'])}* asks to *{escape(draft['action'])}*{risk}")]
    blocks += _body_blocks(draft)
    if draft.get("review_reasons"):
        reasons = "\n".join(f"• {escape(r)}" for r in draft["review_reasons"])
        blocks.append(section(f":mag: *A person must review this because:*\n{reasons}"))
    blocks += _facts(draft) + _context_block(draft.get("context") or {})
    blocks.append(_status_block(draft))
    if draft["status"] == "pending":
        blocks.append(_buttons(draft))
    outcome = "waiting for approval" if draft["status"] == "pending" else draft["status"]
    return message(f"{draft['agent']}: {draft['title']} ({outcome})", blocks)


def _metadata(draft: dict[str, Any], channel: str | None, ts: str | None) -> str:
    return json.dumps({"d": draft["id"], "r": draft.get("revision", 0), "c": channel, "t": ts,
                       "j": bool(draft.get("body_is_json"))}, separators=(",", ":"))


def split_text(text: str) -> list[str]:
    return [text[i: i + INPUT_MAX] for i in range(0, len(text), INPUT_MAX)] or [""]


def edit_modal(draft: dict[str, Any], *, channel: str | None, ts: str | None) -> dict[str, Any] | None:
    """The edit modal prefilled with the whole text, split over several boxes when one can't hold it.
    None when the text is too long to edit in Slack at all."""
    parts = split_text(str(draft.get("current_text") or ""))
    if len(parts) > EDIT_PARTS_MAX:
        return None
    blocks: list[dict[str, Any]] = [section(f"*{escape(clip(draft['title'], 200))}*\n"
                                            f"{escape(draft['agent'])} · {escape(draft['action'])}")]
    if len(parts) > 1:
        blocks.append(context(f"This draft is {sum(map(len, parts)):,} characters, more than one box holds, so it "
                              f"is split into {len(parts)} parts; they are joined back exactly as they are."))
    if draft.get("body_is_json"):
        blocks.append(context("This draft is JSON: the edited text must stay valid JSON."))
    for index, part in enumerate(parts):
        label = "Draft" if len(parts) == 1 else f"Draft, part {index + 1} of {len(parts)}"
        blocks.append({"type": "input", "block_id": f"{ids.DRAFT_EDIT_BLOCK}_{index}", "label": plain(label, 2000),
                       "element": {"type": "plain_text_input", "action_id": ids.DRAFT_EDIT_INPUT, "multiline": True,
                                   "max_length": INPUT_MAX, "initial_value": part}})
    return {"type": "modal", "callback_id": ids.DRAFT_EDIT_VIEW, "title": plain("Edit draft", 24),
            "submit": plain("Approve edits", 24), "close": plain("Cancel", 24),
            "private_metadata": _metadata(draft, channel, ts), "blocks": blocks}


def too_long_to_edit(draft: dict[str, Any]) -> str:
    size = len(str(draft.get("current_text") or ""))
    return (f"This draft is {size:,} characters, too long to edit in Slack (the limit here is "
            f"{EDIT_PARTS_MAX * INPUT_MAX:,}). Approve or reject it as it stands, or ask the agent for a shorter one.")


def read_edit(values: dict[str, Any]) -> str:
    """The edited text back from a submitted edit modal, parts joined in order."""
    parts = sorted((int(block.rsplit("_", 1)[1]), (inputs.get(ids.DRAFT_EDIT_INPUT) or {}).get("value") or "")
                   for block, inputs in values.items() if block.startswith(ids.DRAFT_EDIT_BLOCK + "_"))
    return "".join(text for _, text in parts)


def reject_modal(draft: dict[str, Any], *, channel: str | None, ts: str | None) -> dict[str, Any]:
    return {"type": "modal", "callback_id": ids.DRAFT_REJECT_VIEW, "title": plain("Reject draft", 24),
            "submit": plain("Reject", 24), "close": plain("Cancel", 24),
            "private_metadata": _metadata(draft, channel, ts),
            "blocks": [section(f"Reject *{escape(clip(draft['title'], 200))}* from {escape(draft['agent'])}?"),
                       {"type": "input", "block_id": ids.DRAFT_REASON_BLOCK, "label": plain("Reason (sent to the agent)"),
                        "element": {"type": "plain_text_input", "action_id": ids.DRAFT_REASON_INPUT,
                                    "multiline": True, "max_length": 2000}}]}


def read_reason(values: dict[str, Any]) -> str:
    return ((values.get(ids.DRAFT_REASON_BLOCK) or {}).get(ids.DRAFT_REASON_INPUT) or {}).get("value") or ""


def pending_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    """`/countersign pending`: oldest first, each linked to its card when the card is posted."""
    if not items:
        return message("Nothing is waiting for you", [section(":sparkles: No pending drafts are waiting for you.")])
    lines = []
    for item in items[:40]:
        title = escape(clip(item["title"], 120))
        link = f"<{item['link']}|{title}>" if item.get("link") else title
        lines.append(f"• {link} · {escape(item['agent'])} · {len(item.get('approved_by') or [])} of "
                     f"{item['approvals_required']} · expires {slack_date(item['expires_at'])}")
    blocks = [section(f"*{len(items)} pending draft{'s' if len(items) != 1 else ''} you may decide*")]
    blocks += [section("\n".join(lines[i: i + 10])) for i in range(0, len(lines), 10)]
    if len(items) > 40:
        blocks.append(context(f"_…and {len(items) - 40} more_"))
    return message(f"{len(items)} pending drafts", blocks)


def reminder(draft: dict[str, Any]) -> dict[str, Any]:
    text = (f":alarm_clock: Still waiting for a decision: *{escape(clip(draft['title'], 200))}* "
            f"expires {slack_date(draft['expires_at'])}.")
    return message(f"Reminder: {draft['title']} is waiting", [section(text)])


def owner_reminder(draft: dict[str, Any]) -> dict[str, Any]:
    title = escape(clip(draft["title"], 200))
    where = f"<{draft['link']}|{title}>" if draft.get("link") else f"*{title}*"
    text = (f":alarm_clock: Your agent *{escape(draft['agent'])}* is still waiting on {where}; nobody has decided "
            f"yet. It expires {slack_date(draft['expires_at'])}, and then counts as denied.")
    return message(f"{draft['agent']} is waiting on a decision", [section(text)])
