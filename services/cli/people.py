"""`countersign people away|back|list`: who is away, until when, and who stands in for them."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from services.audit.service import Actor
from services.cli.common import attempt, cli, make_context
from services.people import flows

CLI = Actor.system("cli")


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO time; try 2026-12-24T09:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@cli.group(help="People away: who stands in for whom, until when.")
def people() -> None:
    pass


@people.command("away", help="Mark a person away until a time; what is meant for them goes to the delegate.")
@click.argument("user")
@click.option("--until", "until", required=True, help="ISO time the absence ends, e.g. 2026-12-24T09:00:00Z "
                                                       "(UTC when no zone is given).")
@click.option("--delegate", required=True, help="Slack user id of the person who stands in.")
def away(user: str, until: str, delegate: str) -> None:
    ctx = make_context()
    row = attempt(flows.set_away, ctx=ctx, user_id=user.strip().lstrip("@"), until=_moment(until),
                  delegate=delegate.strip().lstrip("@"), actor=CLI)
    click.echo(f"{row.user} is away until {row.until:%Y-%m-%d %H:%M}Z; {row.delegate} stands in: DMs, reminders, "
               f"pages and escalations go to them, and they may decide wherever {row.user} could.")


@people.command("back", help="End a person's absence now.")
@click.argument("user")
def back(user: str) -> None:
    ctx = make_context()
    row = attempt(flows.set_back, ctx=ctx, user_id=user.strip().lstrip("@"), actor=CLI)
    click.echo(f"{row.user} is back; {row.delegate} no longer stands in for them.")


@people.command("list", help="Who is away now, and who stands in for them.")
def list_command() -> None:
    ctx = make_context()
    rows = flows.list_away(ctx=ctx)
    if not rows:
        click.echo("nobody is away")
    for row in rows:
        click.echo(f"{row.user:<12} away until {row.until:%Y-%m-%d %H:%M}Z  delegate {row.delegate:<12} "
                   f"(set by {row.set_by})")
