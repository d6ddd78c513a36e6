"""Incident cards, thread lines, reminders and the resolve modal: pure builders over an incident's public view."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot import ids
from bot.blocks.common import (
    CONVERSATION_ID,
    FIELD_TEXT_MAX,
    actions,
    button,
    clip,
    context,
    escape,
    header,
    message,
    plain,
    section,
    user,
)
from services.incidents.models import SNOOZE_CHOICES_S, Accountability, EventPublic, IncidentPublic, StormPublic
from services.text import link_url_problem

SEVERITY_ICON = {"low": ":large_blue_circle:", "high": ":large_orange_circle:", "critical": ":red_circle:"}
HALT_LABELS = {"resume": "Resume the run", "abort": "Abort the run", "handoff": "Hand to a human"}
DETAILS_MAX = 1500
# Drawn by run_text instead of the generic details list.
RUN_KEYS = {"halt_policy", "run_id", "last_step", "came_back_at", "came_back_step", "halt_decision", "halt_decided_by"}


def _who(actor: str) -> str:
    """A Slack user as a mention; a system actor or agent as plain words."""
    return user(actor)


def _when(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def _status_line(incident: IncidentPublic) -> str:
    if incident.status == "acknowledged" and incident.acknowledged_by:
        return f":eyes: *Acknowledged* by {_who(incident.acknowledged_by)}"
    if incident.status == "snoozed" and incident.snoozed_until:
        return f":zzz: *Snoozed* until {_when(incident.snoozed_until)}; it escalates again from the top then"
    if incident.status == "resolved":
        note = f"\n>{escape(clip(incident.resolution_note, 1000))}" if incident.resolution_note else ""
        return f":white_check_mark: *Resolved* by {_who(incident.resolved_by or 'unknown')}{note}"
    return ":rotating_light: *Triggered*: waiting for someone to acknowledge"


def _details_text(details: dict[str, Any]) -> str:
    shown = {k: v for k, v in details.items() if v is not None and k not in RUN_KEYS}
    if not shown:
        return ""
    lines = [f"• *{escape(str(k))}*: {escape(v if isinstance(v, str) else json.dumps(v, default=str))}"
             for k, v in shown.items()]
    return clip("*Details*\n" + "\n".join(lines), DETAILS_MAX)


def _run_text(incident: IncidentPublic) -> str:
    details = incident.details
    if not incident.run_id and "last_step" not in details:
        return ""
    lines = [f"*Run* `{escape(str(incident.run_id or details.get('run_id', '?')))}`"
             f" — last step reached: *{escape(str(details.get('last_step') or 'none reported'))}*"]
    if details.get("came_back_at"):
        lines.append(f":arrows_counterclockwise: *The run came back*: a heartbeat arrived after the halt "
                     f"(step {escape(str(details.get('came_back_step') or '?'))}). Nothing was resolved by it.")
    if details.get("halt_decision"):
        lines.append(f":ballot_box_with_check: Halt decision: *{escape(str(details['halt_decision']))}* by "
                     f"{_who(str(details.get('halt_decided_by', '?')))}, sent to the agent")
    return "\n".join(lines)


def incident_card(incident: IncidentPublic, *, recipient: str | None = None) -> dict[str, Any]:
    icon = SEVERITY_ICON.get(incident.severity, ":warning:")
    title = f"{incident.severity.upper()} incident #{incident.id} · {incident.agent} · {incident.kind}"
    blocks: list[dict[str, Any]] = [header(f"Incident #{incident.id}: {incident.kind}")]
    if recipient and recipient.startswith("S") and CONVERSATION_ID.match(recipient):
        blocks.append(section(f"<!subteam^{recipient}> this needs someone to look at it"))
    blocks.append(section(f"{icon} *{escape(incident.severity.upper())}* · agent *{escape(incident.agent)}* · "
                          f"kind `{escape(incident.kind)}`\n{escape(incident.summary)}"))
    for text in (_details_text(incident.details), _run_text(incident)):
        if text:
            blocks.append(section(text))
    meta = [f"Occurrences: *{incident.occurrences}*", f"Opened {_when(incident.created_at)}"]
    if incident.occurrences > 1:
        meta.append(f"last {_when(incident.last_occurred_at)}")
    if incident.trace_url:  # checked at the API; rows stored before that are drawn as text unless safe
        safe = len(incident.trace_url) <= 2000 and link_url_problem(incident.trace_url) is None
        meta.append(f"<{incident.trace_url}|Trace>" if safe else f"Trace: {escape(clip(incident.trace_url, 200))}")
    blocks.append(context(" · ".join(meta)))
    blocks.append(section(_status_line(incident)))
    if incident.status != "resolved":
        blocks.extend(_buttons(incident))
    return message(escape(f"{title}: {clip(incident.summary, 200)}"), blocks)  # the fallback text is mrkdwn too


def _buttons(incident: IncidentPublic) -> list[dict[str, Any]]:
    value = str(incident.id)
    row = []
    if incident.status != "acknowledged":
        row.append(button("Acknowledge", ids.INCIDENT_ACK, value, style="primary"))
    row.append(button("Resolve", ids.INCIDENT_RESOLVE, value))
    row += [button(f"Snooze {_duration(s)}", f"{ids.INCIDENT_SNOOZE_PREFIX}{s}", value) for s in SNOOZE_CHOICES_S]
    row.append(button("Pause agent", ids.INCIDENT_PAUSE, value, style="danger", confirm={
        "title": plain("Pause the agent?", 100), "confirm": plain("Pause", 30), "deny": plain("Cancel", 30),
        "text": _mrkdwn_text(f"*{escape(incident.agent)}*'s writes will be refused until someone resumes it.")}))
    blocks = [actions(ids.INCIDENT_ACTIONS_BLOCK, *row)]
    choices = incident.details.get("halt_policy") or []
    if incident.kind == "halted" and choices and not incident.details.get("halt_decision"):
        blocks.append(section("*What should the run do?* Your choice is sent to the agent."))
        blocks.append(actions(ids.INCIDENT_HALT_BLOCK, *[
            button(HALT_LABELS.get(c, c), f"{ids.RUN_HALT_PREFIX}{c}", value) for c in choices]))
    return blocks


def _span(storm: StormPublic) -> str:
    seconds = max(0, int((storm.newest_at - storm.first_at).total_seconds()))
    if seconds < 120:
        return f"{seconds} s" if seconds < 60 else "1 min"
    return f"{seconds // 60} min" if seconds < 7200 else f"{seconds // 3600} h"


def storm_card(storm: StormPublic, *, recipient: str | None = None) -> dict[str, Any]:
    """One card for many incidents of one agent, redrawn in place as the storm grows and is answered."""
    headline = f"{storm.agent}: {storm.incidents} incidents in {_span(storm)}"
    blocks: list[dict[str, Any]] = [header(f"Incident storm: {headline}")]
    if recipient and recipient.startswith("S") and CONVERSATION_ID.match(recipient):
        blocks.append(section(f"<!subteam^{recipient}> this needs someone to look at it"))
    severities = " · ".join(f"{SEVERITY_ICON.get(s, ':warning:')} {storm.severities[s]} {escape(s)}"
                            for s in ("critical", "high", "low") if storm.severities.get(s))
    blocks.append(section(f":rotating_light: *{escape(storm.agent)}* opened *{storm.incidents}* incidents in "
                          f"{_span(storm)}, grouped here instead of one page each.\n{severities}\n"
                          f"*Newest:* {escape(clip(storm.newest_summary, 500))}"))
    waiting = storm.statuses.get("triggered", 0) + storm.statuses.get("snoozed", 0)
    status = [f"{storm.statuses[s]} {s}" for s in ("triggered", "snoozed", "acknowledged", "resolved")
              if storm.statuses.get(s)]
    acked = f" · acknowledged by {', '.join(_who(u) for u in storm.acknowledged_by)}" if storm.acknowledged_by else ""
    blocks.append(context(f"{' · '.join(status)}{acked}",
                          f"Started {_when(storm.first_at)} · newest {_when(storm.newest_at)}",
                          f"<{storm.link}|All of {escape(storm.agent)}'s incidents in the web app>"
                          if link_url_problem(storm.link) is None else ""))
    row = []
    if waiting:
        row.append(button(f"Acknowledge all ({waiting})", ids.STORM_ACK_ALL, str(storm.id), style="primary"))
    if waiting or storm.statuses.get("acknowledged"):
        row.append(button("Pause agent", ids.STORM_PAUSE, str(storm.id), style="danger", confirm={
            "title": plain("Pause the agent?", 100), "confirm": plain("Pause", 30), "deny": plain("Cancel", 30),
            "text": _mrkdwn_text(f"*{escape(storm.agent)}*'s writes will be refused until someone resumes it.")}))
    if row:
        blocks.append(actions(ids.STORM_ACTIONS_BLOCK, *row))
    return message(escape(f"Incident storm: {headline}; newest: {clip(storm.newest_summary, 200)}"), blocks)


def storm_nudge(storm: StormPublic, *, recipient: str) -> dict[str, Any]:
    mention = _place(recipient) if not recipient.startswith(("U", "W")) else user(recipient)
    waiting = storm.statuses.get("triggered", 0)
    text = (f"{mention} the storm of *{storm.incidents}* incidents from *{escape(storm.agent)}* still has "
            f"*{waiting}* nobody acknowledged. Please acknowledge them or pause the agent.")
    return message(f"{mention} {escape(storm.agent)}'s incident storm still needs you", [section(text)])


def storm_acknowledged(*, acknowledged: int, already: int, refused: int) -> str:
    """The clicker's private answer to Acknowledge all."""
    if not acknowledged and not refused:
        return "Nothing left to acknowledge: every incident of this storm was acknowledged or resolved already."
    parts = [f":eyes: Acknowledged *{acknowledged}* incident{'s' if acknowledged != 1 else ''}"]
    if already:
        parts.append(f"{already} had already been acknowledged or resolved")
    if refused:
        parts.append(f"{refused} not routed to you were left for the people they were routed to")
    return "; ".join(parts) + ". Their escalation has stopped."


