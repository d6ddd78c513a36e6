"""Durable timers: a restart mid-chain loses no step, and two app instances on one PostgreSQL database take
each step exactly once."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from services.errors import AlreadyDecided
from services.incidents import flows
from services.incidents.models import IncidentEvent
from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import BACKUP, OWNER, REVIEW_CHANNEL, Harness
from tests.services.incidents.helpers import CHAIN, cards_in, incident, report

pytestmark = pytest.mark.postgres_too  # see tests/conftest.py: which tests run on PostgreSQL


def test_restart_mid_chain_continues(db_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> None:
    """The next step's time lives in the row: a new process on the same database picks the chain up."""
    clock = FakeClock()
    with Harness(db_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as first:
        key = first.register(escalation_chain=CHAIN)["api_key"]
        created = report(first, key)
        first.drain()
    clock.advance(60)
    with Harness(db_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as second:
        second.run_jobs()
        second.drain()
        assert len(cards_in(slack, BACKUP)) == 1
        clock.advance(60)
        second.run_jobs()
        second.drain()
        assert len(cards_in(slack, REVIEW_CHANNEL)) == 1
        assert [s["note"] for s in incident(second, key, created["id"])["steps_taken"]] == ["owner", "backups",
                                                                                             "channel"]


def test_two_instances_on_postgres_send_each_step_exactly_once(pg_url: str, slack: FakeSlack,
                                                               receiver: FakeAgentReceiver) -> None:
    """Both instances run the escalation job at the same moments; every step is taken and sent once."""
    clock = FakeClock()
    chain = [{"notify": "owner"}, {"wait_s": 30}, {"notify": "backups"}, {"notify": "channel"}]
    with Harness(pg_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as a, \
            Harness(pg_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as b:
        keys = [a.register(f"agent-{n}", escalation_chain=chain)["api_key"] for n in range(6)]
        opened = [report(a if n % 2 else b, key) for n, key in enumerate(keys) for _ in range(2)]
        clock.advance(30)
        for _ in range(4):
            threads = [threading.Thread(target=h.run_jobs) for h in (a, b, a, b)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        a.drain()
        b.drain()
        with a.ctx.uow() as session:
            steps = session.exec(select(IncidentEvent).where(IncidentEvent.kind == "step")).all()
        taken = sorted((e.incident_id, e.note) for e in steps)
        expected = sorted((i["id"], note) for i in opened for note in ("owner", "backups", "channel"))
        assert taken == expected
        assert len(cards_in(slack, BACKUP)) == len(opened) and len(cards_in(slack, REVIEW_CHANNEL)) == len(opened)
        assert len(cards_in(slack, OWNER)) == len(opened)


def test_ack_on_one_instance_stops_the_chain_on_the_other(db_url: str, slack: FakeSlack,
                                                          receiver: FakeAgentReceiver) -> None:
    """Two clicks racing on two instances: one acknowledgement wins, and neither instance escalates after it."""
    clock = FakeClock()
    with Harness(db_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as a, \
            Harness(db_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as b:
        key = a.register(escalation_chain=CHAIN)["api_key"]
        created = report(a, key)
        outcomes: list[str] = []

        def ack(h: Harness, user: str) -> None:
            try:
                flows.acknowledge(ctx=h.ctx, incident_id=created["id"], user=user)
                outcomes.append("won")
            except AlreadyDecided:
                outcomes.append("refused")

        threads = [threading.Thread(target=ack, args=(h, user)) for h, user in ((a, OWNER), (b, BACKUP))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["refused", "won"]
        clock.advance(600)
        a.run_jobs()
        b.run_jobs()
        a.drain()
        b.drain()
        assert not cards_in(slack, BACKUP) and not cards_in(slack, REVIEW_CHANNEL)
        assert incident(a, key, created["id"])["status"] == "acknowledged"


def test_concurrent_reports_with_one_dedup_key_make_one_incident(db_url: str, slack: FakeSlack,
                                                                 receiver: FakeAgentReceiver) -> None:
    """Eight reports racing with the same dedup_key: one incident (one 201), its occurrences counting all eight."""
    with Harness(db_url, slack=slack, receiver=receiver, clock=FakeClock(), jobs=[]) as h:
        key = h.register(escalation_chain=CHAIN)["api_key"]
        codes: list[int] = []
        body = {"kind": "error", "severity": "high", "summary": "same thing", "dedup_key": "same"}

        def send() -> None:
            codes.append(h.client.post("/v1/incidents", json=body, headers=h.bearer(key)).status_code)

        threads = [threading.Thread(target=send) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(codes) == [200] * 7 + [201]
        h.drain()
        assert len(cards_in(slack, OWNER)) == 1
        assert report(h, key, dedup_key="same")["occurrences"] == 9
