"""`countersign drafts list|approve|reject|edit`: read drafts and decide them without Slack.

A decision from here is the named Slack user's, under every rule of a click on the card (approvers and their
user groups, quorum, no self-approval, already decided), through the same flow; the audit log says it came
through the CLI. The card in Slack is updated through the outbox like after a click.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path

import click

from services.agents.models import USER_ID
from services.agents.service import require_agent
from services.cli.common import attempt, cli, fail, make_context
from services.drafts import claims, flows, inbox, recording, service, stages
from services.drafts.listing import DEFAULT_LIMIT, MAX_LIMIT, STATUSES
from services.drafts.models import DraftCard
from services.drafts.rules import Verdict
from services.errors import CountersignError, Forbidden, field_error
from services.outbox.queries import callbacks
from services.text import visible


@cli.group(help="List drafts and decide them without Slack, as a Slack user, under the rules of a click.")
def drafts() -> None:
    pass


@drafts.command("list", help="Drafts newest first (every agent's unless --agent), one line each.")
@click.option("--agent", "agent_name", help="Only this agent's drafts.")
@click.option("--status", type=click.Choice(STATUSES), help="Only drafts in this status, e.g. pending.")
@click.option("--action", help="Only this action.")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=DEFAULT_LIMIT, show_default=True)
@click.option("--cursor", help="Continue after the previous page (printed at its end).")
def list_command(agent_name: str | None, status: str | None, action: str | None, limit: int,
                 cursor: str | None) -> None:
    ctx = make_context()
    try:
        agent = None
        if agent_name:
            with ctx.read() as session:
                agent = require_agent(session=session, name=agent_name)
        page = inbox.list_drafts(ctx=ctx, agent=agent, status=status, action=action, limit=limit, cursor=cursor)
    except CountersignError as exc:
        fail(exc)
    if not page.data:
        click.echo("no drafts" + (" match" if status or action or agent_name else " yet"))
    deciders = inbox.who_decides(ctx=ctx, draft_ids=[d.id for d in page.data if d.status == "pending"])
    now = ctx.clock.now()
    for d in page.data:
        title = visible(d.title if len(d.title) <= 60 else d.title[:59] + "…")
        created = d.created_at.strftime("%Y-%m-%dT%H:%M:%S")
        who = deciders.get(d.id)
        extra = [_age(now - d.created_at), f"${d.cost_usd:.4f}" if d.cost_usd is not None else "",
                 f"stage {d.stage}" if d.stage else "", f"claimed by {d.claimed_by}" if d.claimed_by else "",
                 f"may decide: {', '.join(who[:4])}{' …' if len(who) > 4 else ''}" if who else ""]
        more = " · ".join(part for part in extra if part)
        click.echo(f"{d.id}  {created}Z  {d.agent:<16} {d.status:<13} {d.action:<20} {title}"
                   + (f"  [{more}]" if more else ""))
    if page.next_cursor:
        click.echo(f"more: add --cursor {page.next_cursor}")


def _age(age: timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min old"
    return f"{seconds // 3600} h old" if seconds < 172800 else f"{seconds // 86400} days old"


def _user(value: str) -> str:
    if not re.match(USER_ID, value):
        from services.agents.models import ID_HINTS

        fail(field_error("--as", ID_HINTS[USER_ID]))
    return value


def _decide(draft_id: str, user: str, verdict: Verdict, *, reason: str | None = None,
            final_body: str | None = None) -> None:
    ctx = make_context()
    try:
        try:
            result = flows.decide(ctx=ctx, draft_id=draft_id, user_id=_user(user), verdict=verdict, reason=reason,
                                  final_body=final_body, via="cli")
        except Forbidden as refusal:
            unchecked = (refusal.extra or {}).get("unchecked_groups")
            if isinstance(unchecked, list) and unchecked:  # say why, so nobody thinks they were checked
                refusal.detail += (f" (membership of {', '.join(unchecked)} was not checked: Slack is off "
                                   "(SLACK_BOT_TOKEN unset))")
            raise
    except CountersignError as exc:
        fail(exc)
    click.echo(result.message)
    if result.final:
        click.echo("The agent hears through its callback or its next read; the Slack card is updated by the "
                   "server's outbox.")


AS_USER = click.option("--as", "user", required=True, help="Your Slack user id (U…): the decision is yours.")


@drafts.command(help="Approve a pending draft as a Slack user (counts towards quorum).")
@click.argument("draft_id")
@AS_USER
@click.option("--reason", help="Why; kept with the decision.")
def approve(draft_id: str, user: str, reason: str | None) -> None:
    _decide(draft_id, user, "approve", reason=reason)


@drafts.command(help="Reject a pending draft as a Slack user; one rejection ends it.")
@click.argument("draft_id")
@AS_USER
@click.option("--reason", required=True, help="Why; the agent receives it.")
def reject(draft_id: str, user: str, reason: str) -> None:
    _decide(draft_id, user, "reject", reason=reason)


@drafts.command(help="Approve a pending draft with your changes: the new text is read from a file ('-': stdin).")
@click.argument("draft_id")
@AS_USER
@click.option("--body-file", required=True, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="The edited text.")
def edit(draft_id: str, user: str, body_file: Path) -> None:
    try:
        text = sys.stdin.read() if str(body_file) == "-" else body_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(field_error("--body-file", f"can't read {body_file}: {exc}"))
    _decide(draft_id, user, "edit", final_body=text)


VERBS = {"edited": "approved with edits", "auto_approved": "auto-approved"}


def _lines(shown: DraftCard, delivered: list[str], who_may: str) -> list[str]:
    status = VERBS.get(shown.status, shown.status)
    lines = [f"{shown.id}  {status}  {shown.agent} · {shown.action}", f"title: {shown.title}",
             f"created {shown.created_at:%Y-%m-%dT%H:%M:%S}Z · expires {shown.expires_at:%Y-%m-%dT%H:%M:%S}Z"]
    facts = [f"{name} {value}" for name, value in (("cost $", shown.cost_usd), ("model", shown.model),
                                                    ("prompt", shown.prompt_version),
                                                    ("confidence", shown.confidence)) if value is not None]
    if facts:
        lines.append("facts: " + " · ".join(facts).replace("$ ", "$"))
    lines += [f"review because: {reason}" for reason in shown.review_reasons]
    if shown.requested_by:
        lines.append(f"requested by: {shown.requested_by}")
    lines.append(f"stage: {shown.stage or '(decided)'}")
    for stage in shown.stages:
        extra = f"; escalated to {', '.join(stage.escalated_to)}" if stage.escalated_to else ""
        lines.append(f"  - {stage.name}: {stage.status}, {len(stage.approved_by)} of {stage.approvals_required} "
                     f"({', '.join(stage.approved_by) or 'no approvals yet'}){extra}")
    if shown.status == "pending":
        lines.append(f"may decide: {who_may}")
        lines.append(f"claimed by: {shown.claimed_by}" if shown.claimed_by else "claimed by: nobody")
    else:
        lines.append(f"decided by: {', '.join(shown.decided_by) or 'nobody (policy or timeout)'}"
                     + (f" · reason: {shown.reason}" if shown.reason else ""))
    lines.append("callback: " + ("; ".join(delivered) if delivered else "none queued"))
    lines += ["", "text under review:" if shown.status == "pending" else "text:", shown.current_text]
    return lines


def who_may_decide(shown: DraftCard, people: list[str], groups: list[str]) -> str:
    named = ", ".join(people) or "nobody named"
    return named + (f" and members of {', '.join(groups)}" if groups else "")


@drafts.command(help="One draft in full: text, facts, votes, stages, claim and callback state.")
@click.argument("draft_id")
def show(draft_id: str) -> None:
    ctx = make_context()
    try:
        with ctx.read() as session:
            draft = service.get_draft(session=session, draft_id=draft_id)
            agent = flows.agent_of(session, draft.agent_id)
            shown = recording.card_data(session, draft, agent)
            people, groups = stages.deciders(agent, stages.open_stage(draft))
            delivered = [f"{row.status} ({row.attempts} attempt{'s' if row.attempts != 1 else ''})"
                         for row in callbacks(session=session, order_key=f"callback:{draft.card_key}")]
    except CountersignError as exc:
        fail(exc)
    click.echo("\n".join(_lines(shown, delivered, who_may_decide(shown, people, groups))))


@drafts.command(help="Say you are working on a pending draft (others still may decide it); it lapses.")
@click.argument("draft_id")
@AS_USER
def claim(draft_id: str, user: str) -> None:
    ctx = make_context()
    attempt(claims.claim, ctx=ctx, draft_id=draft_id, user_id=_user(user))
    click.echo(f"claimed by {user}; it lapses after {ctx.settings.claim_ttl_s} s unless decided")


@drafts.command(help="Give up your claim on a draft.")
@click.argument("draft_id")
@AS_USER
def release(draft_id: str, user: str) -> None:
    ctx = make_context()
    attempt(claims.release, ctx=ctx, draft_id=draft_id, user_id=_user(user))
    click.echo("released")


@drafts.command(help="Hand a draft's claim to another decider of its open stage; they get the card by DM.")
@click.argument("draft_id")
@click.option("--to", "to", required=True, help="The Slack user id (U…) to assign it to.")
@AS_USER
def assign(draft_id: str, to: str, user: str) -> None:
    ctx = make_context()
    attempt(claims.assign, ctx=ctx, draft_id=draft_id, user_id=_user(user), to=_user(to))
    click.echo(f"assigned to {to}")
