"""Oversight messages: the owner's prompt (or model) change card with its diff and any eval replay, and the
oversight section of the weekly digest. Pure: plain values in, Block Kit dicts out."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.blocks.common import actions, button, clip, context, escape, header, message, section, user

DIFF_MAX = 2700  # of a section's 3,000, leaving room for the code fence and the label
OUTCOMES = (("approved", "approved unedited"), ("edited", "edited"), ("rejected", "rejected"))
STATUS_LINES = {"approved": ":white_check_mark: *Approved* by {who}", "rejected": ":no_entry: *Rejected* by {who}"}


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.0f}%"


def replay_lines(replay: dict[str, Any]) -> str:
    """`replay` is services.oversight.replay.Summary.as_dict(): agreement with people per outcome."""
    parts = [f"{escape(label)} {o['agreed']}/{o['drafts']} ({_pct(o['rate'])})"
             for key, label in OUTCOMES if (o := replay["outcomes"].get(key)) and o["drafts"]]
    return (f":test_tube: *Eval replay* on {replay['drafts']} past decisions with {escape(replay['model'])}: "
            f"agrees with people {_pct(replay['agreement'])} overall; " + ("; ".join(parts) or "no outcomes")
            + (f" ({replay['failed']} failed)" if replay.get("failed") else ""))


def change_card(*, agent_name: str, change_id: int, action: str, kind: str, version: str, base_version: str | None,
                diff: str, status: str, decided_by: str | None, replay: dict[str, Any] | None) -> dict[str, Any]:
    name, act, ver = escape(agent_name), escape(action), escape(version)
    if kind == "model":
        title = f"Model change: {agent_name} · {action}"
        intro = (f"*{name}* sent a *{act}* draft made with model *{ver}*; its auto level was earned with "
                 f"*{escape(base_version or '?')}*. Until you approve this model, its drafts go to review.")
    else:
        title = f"Prompt change: {agent_name} · {action} {version}"
        against = (f"against approved version *{escape(base_version)}*" if base_version
                   else "(its first: the whole text)")
        intro = (f"*{name}* registered prompt version *{ver}* for *{act}*, shown {against}. Until you approve it, "
                 "drafts made with it go to review; once rejected, they are refused.")
    blocks: list[dict[str, Any]] = [header(title), section(intro),
                                    section("```" + escape(clip(diff or "(no change)", DIFF_MAX)) + "```")]
    if replay:
        blocks.append(section(replay_lines(replay)))
    if status == "pending":
        blocks.append(actions(ids.OVERSIGHT_CHANGE_BLOCK,
                              button("Approve version", ids.OVERSIGHT_APPROVE_VERSION, str(change_id), style="primary"),
                              button("Reject version", ids.OVERSIGHT_REJECT_VERSION, str(change_id), style="danger")))
    else:
        blocks.append(section(STATUS_LINES.get(status, escape(status)).format(who=user(decided_by or ""))))
    blocks.append(context(f"change #{change_id} · only the owner, a backup owner or an admin can answer"))
    return message(escape(f"{title}: {status}"), blocks)


def digest_section(rows: list[dict[str, Any]], *, days: int) -> list[dict[str, Any]]:
    """The weekly digest's oversight part; `rows` are ReviewerRow.model_dump()s."""
    if not rows:
        return [section(f"*Oversight* (last {days} days): no decisions by people.")]
    lines = []
    for row in sorted(rows, key=lambda r: (not r["rubber_stamp"], -r["decisions"]))[:10]:
        flag = " :warning: *rubber stamp?*" if row["rubber_stamp"] else ""
        canary = (f", canaries {row['canary_catches']} caught / {row['canary_misses']} missed"
                  if row["canary_catches"] or row["canary_misses"] else "")
        p50 = row["time_to_decision"]["p50_s"]
        lines.append(f"• {user(row['reviewer'])} on {escape(row['agent'])} · {escape(row['action'])}: "
                     f"{row['decisions']} decisions, {_pct(row['approval_rate'])} approved, "
                     f"median {'n/a' if p50 is None else f'{p50:.0f} s'}{canary}{flag}")
    return [section(clip(f"*Oversight* (last {days} days)\n" + "\n".join(lines), 2900))]
