"""The CLI's agent commands and serve's start-up (the README's whole walkthrough runs in
tests/test_readme_walkthrough.py)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

from services.main import startup_summary
from testkit.fakes.slack import FakeSlack
from tests.harness import make_settings
from tests.services.cli.run import cli


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "services", *args], env=env, capture_output=True, text=True)


def test_agents_add_without_owner_says_why(sqlite_url: str) -> None:
    """No owner, no agent: the CLI refuses with the reason, not a usage error."""
    result = _cli("agents", "add", "orphan", url=sqlite_url)
    assert result.returncode == 2 and "no owner, no agent" in result.stderr


def test_pause_resume_rotate_from_cli(sqlite_url: str) -> None:
    """pause, resume and rotate-key work by name and report the new state (in process: the two tests above run
    the real entry point, a process per command)."""
    assert cli("agents", "add", "a1", "--owner", "U1OWNER", url=sqlite_url).exit_code == 0
    assert "paused" in cli("agents", "pause", "a1", "--reason", "testing", url=sqlite_url).stdout
    assert '"paused_reason": "testing"' in cli("agents", "show", "a1", url=sqlite_url).stdout
    assert "active" in cli("agents", "resume", "a1", url=sqlite_url).stdout
    assert "cs_agent_" in cli("agents", "rotate-key", "a1", url=sqlite_url).stdout
    missing = cli("agents", "show", "nobody", url=sqlite_url)
    assert missing.exit_code == 2 and "no agent named" in missing.stderr


def test_startup_summary_says_why_slack_is_off(slack: FakeSlack) -> None:
    """The one-screen summary names the database, Slack's state and the reason, and the address."""
    off = startup_summary(make_settings("sqlite:///./x.db"))
    assert "sqlite" in off and "SLACK_BOT_TOKEN unset" in off and "http://127.0.0.1:8000" in off
    on = startup_summary(make_settings("postgresql://u:pw@db/cs", None, SLACK_BOT_TOKEN="xoxb-1",
                                       SLACK_APP_TOKEN="xapp-1", SLACK_API_URL=slack.url))  # auth.test asks it
    assert "Socket Mode" in on and "pw" not in on


def test_rotate_webhook_secret_from_cli(sqlite_url: str) -> None:
    """`agents rotate-webhook-secret` prints the new whsec_ secret once and until when the old one still signs."""
    assert cli("agents", "add", "a1", "--owner", "U1OWNER", url=sqlite_url).exit_code == 0
    rotated = cli("agents", "rotate-webhook-secret", "a1", url=sqlite_url)
    assert rotated.exit_code == 0, rotated.stderr
    assert re.search(r"webhook_secret: whsec_[A-Za-z0-9+/]{43}=", rotated.stdout)
    assert "also signs until" in rotated.stdout


def test_serve_on_a_busy_port_says_so_in_one_line(sqlite_url: str) -> None:
    """A taken port: one line naming it and --port, exit 1, and no summary claiming to listen."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port), url=sqlite_url)
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"countersign: port {port} on 127.0.0.1 is already in use; stop what uses it "
                                     "or choose another with --port.")
    assert "listening" not in result.stdout
