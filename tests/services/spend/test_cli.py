"""`countersign budgets …` and `countersign digest …` from the command line, as an operator would run them."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner
from sqlmodel import select

import services.cli.budgets  # noqa: F401  (attaches its commands)
from services.cli.common import cli as countersign
from services.config import get_settings
from services.outbox.models import OutboxMessage
from tests.harness import Harness


def cli(*args: str, url: str) -> Any:
    """In process (a subprocess per call costs seconds); settings are re-read for the given database."""
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(countersign, list(args), env={"DATABASE_URL": url, "SLACK_BOT_TOKEN": None,
                                                                   "OPENAI_API_KEY": None})
    finally:
        get_settings.cache_clear()
    result.returncode = result.exit_code
    return result


def test_budgets_and_prices_from_the_cli(sqlite_url: str) -> None:
    """Set a team budget and a price override, list them, refuse a bad one, remove them."""
    made = cli("budgets", "set", "--scope", "team", "--team", "freight", "--period", "week", "--limit", "50",
               "--threshold", "0.9", url=sqlite_url)
    assert made.returncode == 0, made.stderr
    budget = json.loads(made.stdout)
    assert (budget["team"], budget["thresholds"]) == ("freight", [0.9])
    bad = cli("budgets", "set", "--scope", "team", "--period", "week", "--limit", "50", url=sqlite_url)
    assert bad.returncode == 2 and "a team budget names its team" in bad.stderr
    price = cli("budgets", "price-override", "inhouse-7b", "--input", "0.1", "--output", "0.2", url=sqlite_url)
    assert price.returncode == 0 and json.loads(price.stdout)["cached_input_per_mtok"] is None
    assert "inhouse-7b" in cli("budgets", "prices", url=sqlite_url).stdout
    assert cli("budgets", "remove", str(budget["id"]), url=sqlite_url).returncode == 0
    missing = cli("budgets", "price-remove", "nope", url=sqlite_url)
    assert missing.returncode == 2 and "no price override" in missing.stderr


def test_digest_schedule_and_send_from_the_cli(sqlite_url: str) -> None:
    """Schedules add with defaults and list; `digest send` queues the digest in the outbox for Slack."""
    added = cli("digest", "schedule", "add", "--channel", "C0DIGEST", url=sqlite_url)
    assert added.returncode == 0, added.stderr
    assert [s["cron"] for s in json.loads(added.stdout)] == ["0 9 * * *", "0 9 * * mon"]
    assert cli("digest", "schedule", "add", "--channel", "C0DIGEST", "--cron", "nope", url=sqlite_url).returncode == 2
    sent = cli("digest", "send", url=sqlite_url)
    assert sent.returncode == 0 and "1 channel(s)" in sent.stdout, sent.stderr
    with Harness(sqlite_url, run_background=False) as h, h.ctx.read() as session:
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "C0DIGEST")).all()
    assert [row.method for row in queued] == ["chat.postMessage"]  # no spend yet: no chart to upload
