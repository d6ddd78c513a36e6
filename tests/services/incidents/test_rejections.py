"""Repeated rejections: a streak of rejected drafts opens one `repeated_rejections` incident for the owner."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from bot import ids
from services.agents.service import require_agent
from services.incidents.service import open_incidents_for
from services.incidents.streaks import count_rejections
from testkit.fakes.slack import FakeSlack
from tests.harness import ALICE, OWNER, Harness
from tests.services.drafts.helpers import card, new_draft
from tests.services.incidents.helpers import card_for


def decide(h: Harness, *statuses: str, action: str = "quote_freight_lane") -> None:
    """Hand our draft.decided reaction what the drafts domain publishes, with a stand-in draft (other domains'
    reactions want a real one, so the event itself is exercised end to end below)."""
    for n, status in enumerate(statuses):
        with h.ctx.uow() as session:
            agent = require_agent(session=session, name="quoter")
            count_rejections(session=session, ctx=h.ctx, agent=agent,
                             draft=SimpleNamespace(id=f"drf_{n}", status=status, action=action))


def open_ones(h: Harness) -> list:
    with h.ctx.uow() as session:
        return open_incidents_for(session=session, agent_id=require_agent(session=session, name="quoter").id)


def test_streak_opens_one_incident_and_approvals_reset_it(h: Harness, slack: FakeSlack) -> None:
    """Three rejections in a row open it; an approval in between resets; expiry and cancel don't count."""
    h.register()
    decide(h, "rejected", "rejected", "approved", "rejected", "expired", "cancelled", "rejected")
    assert open_ones(h) == []
    decide(h, "rejected")
    [opened] = open_ones(h)
    assert opened.kind == "repeated_rejections" and opened.details["action"] == "quote_freight_lane"
    assert opened.details["streak"] == 3
    decide(h, "rejected", "rejected", "rejected")  # another streak while it is open: counted, not re-paged
    [again] = open_ones(h)
    assert again.id == opened.id and again.occurrences == 2
    h.drain()
    assert "repeated_rejections" in str(card_for(slack, OWNER)["blocks"])


def test_streak_length_is_configurable(sqlite_url: str, slack: FakeSlack) -> None:
    """COUNTERSIGN_REJECTION_STREAK sets how many rejections in a row it takes."""
    with Harness(sqlite_url, slack=slack, jobs=[], COUNTERSIGN_REJECTION_STREAK=2) as harness:
        harness.register()
        decide(harness, "rejected", "rejected")
        assert [i.kind for i in open_ones(harness)] == ["repeated_rejections"]


def test_rejections_through_the_drafts_domain(h: Harness, slack: FakeSlack) -> None:
    """End to end: three drafts rejected in Slack's reject modal page the owner about the streak."""
    key = h.register()["api_key"]
    reason = {ids.DRAFT_REASON_BLOCK: {ids.DRAFT_REASON_INPUT: {"type": "plain_text_input", "value": "too cheap"}}}
    for n in range(3):
        draft = new_draft(h, key, title=f"Quote {n}")
        h.click(card(h, draft["id"]), ids.DRAFT_REJECT, user=ALICE)
        view = slack.wait_for("views.open", count=n + 1)[n].response["view"]
        assert h.submit_view(view, reason, user=ALICE).status_code == 200
    deadline = time.monotonic() + 10  # the reject modal decides after its ack
    while not open_ones(h) and time.monotonic() < deadline:
        time.sleep(0.05)
    [opened] = open_ones(h)
    assert opened.kind == "repeated_rejections" and opened.severity == "high"
    h.drain()
    assert "3 drafts in a row were rejected" in str(card_for(slack, OWNER)["blocks"])


def test_first_decisions_racing_on_postgres_keep_one_streak(pg_url: str, slack: FakeSlack) -> None:
    """Two first rejections at once: both counted in one streak row, neither decision's transaction fails."""
    with Harness(pg_url, slack=slack, jobs=[], COUNTERSIGN_REJECTION_STREAK=2) as harness:
        harness.register()
        threads = [threading.Thread(target=decide, args=(harness, "rejected")) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [i.kind for i in open_ones(harness)] == ["repeated_rejections"]
