"""`countersign demo`: the whole service on a throwaway SQLite database, with a demo agent that asks for
approvals, records usage and reports an incident now and then, a sign-in link to the web app, and each callback
the agent receives printed as it arrives. Slack stays off whatever the environment says."""

from __future__ import annotations

import logging
import secrets
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path

import click

from services.cli.common import cli

DEMO_USER = "U0DEMOREVIEWER"


def _bind(port: int) -> tuple[socket.socket, str | None]:
    """The requested port, or any free one when it is busy, with a line saying so."""
    from services.cli.listen import bind_or_exit, try_bind

    try:
        return try_bind("127.0.0.1", port), None
    except OSError:
        sock = bind_or_exit("127.0.0.1", 0)
        return sock, f"Port {port} is busy: the demo runs on port {sock.getsockname()[1]} instead (--port to choose)."


@cli.command(help="Try Countersign without Slack: a throwaway database, a demo agent, and the web app.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port for the service (another if busy).")
@click.option("--interval", type=float, default=30.0, show_default=True, help="Seconds between the agent's drafts.")
def demo(port: int, interval: float) -> None:
    from services.audit.service import Actor
    from services.cli.listen import run_on
    from services.config import Settings
    from services.demo.agent import DemoAgent
    from services.demo.receiver import CallbackPrinter
    from services.demo.setup import register, seed_history
    from services.http.deadlines import server_options
    from services.main import create_app
    from services.signin import flows as signin

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    listener, moved = _bind(port)
    port = int(listener.getsockname()[1])
    workdir = Path(tempfile.mkdtemp(prefix="countersign-demo-"))
    lock = threading.Lock()

    def echo(line: str) -> None:
        with lock:
            click.echo(line)
            sys.stdout.flush()

    receiver = CallbackPrinter(echo).start()
    settings = Settings(_env_file=None, DATABASE_URL=f"sqlite:///{workdir / 'demo.db'}", SLACK_BOT_TOKEN=None,
                        SLACK_APP_TOKEN=None, SLACK_SIGNING_SECRET=None, COUNTERSIGN_HOST="127.0.0.1",
                        COUNTERSIGN_PORT=port, COUNTERSIGN_ADMIN_TOKEN=secrets.token_urlsafe(24),
                        COUNTERSIGN_CALLBACK_DENY_PRIVATE=False,  # the receiver is on loopback
                        COUNTERSIGN_PUBLIC_URL=f"http://127.0.0.1:{port}", COUNTERSIGN_ADMIN_USERS="",
                        COUNTERSIGN_AUDIT_ANCHOR_FILE=str(workdir / "audit-anchors.jsonl"))  # not in your directory
    app = create_app(settings)
    ctx = app.state.ctx
    ctx.sign_in_hint = ("Press Enter in the terminal where countersign demo runs: it prints a new sign-in link."
                        if sys.stdin is not None and sys.stdin.isatty() else
                        "Stop the demo (Ctrl-C) and start it again for a new sign-in link.")
    agent_name, api_key, secret = register(ctx, owner=DEMO_USER, callback_url=receiver.url)
    receiver.secret = secret
    seed_history(ctx, agent_name)
    link = signin.issue_link(ctx=ctx, user_id=DEMO_USER, actor=Actor.system("demo"))
    echo("\n".join([
        *([moved] if moved else []),
        "Countersign demo (Slack off; nothing here touches your own database)",
        f"  database:  sqlite ({workdir / 'demo.db'}), thrown away on exit",
        f"  web app:   http://127.0.0.1:{port}/app/   API docs: http://127.0.0.1:{port}/docs",
        f"  you are:   {DEMO_USER}, owner and approver of the agent {agent_name!r}",
        f"  agent:     posts a draft every {interval:g} s with its usage, and an incident now and then",
        f"  callbacks: the agent's receiver at {receiver.url} prints each one below",
        "",
        f"Open this link to sign in (works once, for 10 minutes; press Enter for a new one):\n  {link}",
        "",
    ]))
    agent = DemoAgent(f"http://127.0.0.1:{port}", api_key, interval_s=interval, echo=echo).start()
    if sys.stdin is not None and sys.stdin.isatty():
        def new_links() -> None:
            for _ in sys.stdin:
                fresh = signin.issue_link(ctx=ctx, user_id=DEMO_USER, actor=Actor.system("demo"))
                echo(f"New sign-in link (10 minutes, once):\n  {fresh}")

        threading.Thread(target=new_links, name="demo-links", daemon=True).start()
    try:
        run_on(app, listener, log_level="warning", **server_options(settings))
    finally:
        agent.close()
        receiver.stop()
        ctx.engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
        echo("demo stopped; its database is gone")
