"""Who may decide a draft: approvers only (by name or user group), never the requester, M of them for quorum."""

from __future__ import annotations

import json
import time

from sqlmodel import select

from bot import ids
from services.audit.models import AuditEntry
from tests.harness import ALICE, BOB, CAROL, OWNER, Harness
from tests.services.drafts.helpers import card, get, has_buttons, new_draft, wait_card, wait_ephemeral


def _audit_verbs(h: Harness, draft_id: str) -> list[str]:
    with h.ctx.read() as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.subject == f"draft:{draft_id}")).all()
        return [r.verb for r in rows]


def test_non_approver_click_is_refused_politely_and_audited(harness: Harness) -> None:
    """Carol is no approver: she is told so in an ephemeral, the attempt is audited, and nothing changes."""
    agent = harness.register()
    draft = new_draft(harness, agent["api_key"])
    posted = card(harness, draft["id"])
    harness.click(posted, ids.DRAFT_APPROVE, user=CAROL)
    assert "you are not an approver for quoter" in wait_ephemeral(harness, "not an approver")
    harness.click(posted, ids.DRAFT_EDIT, user=CAROL)  # no modal for her either
    harness.drain()
    assert harness.slack.calls_to("views.open") == [] and harness.slack.calls_to("chat.update") == []
    assert get(harness, agent["api_key"], draft["id"]).json()["status"] == "pending"
    deadline = time.monotonic() + 10  # the Edit click's refusal is audited as the click is answered
    while _audit_verbs(harness, draft["id"]).count("draft.decision_refused") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _audit_verbs(harness, draft["id"]).count("draft.decision_refused") == 2


def test_requester_cannot_approve_own_request(harness: Harness) -> None:
    """Alice asked for the draft, so her Approve is refused; Bob's counts."""
    agent = harness.register()
    draft = new_draft(harness, agent["api_key"], requested_by=ALICE)
    posted = card(harness, draft["id"])
    harness.click(posted, ids.DRAFT_APPROVE, user=ALICE)
    assert "can't approve it yourself" in wait_ephemeral(harness, "yourself")
    assert get(harness, agent["api_key"], draft["id"]).json()["status"] == "pending"
    harness.click(posted, ids.DRAFT_APPROVE, user=BOB)
    assert get(harness, agent["api_key"], draft["id"], wait=5).json()["decided_by"] == [BOB]


def test_user_group_member_may_decide(harness: Harness) -> None:
    """Membership of an approver group, resolved through usergroups.users.list (cached), makes Carol an approver."""
    harness.slack.usergroups = {"S090LEADS": [CAROL]}
    agent = harness.register(approvers=[], approver_groups=["S090LEADS"])
    draft = new_draft(harness, agent["api_key"])
    posted = card(harness, draft["id"])
    harness.click(posted, ids.DRAFT_APPROVE, user=CAROL)
    assert get(harness, agent["api_key"], draft["id"], wait=5).json()["status"] == "approved"
    second = new_draft(harness, agent["api_key"])
    harness.click(card(harness, second["id"]), ids.DRAFT_APPROVE, user=CAROL)
    assert get(harness, agent["api_key"], second["id"], wait=5).json()["status"] == "approved"
    lookups = harness.slack.calls_to("usergroups.users.list")
    assert len(lookups) == 1 and lookups[0].args["usergroup"] == "S090LEADS"  # the answer is cached


def test_quorum_two_approvals_card_counts_and_double_click_counts_once(harness: Harness) -> None:
    """With approvals_required 2 the card shows 1 of 2 after Alice, her second click is not a second vote,
    and Bob's approval decides it with both names."""
    agent = harness.register(approvals_required=2)
    draft = new_draft(harness, agent["api_key"])
    posted = card(harness, draft["id"])
    harness.click(posted, ids.DRAFT_APPROVE, user=ALICE)
    counted = wait_card(harness, posted, lambda text: "1 of 2 approvals" in text)
    assert has_buttons(counted) and ALICE in json.dumps(counted["blocks"])
    assert "1 of 2" in wait_ephemeral(harness, "recorded")
    harness.click(counted, ids.DRAFT_APPROVE, user=ALICE)
    assert "already approved" in wait_ephemeral(harness, "already approved")
    assert get(harness, agent["api_key"], draft["id"]).json()["approved_by"] == [ALICE]
    harness.click(counted, ids.DRAFT_APPROVE, user=BOB)
    done = get(harness, agent["api_key"], draft["id"], wait=5).json()
    assert done["status"] == "approved" and done["decided_by"] == [ALICE, BOB]
    assert not has_buttons(wait_card(harness, posted, lambda text: "Approved" in text))


def test_one_rejection_ends_a_quorum(harness: Harness) -> None:
    """After one approval of two, a rejection decides the draft as rejected."""
    agent = harness.register(approvals_required=2)
    draft = new_draft(harness, agent["api_key"])
    posted = card(harness, draft["id"])
    harness.click(posted, ids.DRAFT_APPROVE, user=ALICE)
    wait_card(harness, posted, lambda text: "1 of 2" in text)
    from services.drafts import flows

    flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=BOB, verdict="reject", reason="not this lane")
    done = get(harness, agent["api_key"], draft["id"]).json()
    assert done["status"] == "rejected" and done["decided_by"] == [BOB] and done["reason"] == "not this lane"


def test_edit_under_quorum_restarts_the_count_and_stale_approvals_are_refused(harness: Harness) -> None:
    """An edit replaces the text under review: earlier approvals are withdrawn, an approval clicked on the old
    card is refused as stale, and the next approver's click on the new card decides it as edited."""
    from services.drafts import flows

    agent = harness.register(approvals_required=2, approvers=[ALICE, BOB, CAROL])
    draft = new_draft(harness, agent["api_key"])
    posted = card(harness, draft["id"])
    flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=ALICE, verdict="approve")
    result = flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=BOB, verdict="edit", final_body="EUR 1,700")
    assert not result.final and result.draft.approved_by == [BOB]
    harness.click(posted, ids.DRAFT_APPROVE, user=CAROL)  # the old card's button carries revision 0
    assert "edited by" in wait_ephemeral(harness, "since you looked")
    fresh = wait_card(harness, posted, lambda text: "EUR 1,700" in text and ":1\"" in text)
    harness.click(fresh, ids.DRAFT_APPROVE, user=CAROL)
    done = get(harness, agent["api_key"], draft["id"], wait=5).json()
    assert done["status"] == "edited" and done["final_body"] == "EUR 1,700" and done["decided_by"] == [BOB, CAROL]
    assert OWNER not in done["decided_by"]


def test_click_that_is_not_from_the_card_decides_nothing(harness: Harness) -> None:
    """An approver's click claiming another channel (not where the card is) is refused politely."""
    agent = harness.register()
    draft = new_draft(harness, agent["api_key"])
    harness.click(card(harness, draft["id"]), ids.DRAFT_APPROVE, user=ALICE, channel="C0OTHER99")
    assert "not on the draft's card" in wait_ephemeral(harness, "draft's card")
    assert get(harness, agent["api_key"], draft["id"]).json()["status"] == "pending"