def _mrkdwn_text(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, 300)}


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"


STEP_WORDS = {
    "notified": "notified", "skipped": "skipped a step:", "paused_agent": "paused the agent",
    "already_paused": "found the agent already paused", "opened": "opened the incident",
    "acknowledged": "acknowledged", "resolved": "resolved it", "snoozed": "snoozed it",
    "snooze_ended": "ended the snooze; escalating again from the top", "reminded": "reminded",
    "paused": "paused the agent", "run_came_back": "saw the run come back", "halt_decision": "chose",
}


def log_line(event: EventPublic) -> dict[str, Any]:
    """One line in the card's thread: who did what, to whom."""
    verb = STEP_WORDS.get(event.verb, escape(event.verb.replace("_", " ")))
    targets = ", ".join(_who(t) if t[:1] in ("U", "W") else _place(t) for t in event.targets)
    note = f" — {escape(clip(event.note, FIELD_TEXT_MAX))}" if event.note else ""
    prefix = ":arrow_heading_up: Escalation" if event.kind == "step" else _who(event.actor)
    text = f"{prefix} {verb}{' ' + targets if targets else ''}{note}"
    return message(clip(text, 300), [section(text)])


def _place(target: str) -> str:
    if not CONVERSATION_ID.match(target):
        return escape(target)
    return f"<!subteam^{target}>" if target.startswith("S") else f"<#{target}>"


