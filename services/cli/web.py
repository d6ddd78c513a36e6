"""`countersign web login-link U…`: print a one-time sign-in link to the web app for that person."""

from __future__ import annotations

import click

from services.audit.service import Actor
from services.cli.common import attempt, cli, make_context
from services.signin import flows as signin


@cli.group(help="The review web app at /app/.")
def web() -> None:
    pass


@web.command("login-link", help="Print a one-time sign-in link (10 minutes, single use) for a Slack user id.")
@click.argument("user")
def login_link(user: str) -> None:
    ctx = make_context()
    url = attempt(signin.issue_link, ctx=ctx, user_id=user.strip().lstrip("@"), actor=Actor.system("cli"))
    click.echo(url)
    click.echo(f"Signs in {user} once, within 10 minutes. Set COUNTERSIGN_PUBLIC_URL if people reach this "
               "service at another address.", err=True)
