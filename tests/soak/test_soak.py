"""Soak with faults: mixed traffic against a real server process on SQLite while the fake Slack answers 10 % of
calls with 429 or 500 and the agents' receiver fails 20 % of deliveries. After the queues drain: every accepted
draft has exactly one card and its final update, every decision reached its agent exactly once by delivery id,
every escalation step ran once, the audit chain verifies, nothing is lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from testkit.live import countersign_server, register_agent
from tests.soak import checks
from tests.soak.traffic import ALICE, QUICK_CHAIN, Ledger, Traffic, warm_up_bolt

# The CI run: traffic until this many drafts are accepted (with a click, a usage event, an incident and a
# heartbeat among the rest), a few seconds on an idle box; a fixed volume, so a loaded box still sends enough.
CI_DRAFTS = 60


def soak(db_url: str, seconds: float, *, drafts: int | None = None) -> None:
    """Traffic for `seconds`, or until `drafts` drafts (and some of every other kind) are accepted."""
    with FakeSlack(token=None) as slack, FakeAgentReceiver() as receiver, \
            countersign_server(db_url, slack_url=slack.url, COUNTERSIGN_TICK_SECONDS=0.2) as server:
        agents = [register_agent(server.base_url, f"soak-{i}", callback_url=receiver.url, approvers=[ALICE],
                                 escalation_chain=QUICK_CHAIN) for i in range(3)]
        warm_up_bolt(server.base_url)
        slack.fail_rate(0.1, statuses=(429, 500))
        receiver.fail_rate(0.2, seed=7)  # fails among the first few deliveries (seed 0: not before the 26th)

        def enough(ledger: Ledger) -> bool:
            return drafts is not None and len(ledger.drafts) >= drafts and bool(
                ledger.clicked and ledger.usage and ledger.incidents and ledger.heartbeats)

        traffic = Traffic([server.base_url], agents, slack)
        ledger = asyncio.run(traffic.run(seconds, until=enough if drafts is not None else None))
        assert not ledger.errors, ledger.errors[:10]
        assert ledger.unavailable == 0
        assert len(ledger.drafts) > 20 and ledger.clicked and ledger.usage and ledger.incidents and ledger.heartbeats
        counts = checks.wait_drained(db_url)
        assert counts.get("dead", 0) == 0, counts
        checks.wait_until(lambda: checks.incidents_done(server.base_url, ledger, 3), 30, "escalations to finish")
        checks.check_incidents(server.base_url, ledger, chain_steps=3)
        checks.wait_drained(db_url)
        summary = checks.check_drafts(server.base_url, ledger, slack, receiver)
        assert summary["decided"] >= len(ledger.clicked)
        assert any(c.injected for c in slack.calls) and any(d.failed for d in receiver.deliveries)
        print(f"soak: {summary}, usage {ledger.usage}, incidents {len(ledger.incidents)}, "
              f"heartbeats {ledger.heartbeats}, slack calls {len(slack.calls)}, deliveries {len(receiver.deliveries)}")
    assert "audit chain intact" in checks.audit_verify(db_url)


@pytest.mark.timeout(300)  # live servers, drains (and a digest minute) can outlast 120 s on a busy box
def test_soak_with_faults(tmp_path: Path) -> None:
    """A few seconds of mixed traffic under injected Slack and callback failures keeps every promise."""
    soak(f"sqlite:///{tmp_path / 'soak.db'}", 120, drafts=CI_DRAFTS)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_long_soak_with_faults(tmp_path: Path) -> None:
    """The same for ten minutes (--runslow)."""
    soak(f"sqlite:///{tmp_path / 'soak.db'}", 600)
