"""`countersign db upgrade`."""

from __future__ import annotations

import click

from services.cli.common import cli


@cli.group(help="Database schema.")
def db() -> None:
    pass


@db.command(help="Apply every pending migration.")
def upgrade() -> None:
    from services import migrations
    from services.config import get_settings
    from services.db import make_engine

    migrations.upgrade(make_engine(get_settings().database_url))
    click.echo("database is up to date")
