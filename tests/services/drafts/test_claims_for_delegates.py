"""Claims for someone away: their delegate claims, is assigned and releases in their place, each audited "as
delegate of U…"; someone who stands in for nobody is still refused, and the refusal audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from services.audit.models import AuditEntry
from services.audit.service import Actor
from services.drafts import claims
from services.errors import CountersignError
from services.people import flows as people
from tests.harness import ALICE, BOB, CAROL, Harness
from tests.services.drafts.helpers import get, new_draft

STRANGER = "U0STRANGER"
LEAD_STAGE = {"quote_freight_lane": {"stages": [{"name": "lead", "approvers": [ALICE, BOB]}]}}


def _away(h: Harness, user: str, delegate: str) -> None:
    people.set_away(ctx=h.ctx, user_id=user, until=h.ctx.clock.now() + timedelta(days=1), delegate=delegate,
                    actor=Actor.slack_user(user))


def _delegate_entries(h: Harness) -> list[AuditEntry]:
    with h.ctx.read() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.verb == "person.acted_as_delegate")
                                 .order_by(AuditEntry.id)).all())


def test_a_delegate_claims_is_assigned_and_releases_for_someone_away(harness: Harness) -> None:
    h = harness
    key = h.register(actions=LEAD_STAGE)["api_key"]
    held, free = new_draft(h, key), new_draft(h, key)
    claims.claim(ctx=h.ctx, draft_id=held["id"], user_id=ALICE)
    _away(h, ALICE, CAROL)

    claims.release(ctx=h.ctx, draft_id=held["id"], user_id=CAROL)  # Alice's claim, let go by her delegate
    assert get(h, key, held["id"]).json()["claimed_by"] is None
    assert claims.claim(ctx=h.ctx, draft_id=free["id"], user_id=CAROL).claimed_by == CAROL
    claims.release(ctx=h.ctx, draft_id=free["id"], user_id=CAROL)
    claims.claim(ctx=h.ctx, draft_id=free["id"], user_id=BOB)
    assert claims.assign(ctx=h.ctx, draft_id=free["id"], user_id=BOB, to=CAROL).claimed_by == CAROL

    actions = [(e.actor_id, e.details["action"], e.details["as_delegate_of"]) for e in _delegate_entries(h)]
    assert actions == [(CAROL, "draft.released", [ALICE]), (CAROL, "draft.claimed", [ALICE])]


def test_someone_who_stands_in_for_nobody_is_still_refused_and_audited(harness: Harness) -> None:
    h = harness
    key = h.register(actions=LEAD_STAGE)["api_key"]
    draft = new_draft(h, key)
    _away(h, ALICE, CAROL)
    with pytest.raises(CountersignError, match="not an approver"):
        claims.claim(ctx=h.ctx, draft_id=draft["id"], user_id=STRANGER)
    claims.claim(ctx=h.ctx, draft_id=draft["id"], user_id=BOB)
    with pytest.raises(CountersignError, match="only they can release it"):
        claims.release(ctx=h.ctx, draft_id=draft["id"], user_id=CAROL)  # Bob is not away: Carol is no one's stand-in
    with pytest.raises(CountersignError, match="can't be assigned"):
        claims.assign(ctx=h.ctx, draft_id=draft["id"], user_id=BOB, to=STRANGER)
    with h.ctx.read() as session:
        refused = session.exec(select(AuditEntry).where(AuditEntry.verb == "draft.claim_refused")).all()
    assert [e.actor_id for e in refused] == [STRANGER, CAROL, BOB]
    assert _delegate_entries(h) == []
