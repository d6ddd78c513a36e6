"""`countersign evals export [--agent NAME] [--action A] [--since ISO] > file.jsonl`."""

from __future__ import annotations

import json
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


@evals_group.command("replay", help="Run past decided drafts' context.input through a prompt version's text with the "
                                    "OpenAI API and compare each output with the human decision.")
@click.option("--agent", "agent_name", required=True, help="The agent.")
@click.option("--action", required=True, help="The action whose drafts to replay.")
@click.option("--prompt-version", "version", required=True, help="The registered prompt version to run.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000), help="The newest N drafts.")
@click.option("--model", help="The model to run (default: the one the drafts used most).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True),
              help="Where to write the JSONL report (default: replay-AGENT-ACTION-VERSION.jsonl here).")
def replay(agent_name: str, action: str, version: str, limit: int, model: str | None, out: str | None) -> None:
    from services.oversight.flows import replay_version
    from services.oversight.replay import OUTCOMES

    ctx = make_context()
    if ctx.llm is None:
        click.echo("error: OPENAI_API_KEY is not set: eval replay runs past drafts through the OpenAI API. Set it "
                   "(and OPENAI_BASE_URL for another endpoint) and run again.", err=True)
        raise SystemExit(2)
    try:
        figures, rows, attached = replay_version(ctx=ctx, agent_name=agent_name, action=action, version=version,
                                                 limit=limit, model=model)
    except CountersignError as exc:
        fail(exc)
    path = out or re.sub(r"[^A-Za-z0-9._-]", "_", f"replay-{agent_name}-{action}-{version}.jsonl")
    with open(path, "w", encoding="utf-8") as report:
        for row in rows:
            report.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    overall = figures["agreement"]
    click.echo(f"{action} {version} with {figures['model']}: {figures['drafts']} decided drafts replayed"
               f" ({figures['failed']} failed, {figures['skipped']} without context.input)")
    labels = {"approved": "approved unedited", "edited": "edited", "rejected": "rejected"}
    for outcome in OUTCOMES:
        o = figures["outcomes"][outcome]
        rate = "n/a" if o["rate"] is None else f"{o['rate']:.0%}"
        click.echo(f"  {labels[outcome]:<18} {o['agreed']}/{o['drafts']} agree ({rate})")
    click.echo(f"  overall            {'n/a' if overall is None else f'{overall:.0%}'}")
    click.echo(f"report: {path}")
    click.echo("attached to the prompt-change card" if attached else "not attached: the version is no longer pending")
