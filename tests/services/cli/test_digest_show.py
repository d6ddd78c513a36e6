"""`countersign digest show`: the digest printed here, as text or JSON, with its chart; nothing sent or recorded."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlmodel import func, select

from services.agents.service import require_agent
from services.audit.models import AuditEntry
from services.digests.models import DigestRun
from services.outbox.models import OutboxMessage
from services.spend.service import add_to_rollup
from tests.harness import Harness
from tests.services.cli.run import cli


def seed(url: str) -> str:
    """Yesterday's spend (UTC, the CLI's default zone): quoter $1.50 of a $2 daily budget ($0.20 wasted), billing
    $0.50. Returns yesterday's date."""
    yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
    with Harness(url, run_background=False) as h:
        h.register("quoter", budgets=[{"period": "day", "limit_usd": 2}])
        h.register("billing")
        with h.ctx.uow() as session:
            for name, cost, waste in (("quoter", 1.5, 0.2), ("billing", 0.5, 0.0)):
                agent = require_agent(session=session, name=name)
                add_to_rollup(session=session, agent_id=agent.id or 0, model="gpt-4o-mini", day=yesterday,
                              cost=cost, waste=waste)
    return yesterday.isoformat()


def test_digest_show_prints_it_and_sends_nothing(sqlite_url: str, tmp_path: Path) -> None:
    """Text by default (plain words, no Slack markup); JSON and a PNG chart on request; one agent with --agent;
    nothing reaches the outbox, no digest run or audit entry is written."""
    yesterday = seed(sqlite_url)
    text = cli("digest", "show", url=sqlite_url)
    assert text.exit_code == 0, text.output
    out = text.stdout
    assert out.startswith(f"Countersign digest: {yesterday}\n") and "Waste: $0.20 (10% of spend)" in out
    assert "  quoter: $1.50 of $2.00 (75%) new" in out and "  billing: $0.50 new" in out
    assert "$2.00 spent for 0 approved outcome(s)" in out and "*" not in out and ":dart:" not in out
    chart = tmp_path / "digest.png"
    shown = cli("digest", "show", "--agent", "quoter", "--format", "json", "--chart", str(chart), url=sqlite_url)
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert [line["name"] for line in data["by_agent"]] == ["quoter"] and data["total_usd"] == 1.5
    assert data["agent"] == "quoter" and data["narrative"]["source"] == "template"
    assert [b["name"] for b in data["budgets"]] == ["quoter daily"] and data["period"]["start"] == yesterday
    assert chart.read_bytes().startswith(b"\x89PNG") and f"chart written to {chart}" in shown.stderr
    so_far = cli("digest", "show", "--period", "week", "--so-far", url=sqlite_url)
    assert so_far.exit_code == 0 and ", so far (to " in so_far.stdout.splitlines()[0]
    missing = cli("digest", "show", "--agent", "nobody", url=sqlite_url)
    assert missing.exit_code == 2 and "no agent named 'nobody'" in missing.stderr
    with Harness(sqlite_url, run_background=False) as h, h.ctx.read() as session:
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == 0
        assert session.exec(select(func.count()).select_from(DigestRun)).one() == 0
        assert not session.exec(select(AuditEntry).where(AuditEntry.verb.startswith("digest."))).all()  # type: ignore[attr-defined]


def test_send_without_a_channel_points_at_show(sqlite_url: str) -> None:
    """No channel and no schedule: one clear line naming --channel and the show command for the same digest;
    with a channel but no Slack, it says the digest waits and how to read it now."""
    refused = cli("digest", "send", "--so-far", url=sqlite_url)
    assert refused.exit_code == 2 and refused.stderr.count("no digest schedule exists") == 1
    assert "`countersign digest show --period day --so-far`" in refused.stderr
    queued = cli("digest", "send", "--channel", "C0DIGEST", url=sqlite_url)
    assert queued.exit_code == 0 and "Slack is off (SLACK_BOT_TOKEN unset)" in queued.stderr
    assert "countersign digest show" in queued.stderr
