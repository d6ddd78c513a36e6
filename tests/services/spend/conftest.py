"""A harness on a fake clock (Monday 2026-01-05 09:00 UTC) with the scheduler stopped: tests move time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import Harness


@pytest.fixture
def timed(db_url: str, slack: FakeSlack, receiver: FakeAgentReceiver, clock: FakeClock) -> Iterator[Harness]:
    with Harness(db_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as h:
        yield h


def spend(h: Harness, key: str, cost: float, **extra: object) -> dict:
    response = h.client.post("/v1/usage", json={"model": "gpt-4o-mini", "cost_usd": cost, **extra},
                             headers=h.bearer(key))
    assert response.status_code in (200, 201), response.text
    return response.json()
