"""`countersign evals export [--agent NAME] [--action A] [--since ISO] > file.jsonl`."""

from __future__ import annotations

import re

import click

from services.agents.models import SLUG
from services.agents.service import require_agent
from services.autonomy import evals
from services.cli.common import cli, fail, make_context
from services.errors import CountersignError, field_error


@cli.group("evals", help="Evaluation sets built from real human decisions.")
def evals_group() -> None:
    pass


@evals_group.command("export", help="Every decided draft as JSON Lines on stdout (the same rows as GET /v1/evals).")
@click.option("--agent", "agent_name", help="Only this agent's drafts.")
@click.option("--action", help="Only this action.")
@click.option("--since", help="Only drafts decided at or after this ISO 8601 date or time (UTC if no zone).")
def export(agent_name: str | None, action: str | None, since: str | None) -> None:
    ctx = make_context()
    try:
        if action is not None and not re.match(SLUG, action):
            raise field_error("action", "must be an action name: lower-case letters, digits, - and _")
        when = evals.parse_since(since, field="--since")
        agent_id = None
        if agent_name:
            with ctx.read() as session:
                agent_id = require_agent(session=session, name=agent_name).id
    except CountersignError as exc:
        fail(exc)
        return
    out = click.get_text_stream("stdout")
    for line in evals.lines(ctx.read, agent_id=agent_id, action=action, since=when):
        out.write(line)
    out.flush()
