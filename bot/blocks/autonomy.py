"""Autonomy messages: the owner's proposal card, the sampled auto-approval, demotion notices, the overview."""

from __future__ import annotations

import re
from typing import Any

from bot import ids
from bot.blocks.common import actions, button, clip, context, escape, header, message, section, user

SAMPLE_TEXT_MAX = 2500  # of a section's 3,000, leaving room for the label and the code fence
VERDICTS = {"looks_right": ":white_check_mark: *Looks right*",
            "should_not_have_passed": ":warning: *Should not have passed*"}


def _with_mentions(text: str) -> str:
    """Escaped, except the user mentions our own reasons carry: a reason may quote an agent's incident summary,
    which must not be able to ping a channel or forge a link."""
    return re.sub(r"&lt;@([UW][A-Z0-9]{2,20})&gt;", r"<@\1>", escape(text))


def _version(prompt_version: str | None) -> str:
    return escape(prompt_version) if prompt_version else "(none)"


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _evidence_lines(e: dict[str, Any]) -> str:
    """`e` is EvidenceFigures.model_dump() (services.autonomy.models)."""
    mean = e.get("mean_edit_distance")
    edit = f" (mean change {_pct(mean)})" if mean is not None else ""
    return (f"*{e['decisions']}* decisions in the window ({e['total_decisions']} in all): "
            f"*{e['approved_unedited']}* approved unedited ({_pct(e['unedited_rate'])}), "
            f"{e['edited']} edited{edit}, {e['rejected']} rejected, {e['expired']} expired; "
            f"{e['since_last_rejection']} since the last rejection")


def proposal_card(*, agent_name: str, action: str, prompt_version: str, evidence: dict[str, Any],
                  rule: dict[str, Any], state_id: int) -> dict[str, Any]:
    """`evidence` is EvidenceFigures.model_dump(), `rule` AutonomyRule.model_dump()."""
    name, act = escape(agent_name), escape(action)
    rule_text = (f"Rule: at least {rule['min_decisions']} decisions, at least {_pct(rule['min_unedited_rate'])} "
                 f"approved unedited, no rejection among the last {rule['clean_streak']}. "
                 f"If promoted, {_pct(rule['audit_sample_rate'])} of auto-approvals still come to the review "
                 "channel for a check.")
    blocks = [
        header(f"Promote {agent_name} · {action} to auto?"),
        section(f"*{name}* has earned it for *{act}* at prompt version *{_version(prompt_version)}*: "
                f"{_evidence_lines(evidence)}.\nPromote to approve its drafts of this action at once; "
                "a new prompt version starts again at review."),
        context(rule_text),
        actions(ids.AUTONOMY_PROPOSAL_BLOCK,
                button("Promote", ids.AUTONOMY_PROMOTE, str(state_id), style="primary"),
                button("Not yet", ids.AUTONOMY_NOT_YET, str(state_id))),
    ]
    return message(escape(f"{agent_name} has earned auto for {action}: promote?"), blocks)


def proposal_answered(*, agent_name: str, action: str, prompt_version: str, promoted: bool, by: str,
                      repropose_in: int | None = None) -> dict[str, Any]:
    name, act = escape(agent_name), escape(action)
    if promoted:
        text = (f":rocket: {user(by)} promoted *{name}* · *{act}* (prompt version *{_version(prompt_version)}*) "
                "to *auto*.")
    else:
        later = f" It will be proposed again after {repropose_in} more decisions." if repropose_in else ""
        text = f":hand: {user(by)} said *Not yet* for *{name}* · *{act}*; it stays under review.{later}"
    return message(escape(f"{agent_name} · {action}: {'promoted' if promoted else 'not yet'}"), [section(text)])


def sample_card(*, agent_name: str, draft_id: str, action: str, title: str, text: str, prompt_version: str | None,
                verdict: str | None = None, by: str | None = None) -> dict[str, Any]:
    blocks = [
        section(f":robot_face: *Auto-approved* · *{escape(agent_name)}* · {escape(action)}: *{escape(title)}*\n"
                "Picked for a check: did this deserve to go through without a person?"),
        section("```" + escape(clip(text, SAMPLE_TEXT_MAX)) + "```"),
        context(f"draft `{escape(draft_id)}` · prompt version {_version(prompt_version)}"),
    ]
    if verdict is None:
        blocks.append(actions(ids.AUTONOMY_SAMPLE_BLOCK,
                              button("Looks right", ids.AUTONOMY_LOOKS_RIGHT, draft_id, style="primary"),
                              button("Should not have passed", ids.AUTONOMY_SHOULD_NOT_PASS, draft_id,
                                     style="danger")))
    else:
        blocks.append(section(f"{VERDICTS.get(verdict, escape(verdict))} — {user(by or '')}"))
    return message(escape(f"Auto-approved {action} for {agent_name}: {title}"), blocks)


def demoted_notice(*, agent_name: str, action: str, prompt_version: str, reason: str) -> dict[str, Any]:
    text = (f":arrow_down: *{escape(agent_name)}* · *{escape(action)}* (prompt version "
            f"*{_version(prompt_version)}*) is back under *review*: every draft goes to a person again.\n"
            f"*Why:* {_with_mentions(clip(reason, 1500))}")
    return message(escape(f"{agent_name} · {action} is back under review"), [section(text)])


def overview(data: dict[str, Any]) -> dict[str, Any]:
    """`/countersign autonomy <agent>`: one section per (action, prompt version); `data` is Overview.model_dump()."""
    rule = data["rule"]
    blocks: list[dict[str, Any]] = [
        header(f"Autonomy: {data['agent']}"),
        context(f"owner {user(data['owner'])} · rule: ≥{rule['min_decisions']} decisions, "
                f"≥{_pct(rule['min_unedited_rate'])} unedited, clean streak {rule['clean_streak']}, "
                f"sample {_pct(rule['audit_sample_rate'])}"),
    ]
    if not data["actions"]:
        blocks.append(section(f"*{escape(data['agent'])}* has no drafts yet, so nothing has been earned."))
    for row in data["actions"]:
        blocks.append(section("\n".join(_row_lines(row))))
    return message(escape(f"Autonomy for {data['agent']}"), blocks)


def _row_lines(row: dict[str, Any]) -> list[str]:
    level, granted_by, demoted = row["level"], row.get("granted_by"), row.get("demoted_reason")
    icon = {"auto": ":large_green_circle:", "deny": ":no_entry:"}.get(level, ":large_yellow_circle:")
    lines = [f"{icon} *{escape(row['action'])}* · version *{_version(row.get('prompt_version'))}*: *{escape(level)}*"
             f" · approved prompt *{_version(row.get('approved_prompt_version'))}*"
             + (f" (this version {escape(row['prompt_status'])})"
                if row.get("prompt_status") not in (None, "approved") else "")]
    if granted_by and level == "auto":
        lines.append(f"granted by {'the admin configuration' if granted_by == 'config' else user(granted_by)}")
    if demoted and level == "review":
        lines.append(f"last demoted: {_with_mentions(clip(demoted, 300))}")
    if row.get("evidence"):
        lines.append(_evidence_lines(row["evidence"]))
        if level == "review" and row.get("rule_met"):
            proposed = ": proposal with the owner" if row.get("proposal") == "proposed" else ""
            lines.append("promotion rule met" + proposed)
        elif level == "review":
            lines.append("promotion rule not met yet")
    return lines
