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
    from services.cli.common import check_database
    from services.config import get_settings
    from services.db import make_engine

    settings = get_settings()
    check_database(settings, create=True)
    migrations.upgrade(make_engine(settings.database_url))
    click.echo("database is up to date")
