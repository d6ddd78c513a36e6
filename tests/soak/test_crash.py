"""Crash: SIGKILL the server in the middle of mixed traffic, start it again on the same database. Everything
accepted before the kill is delivered, nothing twice (beyond a retry of a delivery in flight at the kill, under
the same delivery id), and no escalation step is lost or repeated."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from testkit.live import countersign_server, register_agent
from tests.soak import checks
from tests.soak.traffic import ALICE, QUICK_CHAIN, Ledger, Traffic, warm_up_bolt

LEASE_S = 3
BEFORE_KILL, AFTER_RESTART = 20, 10  # drafts accepted before the kill, and after the restart


@pytest.mark.timeout(300)  # live servers, drains (and a digest minute) can outlast 120 s on a busy box
def test_sigkill_mid_traffic_then_restart(tmp_path: Path) -> None:
    """Work accepted before a SIGKILL survives it: delivered after the restart, once."""
    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    with FakeSlack(token=None) as slack, FakeAgentReceiver() as receiver, \
            countersign_server(db_url, slack_url=slack.url, COUNTERSIGN_TICK_SECONDS=0.2,
                               COUNTERSIGN_OUTBOX_LEASE_S=LEASE_S) as server:
        agents = [register_agent(server.base_url, f"crash-{i}", callback_url=receiver.url, approvers=[ALICE],
                                 escalation_chain=QUICK_CHAIN) for i in range(2)]
        warm_up_bolt(server.base_url)
        receiver.fail_rate(0.2, seed=7)  # retries are pending across the crash (seed 7 fails the 2nd delivery)
        traffic = Traffic([server.base_url], agents, slack, seed=7)
        ledger = traffic.ledger
        stop = threading.Event()
        results: list[Ledger] = []
        driver = threading.Thread(target=lambda: results.append(asyncio.run(traffic.run(120, stop=stop))))
        driver.start()
        try:
            # Kill once drafts are flowing, clicks have been acked and a callback failed: work is pending in every
            # queue, a delivery retry among it.
            checks.wait_until(lambda: len(ledger.drafts) >= BEFORE_KILL and any(dict(ledger.clicked).values())
                              and any(d.failed for d in receiver.deliveries), 60, "traffic before the kill")
            killed_at = time.time()
            server.kill()
            time.sleep(0.5)
            server.start()
            restarted_at = time.time()
            warm_up_bolt(server.base_url)
            accepted = len(ledger.drafts)  # and traffic goes on against the restarted server for a while
            checks.wait_until(lambda: len(ledger.drafts) >= accepted + AFTER_RESTART, 60, "traffic after the restart")
        finally:
            stop.set()
            driver.join(60)
        [ledger] = results
        assert not ledger.errors, ledger.errors[:10]
        assert ledger.unavailable > 0, "the kill should have been felt by the traffic"
        assert ledger.drafts and ledger.clicked  # accepted = answered 2xx, before or after the kill
        counts = checks.wait_drained(db_url)
        assert counts.get("dead", 0) == 0, counts
        checks.wait_until(lambda: checks.incidents_done(server.base_url, ledger, 3), 30, "escalations to finish")
        checks.wait_drained(db_url)
        crash = (killed_at - 1, restarted_at + LEASE_S + 5)
        summary = checks.check_drafts(server.base_url, ledger, slack, receiver, crash=crash)
        print(f"crash: {summary}, unavailable {ledger.unavailable}, incidents {len(ledger.incidents)}")
    assert "audit chain intact" in checks.audit_verify(db_url)