def nudge(incident: IncidentPublic, *, recipient: str) -> dict[str, Any]:
    mention = _place(recipient) if not recipient.startswith(("U", "W")) else user(recipient)
    text = f"{mention} incident #{incident.id} is still *{incident.status}*. Please acknowledge or resolve it."
    return message(f"{mention} incident #{incident.id} still needs you", [section(text)])


def ack_reminder(incident: IncidentPublic, *, user_id: str) -> dict[str, Any]:
    text = (f":alarm_clock: {user(user_id)}, you acknowledged incident #{incident.id} "
            f"({escape(incident.agent)}: {escape(clip(incident.summary, 300))}) and it is not resolved yet. "
            "Resolve it when it's fixed, or snooze it.")
    return message(f"Reminder: incident #{incident.id} is still open", [section(text)])


def owner_handed_over(*, agent_name: str, previous: str, new: str, by: str) -> dict[str, Any]:
    text = (f":handshake: {_who(by)} handed *{escape(agent_name)}* from {_who(previous)} to {_who(new)}. "
            f"{_who(new)} is now the accountable owner and hears first about its incidents.")
    return message(f"{escape(agent_name)} has a new owner", [section(text)])


def resolve_modal(incident_id: int, summary: str = "", *, channel: str | None = None,
                  ts: str | None = None) -> dict[str, Any]:
    """`summary` is whatever the clicked card said. `channel` and `ts` name that card: the submission is checked
    against the incident's cards as the click was (ids are short; clipping only guards the metadata limit)."""
    meta = str(incident_id) if channel is None else json.dumps(
        {"i": incident_id, "c": channel[:40], "t": (ts or "")[:40]}, separators=(",", ":"))
    return {
        "type": "modal", "callback_id": ids.INCIDENT_RESOLVE_VIEW, "private_metadata": meta,
        "title": plain("Resolve incident", 24), "submit": plain("Resolve", 24), "close": plain("Cancel", 24),
        "blocks": [
            section(f"*Incident #{incident_id}*\n{escape(clip(summary, 500))}"),
            {"type": "input", "block_id": ids.INCIDENT_NOTE_BLOCK, "optional": True,
             "label": plain("What happened and what fixed it?", 2000),
             "element": {"type": "plain_text_input", "action_id": ids.INCIDENT_NOTE_INPUT, "multiline": True,
                         "max_length": 3000}},
        ],
    }


