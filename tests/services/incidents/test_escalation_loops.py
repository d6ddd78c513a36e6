"""escalation_repeat follows PagerDuty's num_loops: 0 runs the chain once, N runs it N more times."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import Harness
from tests.services.incidents.helpers import report, tick

ONE_STEP = [{"notify": "owner"}, {"wait_s": 60}]


@pytest.fixture
def app(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver, clock: FakeClock) -> Iterator[Harness]:
    """The app on SQLite; time moves only when the test advances the clock and ticks."""
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as harness:
        yield harness


def steps_after(h: Harness, clock: FakeClock, repeat: int | None, minutes: int) -> list[Any]:
    extra = {} if repeat is None else {"escalation_repeat": repeat}
    key = h.register(escalation_chain=ONE_STEP, **extra)["api_key"]
    incident = report(h, key)
    for _ in range(minutes):
        clock.advance(60)
        tick(h)
    shown = h.client.get(f"/v1/incidents/{incident['id']}", headers=h.bearer(key)).json()
    return shown["steps_taken"]


@pytest.mark.parametrize(("repeat", "passes"), [(None, 1), (0, 1), (2, 3)])
def test_repeat_counts_the_passes_after_the_first(app: Harness, clock: FakeClock, repeat: int | None,
                                                  passes: int) -> None:
    """Default and 0 page the owner once however long nobody answers; 2 pages three times, then stops."""
    assert len(steps_after(app, clock, repeat, minutes=6)) == passes


def test_repeat_range_is_zero_to_nine(app: Harness) -> None:
    h = app
    """10 passes after the first is refused by name, and the stored default reads back as 0."""
    refused = h.client.post("/v1/agents", headers=h.admin, json={"name": "x", "owner": "U012OWNER",
                                                                 "escalation_repeat": 10})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "escalation_repeat"
    assert h.register()["escalation_repeat"] == 0
