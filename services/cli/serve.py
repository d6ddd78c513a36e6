"""`countersign serve`: migrate, then run the HTTP server, the Slack app and the scheduler."""

from __future__ import annotations

import logging

import click
import uvicorn

from services.cli.common import cli


@cli.command(help="Migrate the database, then run the HTTP server, the Slack app and the scheduler.")
@click.option("--host", default=None, help="Overrides COUNTERSIGN_HOST.")
@click.option("--port", type=int, default=None, help="Overrides COUNTERSIGN_PORT.")
def serve(host: str | None, port: int | None) -> None:
    from services.config import get_settings
    from services.http.deadlines import server_options
    from services.main import create_app, startup_summary

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every job run at INFO, once a tick per job: that would drown everything else.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    settings = get_settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    click.echo(startup_summary(settings))
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False,
                **server_options(settings))
