"""Canaries: posted among real drafts at the agent's rate, decided like any draft in Slack and on the web; a miss
and a catch are counted and told at once, and nothing reaches the agent, the evals or spend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import col, select

from bot import ids
from services.agents.models import Agent
from services.autonomy.models import AutonomyEvidence
from services.drafts.models import Draft
from services.events import FollowUp
from services.oversight import canaries, flows
from services.oversight.models import CanaryPost
from services.spend.report import report
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import ALICE, BOB, Harness
from tests.services.drafts.helpers import card, new_draft, wait_ephemeral
from tests.web.helpers import signed_in, submit


@pytest.fixture
def posting(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> Iterator[Harness]:
    """The app with Slack and the callback receiver, and no scheduled jobs: the test posts canaries itself, so
    the job can't post one first on a slow machine."""
    with Harness(sqlite_url, slack=slack, receiver=receiver, jobs=[]) as h:
        yield h


WHY = "It refunds 10x the order value to a different card than the one charged."


def _setup(h: Harness, rate: float = 0.2) -> str:
    key = h.register(canary_rate=rate)["api_key"]
    answer = h.client.post("/v1/agents/quoter/canaries", headers=h.admin, json={
        "action": "quote_freight_lane", "title": "Quote Rotterdam to Lyon", "body": "EUR 18,400 all in, card 4242.",
        "why_bad": WHY})
    assert answer.status_code == 201, answer.text
    assert answer.json()["why_bad"] == WHY
    return key


def _needed(h: Harness, seq: int) -> int:
    """How many real drafts the quoter's canary number `seq` waits for (a stable draw, see canaries.needed)."""
    with h.ctx.read() as session:
        agent = session.exec(select(Agent).where(Agent.name == "quoter")).one()
    return canaries.needed(agent.id or 0, seq, agent.canary_rate)


def _canary_ids(h: Harness) -> list[str]:
    with h.ctx.read() as session:
        return list(session.exec(select(CanaryPost.draft_id).order_by(col(CanaryPost.seq))))


def _real(h: Harness, key: str, n: int) -> list[str]:
    return [new_draft(h, key, title=f"Quote lane {i}")["id"] for i in range(n)]


def test_canaries_post_at_the_rate_of_real_drafts_and_never_while_paused(posting: Harness) -> None:
    """At 0.2 a canary waits for 5 to 7 real drafts (its stable draw says how many): one fewer is not enough,
    that many makes one due, the next waits as long again; a paused agent gets none; the canary's card is the
    action's card, and the agent's own list does not show it."""
    key = _setup(posting)
    first = _needed(posting, 1)
    assert 5 <= first <= 7 and {canaries.needed(1, s, 0.2) for s in range(1, 40)} == {5, 6, 7}
    _real(posting, key, first - 1)
    assert canaries.post_due(posting.ctx) == 0
    _real(posting, key, 1)
    assert canaries.post_due(posting.ctx) == 1
    assert canaries.post_due(posting.ctx) == 0  # no new real draft since
    canary_id = _canary_ids(posting)[0]
    posted = card(posting, canary_id)
    assert "Quote Rotterdam to Lyon" in str(posted["blocks"]) and posted["channel"] == "C056REVIEW"
    listed = posting.client.get("/v1/drafts", headers=posting.bearer(key), params={"limit": 200}).json()["data"]
    assert len(listed) == first and canary_id not in {d["id"] for d in listed}
    assert posting.client.get(f"/v1/drafts/{canary_id}", headers=posting.bearer(key)).status_code == 404
    _real(posting, key, _needed(posting, 2))
    assert posting.client.post("/v1/agents/quoter/pause", headers=posting.admin, json={}).status_code == 200
    assert canaries.post_due(posting.ctx) == 0
    assert posting.client.post("/v1/agents/quoter/resume", headers=posting.admin).status_code == 200
    assert canaries.post_due(posting.ctx) == 1


def test_a_miss_in_slack_and_a_catch_on_the_web_are_counted_and_reach_no_agent(posting: Harness) -> None:
    """Alice approves a canary in Slack (a miss, told at once with why it was bad); Bob rejects the next on the
    web (a catch, told on the page). No callback, no eval row, no autonomy evidence, no follow-up (spend, waste,
    streaks) for either; the report counts both."""
    key = _setup(posting)
    real = _real(posting, key, _needed(posting, 1))
    canaries.post_due(posting.ctx)
    missed = _canary_ids(posting)[0]
    posting.click(card(posting, missed), ids.DRAFT_APPROVE, user=ALICE)
    told = wait_ephemeral(posting, "was a test")
    assert WHY in told and "approved" in told
    _real(posting, key, _needed(posting, 2))
    canaries.post_due(posting.ctx)
    caught = _canary_ids(posting)[1]
    bob = signed_in(posting, BOB)
    page = submit(bob, f"/app/drafts/{caught}/reject", reason="refund to another card", revision="0")
    assert page.status_code == 200 and "Well caught" in page.text and WHY in page.text
    with posting.ctx.read() as session:
        outcomes = {p.draft_id: (p.outcome, p.outcome_by) for p in session.exec(select(CanaryPost))}
        assert outcomes == {missed: ("miss", ALICE), caught: ("catch", BOB)}
        assert session.get(Draft, missed).status == "approved"  # type: ignore[union-attr]
        assert not list(session.exec(select(AutonomyEvidence).where(
            col(AutonomyEvidence.draft_id).in_([missed, caught]))))
    # A real decision still calls the agent back: the receiver is live, and the canaries' would have come first.
    posting.click(card(posting, real[0]), ids.DRAFT_APPROVE, user=ALICE)
    assert posting.receiver is not None
    delivered = posting.receiver.wait_for(1)
    assert [d.json["data"]["id"] for d in delivered] == [real[0]]
    with posting.ctx.read() as session:  # the approved canary is no approved outcome of the agent's spend
        reacted = {f.refs.get("draft") for f in session.exec(select(FollowUp).where(FollowUp.event == "draft.decided"))}
        assert real[0] in reacted and not reacted & {missed, caught}  # no evidence, waste or streak follows them
        spend = report(session=session, agents=list(session.exec(select(Agent))), now=posting.ctx.clock.now(),
                       tz=posting.settings.tz, days=1)
    assert [(line.name, line.approved) for line in spend.agents] == [("quoter", 1)]
    evals = posting.client.get("/v1/evals", headers=posting.bearer(key)).text
    assert missed not in evals and caught not in evals and real[0] in evals
    rows = {r.reviewer: r for r in flows.oversight_report(ctx=posting.ctx, days=1).rows}
    assert (rows[ALICE].canary_misses, rows[ALICE].canary_catches) == (1, 0)
    assert (rows[BOB].canary_misses, rows[BOB].canary_catches) == (0, 1)
    assert rows[ALICE].decisions == 1 and BOB in rows and rows[BOB].decisions == 0
