"""A harness on a fake clock at Monday 2026-01-05 09:00 UTC with the scheduler stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.clock import FakeClock
from testkit.fakes.slack import FakeSlack
from tests.harness import Harness
from tests.services.digests.seed import NOW


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def timed(db_url: str, slack: FakeSlack, clock: FakeClock) -> Iterator[Harness]:
    with Harness(db_url, slack=slack, clock=clock, jobs=[]) as h:
        yield h
