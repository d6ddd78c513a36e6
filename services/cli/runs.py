"""`countersign runs list|show|decide`: halted runs without Slack.

A decision from here is the named Slack user's, under the rule of the Slack card's buttons (the agent's owner,
a backup owner or an admin), through the same flow (services.runs.flows.decide_halt); a refusal is audited and
the audit log says the decision came through the CLI. The agent hears through its callback, as after a click.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import click

from services.agents.models import ID_HINTS, USER_ID
from services.agents.service import require_agent
from services.cli.common import attempt, cli, emit, fail, make_context
from services.db import require_id
from services.errors import CountersignError, field_error
from services.runs import flows, queries, service
from services.runs.models import RunPublic


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "—"


@cli.group(help="Runs of critical processes: list them, show one, and answer a halted one (resume, abort, "
                "hand over) without Slack.")
def runs() -> None:
    pass


@runs.command("list", help="Halted runs first (they wait for an answer), then the latest others, one line each.")
@click.option("--agent", "agent_name", help="Only this agent's runs.")
@click.option("--limit", type=click.IntRange(1, 1000), default=queries.RECENT, show_default=True)
@click.option("--format", "format_", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_command(agent_name: str | None, limit: int, format_: str) -> None:
    ctx = make_context()
    try:
        with ctx.read() as session:
            agent_ids = [require_id(require_agent(session=session, name=agent_name).id)] if agent_name else None
            lines = queries.listing(session=session, agent_ids=agent_ids, limit=limit)
    except CountersignError as exc:
        fail(exc)
    if format_ == "json":
        emit([{"id": line.run.id, "agent": line.agent, **RunPublic.of(line.run).model_dump(mode="json"),
               "choices": line.choices} for line in lines])
        return
    if not lines:
        click.echo("no runs" + (" for this agent" if agent_name else " yet"))
    for line in lines:
        run = line.run
        said = "waits for" if run.status == "halted" else "may still choose"  # a run that came back runs on
        waiting = f"  {said}: {'|'.join(line.choices)}" if line.choices else ""
        click.echo(f"{run.id}  {line.agent:<16} {run.status:<10} {(run.name or run.run_id)[:40]:<40} "
                   f"last step: {run.last_step or '—'}{waiting}")


@runs.command(help="One run (its id run_…, or the agent's run_id): status, last step, halt, decision, history.")
@click.argument("run_ref", metavar="RUN_ID")
@click.option("--format", "format_", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(run_ref: str, format_: str) -> None:
    ctx = make_context()
    try:
        with ctx.read() as session:
            found = queries.detail(session=session, run=service.find(session=session, ref=run_ref))
    except CountersignError as exc:
        fail(exc)
    run = found.run
    history = [{"at": e.created_at.isoformat(), "what": e.verb, "by": f"{e.actor_type}:{e.actor_id}",
                "details": e.details} for e in found.history]
    if format_ == "json":
        emit({"id": run.id, "agent": found.agent.name, **RunPublic.of(run).model_dump(mode="json"),
              "choices": found.choices, "history": history})
        return
    click.echo(f"run {run.id} of {found.agent.name}: {run.status}")
    rows: list[tuple[str, Any]] = [
        ("run_id", run.run_id), ("name", run.name), ("last step", run.last_step or "none reported"),
        ("started", _stamp(run.started_at)), ("last beat", _stamp(run.last_beat_at)), ("beats", run.beats)]
    if run.halts:
        rows.append(("halted", f"{_stamp(run.halted_at)} ({run.halt_reason}), {run.halts} time(s)"))
    if found.incident is not None:
        rows.append(("incident", f"#{found.incident.id} {found.incident.status}"))
    if run.halt_decision:
        rows.append(("decision", f"{run.halt_decision} by {run.halt_decided_by} at {_stamp(run.halt_decided_at)}"))
    if run.finished_at:
        rows.append(("finished", f"{_stamp(run.finished_at)}" + (f": {run.finish_note}" if run.finish_note else "")))
    for label, value in rows:
        if value is not None:
            click.echo(f"  {label + ':':<11} {value}")
    if found.choices:
        click.echo(f"\n{'waits for an answer' if run.status == 'halted' else 'may still be answered'}: "
                   f"countersign runs decide {run.id} {'|'.join(found.choices)} --as U…")
    click.echo("\nhistory:")
    for item in history:
        click.echo(f"  {item['at'][:19]}Z  {item['what']:<22} {item['by']}")


@runs.command(help="Answer a halted run as a Slack user (its agent's owner, a backup owner or an admin): resume, "
                   "abort or hand over to a person. The agent hears through its callback.")
@click.argument("run_ref", metavar="RUN_ID")
@click.argument("choice", type=click.Choice(["resume", "abort", "handoff"]))
@click.option("--as", "user", required=True, help="Your Slack user id (U…): the decision is yours.")
def decide(run_ref: str, choice: str, user: str) -> None:
    if not re.match(USER_ID, user):
        fail(field_error("--as", ID_HINTS[USER_ID]))
    ctx = make_context()
    run = attempt(flows.decide_run, ctx=ctx, run_ref=run_ref, choice=choice, user=user, via="cli")
    click.echo(f"{choice} chosen for run {run.run_id}; the agent hears through its callback (or its next read of "
               "the run), and the Slack card is updated by the server's outbox.")
