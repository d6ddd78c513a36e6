"""`countersign agents add|list|show|pause|resume|rotate-key|rotate-webhook-secret`."""

from __future__ import annotations

import click
from pydantic import ValidationError

from services.agents import flows, service
from services.agents.models import AgentCreate, AgentPublic
from services.audit.service import Actor
from services.cli.common import attempt, cli, database_options, emit, fail, make_context, validation_failed
from services.errors import CountersignError

CLI_ACTOR = Actor("admin", "cli")


@cli.group(help="Register and manage agents.")
def agents() -> None:
    pass


@agents.command("add", help="Register an agent; prints its API key and webhook secret once.")
@click.argument("name")
@click.option("--owner", help="Slack user id of the accountable owner (U…); required: no owner, no agent.")
@click.option("--channel", "review_channel", help="Review channel id (C…).")
@click.option("--backup", "backup_owners", multiple=True, help="Backup owner (U…); repeatable.")
@click.option("--approver", "approvers", multiple=True, help="Approver (U…); repeatable.")
@click.option("--approver-group", "approver_groups", multiple=True, help="Approver user group (S…); repeatable.")
@click.option("--callback-url", help="Where decisions are POSTed.")
@database_options
def add(name: str, owner: str | None, review_channel: str | None, backup_owners: tuple[str, ...],
        approvers: tuple[str, ...], approver_groups: tuple[str, ...], callback_url: str | None) -> None:
    try:
        data = AgentCreate(name=name, owner=owner, review_channel=review_channel, backup_owners=list(backup_owners),
                           approvers=list(approvers), approver_groups=list(approver_groups), callback_url=callback_url)
        service.require_owner(data)  # refused before a database is opened, let alone created
    except ValidationError as exc:
        validation_failed(exc)
    except CountersignError as exc:
        fail(exc)
    ctx = make_context(create=True)
    try:
        with ctx.uow() as session:
            created = flows.register_agent(session=session, ctx=ctx, data=data, actor=CLI_ACTOR)
    except CountersignError as exc:
        fail(exc)
        return
    click.echo(f"agent {created.name} registered; owner {created.owner}")
    click.echo(f"api_key:        {created.api_key}")
    click.echo(f"webhook_secret: {created.webhook_secret}")
    click.echo("These are shown once. Store them in the agent's secret store now.")
    for warning in created.warnings:
        click.echo(f"warning: {warning}", err=True)


@agents.command("list", help="One line per agent.")
def list_command() -> None:
    ctx = make_context()
    with ctx.uow() as session:
        rows = service.list_agents(session=session)
    if not rows:
        click.echo("no agents yet: countersign agents add NAME --owner U…")
    for agent in rows:
        click.echo(f"{agent.name:<24} {agent.status:<7} owner {agent.owner}  channel {agent.review_channel or '-'}")


@agents.command(help="Everything about one agent, as JSON.")
@click.argument("name")
def show(name: str) -> None:
    ctx = make_context()
    try:
        with ctx.uow() as session:
            emit(AgentPublic.of(service.require_agent(session=session, name=name)).model_dump(mode="json"))
    except CountersignError as exc:
        fail(exc)


@agents.command(help="Pause an agent: its writes get 423 until resumed.")
@click.argument("name")
@click.option("--reason", help="Shown to the agent and the owner.")
def pause(name: str, reason: str | None) -> None:
    ctx = make_context()
    agent = attempt(flows.pause_by_name, ctx=ctx, name=name, actor=CLI_ACTOR, reason=reason)
    click.echo(f"{agent.name} is {agent.status}")


@agents.command(help="Resume a paused agent.")
@click.argument("name")
def resume(name: str) -> None:
    ctx = make_context()
    agent = attempt(flows.resume_by_name, ctx=ctx, name=name, actor=CLI_ACTOR)
    click.echo(f"{agent.name} is {agent.status}")


@agents.command("rotate-key", help="Issue a new API key; the old one stops working at once.")
@click.argument("name")
def rotate_key(name: str) -> None:
    ctx = make_context()
    result = attempt(flows.rotate_key, ctx=ctx, name=name, actor=CLI_ACTOR)
    click.echo(f"api_key: {result['api_key']}  (shown once)")


@agents.command("rotate-webhook-secret",
                help="Issue a new webhook secret; for 24 hours callbacks are signed with the old one too.")
@click.argument("name")
def rotate_webhook_secret(name: str) -> None:
    ctx = make_context()
    result = attempt(flows.rotate_webhook_secret, ctx=ctx, name=name, actor=CLI_ACTOR)
    click.echo(f"webhook_secret: {result.webhook_secret}  (shown once)")
    click.echo(f"the previous secret also signs until {result.previous_valid_until.isoformat()}")
