"""`countersign serve`: migrate, then run the HTTP server, the Slack app and the scheduler."""

from __future__ import annotations

import logging

import click

from services.cli.common import cli


@cli.command(help="Migrate the database, then run the HTTP server, the Slack app and the scheduler.")
@click.option("--host", default=None, help="Overrides COUNTERSIGN_HOST.")
@click.option("--port", type=int, default=None, help="Overrides COUNTERSIGN_PORT.")
def serve(host: str | None, port: int | None) -> None:
    from services.cli.listen import bind_or_exit, run_on
    from services.config import get_settings
    from services.main import create_app, startup_summary
    from services.signin import addresses

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every job run at INFO, once a tick per job: that would drown everything else.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    settings = get_settings()
    if host:
        settings.host = host
    if port is not None:
        settings.port = port
    sock = bind_or_exit(settings.host, settings.port)  # before the summary says "listening"
    settings.port = sock.getsockname()[1]  # --port 0 asks for any free port: name the one given
    click.echo(startup_summary(settings))
    app = create_app(settings)
    ctx = app.state.ctx
    listening = addresses.bind_url(settings.host, settings.port)
    addresses.record_listening(ctx=ctx, url=listening)
    try:
        run_on(app, sock, log_level="info")
    finally:
        addresses.forget_listening(ctx=ctx, url=listening)