def _step_text(step: dict[str, Any]) -> str:
    if step.get("notify"):
        target = str(step["notify"])
        return f"notify {_place(target.split(':', 1)[1]) if target.startswith('usergroup:') else escape(target)}"
    if step.get("wait_s"):
        return f"wait {_duration_any(int(step['wait_s']))}"
    return "pause the agent" if step.get("pause_agent") else escape(json.dumps(step))


def _duration_any(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def accountability(info: Accountability) -> dict[str, Any]:
    """`/countersign owner <agent>`: owner, backups, channel and the escalation chain, in order."""
    backups = ", ".join(user(b) for b in info.backups) or "none"
    chain = "\n".join(f"{n}. {_step_text(step)}" for n, step in enumerate(info.chain, 1))
    text = (f"*{escape(info.agent)}* ({escape(info.status)})\n*Owner:* {user(info.owner)}\n*Backups:* {backups}\n"
            f"*Review channel:* {_place(info.review_channel) if info.review_channel else 'none'}\n"
            f"*Escalation chain* (run up to {info.repeat}×):\n{chain}")
    return message(escape(f"{info.agent} is owned by {info.owner}"), [section(text)])


def incident_list(found: list[IncidentPublic]) -> dict[str, Any]:
    """`/countersign incidents`: one line per open incident, newest last."""
    lines = [f"{SEVERITY_ICON.get(i.severity, ':warning:')} *#{i.id}* {escape(i.agent)} · `{escape(i.kind)}` · "
             f"{escape(i.status)} · ×{i.occurrences} — {escape(clip(i.summary, 150))}" for i in found]
    return message(f"{len(found)} open incidents", [section(f"*{len(found)} open incidents*"),
                                                    *[section(clip(line, 2900)) for line in lines[:45]],
                                                    *([context(f"_{len(lines) - 45} more not shown_")]
                                                      if len(lines) > 45 else [])])
