"""GET /v1/drafts/{id}?wait=S: held until decided, also when the decision is made on another replica."""

from __future__ import annotations

import threading
import time

from services.drafts import flows
from services.drafts.waiter import waiter_for
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack, poll
from tests.harness import ALICE, Harness
from tests.services.drafts.helpers import get, new_draft


def test_wait_returns_pending_when_time_is_up(harness: Harness) -> None:
    """Nobody decides: the long-poll answers `pending` after about S seconds, not before."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key)
    started = time.monotonic()
    assert get(harness, key, draft["id"], wait=0.6).json()["status"] == "pending"
    assert 0.55 <= time.monotonic() - started < 3


def test_decision_on_another_replica_releases_the_long_poll(sqlite_url: str, slack: FakeSlack,
                                                            receiver: FakeAgentReceiver) -> None:
    """Replica B decides; replica A's waiting request sees it within its polling interval, without a wake-up."""
    with Harness(sqlite_url, slack=slack, receiver=receiver) as a, Harness(sqlite_url, slack=slack,
                                                                           receiver=receiver) as b:
        key = a.register()["api_key"]
        draft = new_draft(a, key)
        answer: dict = {}
        waiter = threading.Thread(target=lambda: answer.update(get(a, key, draft["id"], wait=20).json()))
        waiter.start()
        # Decide only once A's request is parked on its waiter: ordered by a signal, not by a sleep.
        poll(lambda: True if waiter_for(a.ctx).waiting else None, 10, lambda: "the long-poll never started waiting")
        decided_at = time.monotonic()
        flows.decide(ctx=b.ctx, draft_id=draft["id"], user_id=ALICE, verdict="approve")
        waiter.join(10)
        assert answer["status"] == "approved" and time.monotonic() - decided_at < 2
