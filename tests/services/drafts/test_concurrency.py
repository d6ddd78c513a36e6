"""Two people deciding at once: exactly one decision wins, the others hear who won (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import func, select

from bot import ids
from services.drafts import flows
from services.errors import AlreadyDecided
from services.outbox.models import OutboxMessage
from tests.harness import ALICE, BOB, CAROL, Harness
from tests.services.drafts.helpers import card, get, new_draft, wait_ephemeral

pytestmark = pytest.mark.postgres_too  # see tests/conftest.py: which tests run on PostgreSQL

DEAN, ERIN, FRAN = "U081DEAN", "U082ERIN", "U083FRAN"
PEOPLE = [ALICE, BOB, CAROL, DEAN, ERIN, FRAN]


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call at the same moment; collect results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # the race's losers raise; the test sorts them out
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def _callbacks(h: Harness, draft_id: str) -> int:
    with h.ctx.read() as session:
        return session.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "callback", OutboxMessage.payload["data"]["id"].as_string() == draft_id)).one()


def test_concurrent_approvals_and_rejections_one_winner(any_db_harness: Harness) -> None:
    """Six approvers approve or reject at once: one final status, one callback, five 'already decided by'."""
    h = any_db_harness
    agent = h.register(approvers=PEOPLE)
    draft = new_draft(h, agent["api_key"])
    verdicts = ["approve", "reject"] * 3
    results = _race([lambda u=u, v=v: flows.decide(ctx=h.ctx, draft_id=draft["id"], user_id=u, verdict=v, reason="no")
                     for u, v in zip(PEOPLE, verdicts, strict=True)])
    winners = [r for r in results if isinstance(r, flows.DecisionResult)]
    losers = [r for r in results if isinstance(r, AlreadyDecided)]
    assert len(winners) == 1 and len(losers) == 5, results
    final = get(h, agent["api_key"], draft["id"]).json()
    assert final["status"] == winners[0].draft.status and final["decided_by"] == winners[0].draft.decided_by
    # who decided is data on the error (each surface draws the person its own way), and named in the sentence
    assert all(loser.people == tuple(final["decided_by"]) and final["decided_by"][0] in loser.detail
               for loser in losers)
    assert _callbacks(h, draft["id"]) == 1


def test_concurrent_quorum_votes_decide_exactly_once(any_db_harness: Harness) -> None:
    """Quorum 2 and four approvers at once: one vote reaches quorum, no vote is lost or counted twice."""
    h = any_db_harness
    agent = h.register(approvers=PEOPLE[:4], approvals_required=2)
    draft = new_draft(h, agent["api_key"])
    results = _race([lambda u=u: flows.decide(ctx=h.ctx, draft_id=draft["id"], user_id=u, verdict="approve")
                     for u in PEOPLE[:4]])
    decided = [r for r in results if isinstance(r, flows.DecisionResult) and r.final]
    counted = [r for r in results if isinstance(r, flows.DecisionResult) and not r.final]
    assert len(decided) == 1 and len(counted) == 1, results
    final = get(h, agent["api_key"], draft["id"]).json()
    assert final["status"] == "approved" and len(final["decided_by"]) == 2
    assert set(final["decided_by"]) == set(final["approved_by"])
    assert _callbacks(h, draft["id"]) == 1


def test_concurrent_clicks_through_slack_one_winner(harness: Harness) -> None:
    """Alice and Bob click Approve at the same moment through /slack/events: one wins, the other is told who."""
    agent = harness.register()
    draft = new_draft(harness, agent["api_key"])
    posted = card(harness, draft["id"])
    responses = _race([lambda u=u: harness.click(posted, ids.DRAFT_APPROVE, user=u) for u in (ALICE, BOB)])
    assert all(r.status_code == 200 for r in responses)
    final = get(harness, agent["api_key"], draft["id"], wait=5).json()
    assert final["status"] == "approved" and len(final["decided_by"]) == 1
    winner = final["decided_by"][0]
    assert f"already approved by <@{winner}>" in wait_ephemeral(harness, "already approved")
    harness.drain()
    assert _callbacks(harness, draft["id"]) == 1
