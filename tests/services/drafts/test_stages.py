"""Ordered approval stages through signed Slack payloads, the API and the flow, on SQLite and PostgreSQL: a
stage's own deciders and channel, separation of duties, the next card posted once, an earlier card refused,
edits clearing only the open stage, snapshots, on_timeout, and the 422s that name the field."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot import ids
from services.audit.models import AuditEntry
from services.drafts import flows
from services.drafts.jobs import expire_due
from services.drafts.models import Draft, stage_card_key
from services.errors import Conflict, CountersignError
from tests.harness import ALICE, BACKUP, BOB, CAROL, OWNER, Harness
from tests.services.drafts.helpers import card, get, new_draft, posted_at, wait_card, wait_ephemeral

FINANCE = "C0FINANCE"
TWO_STAGES = {"quote_freight_lane": {"stages": [
    {"name": "support lead", "approvers": [ALICE, BOB], "approvals_required": 1},
    {"name": "finance", "approvers": [BOB, CAROL], "approvals_required": 1, "channel": FINANCE, "sla_s": 3600}]}}


def stage_card(h: Harness, draft_id: str, stage: int) -> dict[str, Any]:
    return posted_at(h, stage_card_key(draft_id, stage))


def test_two_stages_in_order_with_separation_of_duties(any_db_harness: Harness) -> None:
    """Alice passes stage 1; the finance card goes to its own channel, once; Alice can't approve stage 2,
    Bob (approver of both) can't approve twice; Carol's approval decides; one callback carries both stages."""
    h = any_db_harness
    key = h.register(actions=TWO_STAGES)["api_key"]
    draft = new_draft(h, key)
    assert draft["stage"] == "support lead" and [s["status"] for s in draft["stages"]] == ["open", "waiting"]
    first = card(h, draft["id"])
    assert "Stage 1 of 2: support lead" in json.dumps(first["blocks"])
    h.click(first, ids.DRAFT_APPROVE, user=ALICE)
    moved = wait_card(h, first, lambda text: "now at" in text and "finance" in text)
    assert not any(b.get("block_id") == ids.DRAFT_ACTIONS_BLOCK for b in moved["blocks"])
    second = stage_card(h, draft["id"], 1)
    assert second["channel"] == FINANCE and "Stage 2 of 2: finance" in json.dumps(second["blocks"])
    shown = get(h, key, draft["id"]).json()
    assert shown["stage"] == "finance" and shown["stages"][0]["approved_by"] == [ALICE]
    assert shown["stages"][0]["status"] == "passed" and shown["stages"][1]["status"] == "open"
    h.click(first, ids.DRAFT_APPROVE, user=BOB)  # the earlier stage's card: refused, audited
    assert "already passed" in wait_ephemeral(h, "already passed")
    with pytest.raises(CountersignError, match="not an approver for the finance stage"):
        flows.decide(ctx=h.ctx, draft_id=draft["id"], user_id=ALICE, verdict="approve")
    h.click(second, ids.DRAFT_APPROVE, user=CAROL)
    final = get(h, key, draft["id"], wait=5).json()
    assert final["status"] == "approved" and final["stage"] is None and final["decided_by"] == [ALICE, CAROL]
    assert [s["approved_by"] for s in final["stages"]] == [[ALICE], [CAROL]]
    assert h.receiver is not None
    [callback] = h.receiver.wait_for(1)
    assert [s["status"] for s in callback.json["data"]["stages"]] == ["passed", "passed"]


def test_one_person_approves_in_one_stage_only(harness: Harness) -> None:
    key = harness.register(actions=TWO_STAGES)["api_key"]
    draft = new_draft(harness, key)
    flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=BOB, verdict="approve")
    with pytest.raises(Conflict, match="one person approves in one stage only"):
        flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=BOB, verdict="approve")
    flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=CAROL, verdict="reject", reason="over budget")
    final = get(harness, key, draft["id"]).json()
    assert final["status"] == "rejected" and [s["status"] for s in final["stages"]] == ["passed", "rejected"]


@pytest.mark.postgres_too
def test_two_people_passing_a_stage_at_once_open_the_next_once(any_db_harness: Harness) -> None:
    """Alice and Bob approve stage 1 at the same moment: one counts, the other is refused, told where the draft
    went (the stage passed, or it is now at finance); the finance card is posted once."""
    h = any_db_harness
    key = h.register(actions=TWO_STAGES)["api_key"]
    draft = new_draft(h, key)
    start, results = threading.Barrier(2), []

    def vote(user: str) -> None:
        start.wait()
        try:
            results.append(flows.decide(ctx=h.ctx, draft_id=draft["id"], user_id=user, verdict="approve", stage=0))
        except CountersignError as exc:
            results.append(exc)

    threads = [threading.Thread(target=vote, args=(user,)) for user in (ALICE, BOB)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sum(isinstance(r, flows.DecisionResult) for r in results) == 1, results
    [lost] = [r for r in results if isinstance(r, CountersignError)]
    assert "passed" in lost.detail or "finance" in lost.detail, lost
    h.drain()
    assert h.slack is not None
    posts = [c for c in h.slack.calls_to("chat.postMessage") if c.args.get("channel") == FINANCE]
    assert len(posts) == 1
    shown = get(h, key, draft["id"]).json()
    assert shown["stage"] == "finance" and len(shown["stages"][0]["approved_by"]) == 1


def test_an_edit_clears_only_the_open_stage(harness: Harness) -> None:
    stages = {"quote_freight_lane": {"stages": [{"name": "lead", "approvers": [ALICE]},
                                                {"name": "finance", "approvers": [BOB, CAROL, OWNER],
                                                 "approvals_required": 2}]}}
    key = harness.register(actions=stages)["api_key"]
    draft = new_draft(harness, key)
    flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=ALICE, verdict="approve")
    flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=BOB, verdict="approve")
    flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=CAROL, verdict="edit", final_body="EUR 1,900")
    shown = get(harness, key, draft["id"]).json()
    assert [s["approved_by"] for s in shown["stages"]] == [[ALICE], [CAROL]] and shown["status"] == "pending"
    flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=OWNER, verdict="approve", revision=1)
    final = get(harness, key, draft["id"]).json()
    assert final["status"] == "edited" and final["final_body"] == "EUR 1,900"


def test_open_drafts_keep_the_stages_they_started_with(harness: Harness) -> None:
    key = harness.register(actions=TWO_STAGES)["api_key"]
    draft = new_draft(harness, key)
    changed = harness.client.patch("/v1/agents/quoter", json={"actions": {"quote_freight_lane": {}}},
                                   headers=harness.admin)
    assert changed.status_code == 200, changed.text
    assert [s["name"] for s in get(harness, key, draft["id"]).json()["stages"]] == ["support lead", "finance"]
    single = harness.register("single")["api_key"]
    plain = new_draft(harness, single)
    assert plain["stage"] == "review" and [s["name"] for s in plain["stages"]] == ["review"]


@pytest.mark.parametrize(("actions", "field"), [
    ({"a": {"stages": [{"name": "x", "surprise": 1}]}}, "surprise"),
    ({"a": {"stages": []}}, "stages"),
    ({"a": {"stages": [{"name": "x", "approvers": [ALICE], "approvals_required": 2}]}}, "approvals_required"),
    ({"a": {"stages": [{"name": "x", "channel": "#finance"}]}}, "channel"),
    ({"a": {"high_risk": True, "on_timeout": "approve"}}, "on_timeout"),
])
def test_bad_workflows_are_422_naming_the_field(harness: Harness, actions: dict[str, Any], field: str) -> None:
    answer = harness.client.post("/v1/agents", json={"name": "bad", "owner": OWNER, "actions": actions},
                                 headers=harness.admin)
    assert answer.status_code == 422, answer.text
    assert any(field in e["field"] for e in answer.json()["errors"]), answer.json()


def test_on_timeout_approve_and_keep_waiting(harness: Harness) -> None:
    """At expiry, `approve` ends the draft auto_approved with the policy as its reason; `keep_waiting` stays."""
    key = harness.register(actions={"quote_freight_lane": {"on_timeout": "approve"},
                                    "wait": {"on_timeout": "keep_waiting"}}, backup_owners=[BACKUP])["api_key"]
    approved, waiting = new_draft(harness, key, expires_in_s=60), new_draft(harness, key, action="wait",
                                                                             expires_in_s=60)
    with harness.ctx.uow() as session:
        session.exec(update(Draft).values(expires_at=harness.ctx.clock.now()))  # type: ignore[call-overload]
    expire_due(harness.ctx)
    done = get(harness, key, approved["id"]).json()
    assert done["status"] == "auto_approved" and "approved by the action's policy" in done["reason"]
    assert get(harness, key, waiting["id"]).json()["status"] == "pending"


def test_a_delegate_decides_for_someone_away_under_the_same_rules(harness: Harness) -> None:
    """Alice is away with Carol as her delegate: Carol may pass Alice's stage (audited as her delegate), but
    not the stage after it too, and never a draft she asked for herself."""
    from datetime import timedelta

    from services.audit.service import Actor
    from services.people import flows as people

    key = harness.register(actions={"quote_freight_lane": {"stages": [
        {"name": "lead", "approvers": [ALICE]}, {"name": "finance", "approvers": [BOB, CAROL]}]}})["api_key"]
    people.set_away(ctx=harness.ctx, user_id=ALICE, until=harness.ctx.clock.now() + timedelta(days=1),
                    delegate=CAROL, actor=Actor.slack_user(ALICE))
    draft, own = new_draft(harness, key), new_draft(harness, key, requested_by=CAROL)
    flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=CAROL, verdict="approve")
    assert get(harness, key, draft["id"]).json()["stages"][0]["approved_by"] == [CAROL]
    with pytest.raises(Conflict, match="one stage only"):
        flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=CAROL, verdict="approve")
    with pytest.raises(CountersignError, match="not an approver"):
        flows.decide(ctx=harness.ctx, draft_id=own["id"], user_id=CAROL, verdict="approve")
    with harness.ctx.read() as session:
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.verb == "person.acted_as_delegate")).all()
    assert entry.actor_id == CAROL and entry.details["note"] == f"as delegate of {ALICE}"


def test_claim_and_release_from_the_slack_card(harness: Harness) -> None:
    """Claim on the card shows "Claimed by" with Release beside it; someone else's Release is refused and
    audited; the claimer's Release frees it again."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key)
    posted = card(harness, draft["id"])
    harness.click(posted, ids.DRAFT_CLAIM, user=ALICE)
    claimed = wait_card(harness, posted, lambda text: "Claimed by" in text)
    assert get(harness, key, draft["id"]).json()["claimed_by"] == ALICE
    harness.click(claimed, ids.DRAFT_RELEASE, user=BOB)
    assert "only they can release it" in wait_ephemeral(harness, "only they can release it")
    with harness.ctx.read() as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.verb == "draft.claim_refused")).first()
    harness.click(claimed, ids.DRAFT_RELEASE, user=ALICE)
    wait_card(harness, posted, lambda text: "Nobody has claimed" in text)
    assert get(harness, key, draft["id"]).json()["claimed_by"] is None


def test_a_claim_lapses_after_the_claim_ttl(harness: Harness) -> None:
    """Past COUNTERSIGN_CLAIM_TTL_S the claim is dropped, once, and the lapse is audited."""
    from datetime import timedelta

    from services.drafts import claims

    key = harness.register()["api_key"]
    draft = new_draft(harness, key)
    claims.claim(ctx=harness.ctx, draft_id=draft["id"], user_id=ALICE)
    assert claims.release_lapsed(harness.ctx) == 0  # still fresh
    past = harness.ctx.clock.now() - timedelta(seconds=harness.ctx.settings.claim_ttl_s + 1)
    with harness.ctx.uow() as session:
        session.exec(update(Draft).values(claimed_at=past))  # type: ignore[call-overload]
    claims.release_lapsed(harness.ctx)  # this call or the scheduler's own tick, whichever comes first: once
    claims.release_lapsed(harness.ctx)
    assert get(harness, key, draft["id"]).json()["claimed_by"] is None
    with harness.ctx.read() as session:
        assert len(session.exec(select(AuditEntry).where(AuditEntry.verb == "draft.claim_lapsed")).all()) == 1
