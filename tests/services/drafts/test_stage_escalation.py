"""End to end against the fake Slack, with SLAs of a second: a two-stage draft's first stage is approved by a
signed click; the second waits past its SLA, is escalated to the owner by DM (the card with its buttons, the
stage recording escalated_to, audited), the owner decides it from that DM, and one callback carries both
stages. On SQLite and PostgreSQL; the scheduler's own tick drives the timer (no test sleeps a fixed time)."""

from __future__ import annotations

from sqlmodel import select

from bot import ids
from services.audit.models import AuditEntry
from services.drafts.models import stage_card_key
from tests.harness import ALICE, BOB, CAROL, OWNER, Harness
from tests.services.drafts.helpers import card, get, new_draft, posted_at

WORKFLOW = {"quote_freight_lane": {"stages": [
    {"name": "support lead", "approvers": [ALICE], "sla_s": 3600},
    {"name": "finance", "approvers": [BOB, CAROL], "sla_s": 1}]}}


def test_a_stage_past_its_sla_is_escalated_to_the_owner_who_decides_it(any_db_harness: Harness) -> None:
    h = any_db_harness
    key = h.register(actions=WORKFLOW, escalation_chain=[{"notify": "owner"}, {"wait_s": 600}])["api_key"]
    draft = new_draft(h, key)
    h.click(card(h, draft["id"]), ids.DRAFT_APPROVE, user=ALICE)  # stage 1, by a signed Slack payload
    dm = posted_at(h, f"{stage_card_key(draft['id'], 1)}:to:{OWNER}", timeout=20)  # stage 2 waited past its SLA
    assert dm["channel"].startswith("D") and "Stage 2 of 2: finance" in str(dm["blocks"])  # a DM
    shown = get(h, key, draft["id"]).json()
    assert shown["status"] == "pending" and shown["stages"][1]["escalated_to"] == [OWNER]
    h.click(dm, ids.DRAFT_APPROVE, user=OWNER)  # the owner decides the escalated stage from the DM
    final = get(h, key, draft["id"], wait=10).json()
    assert final["status"] == "approved" and [s["approved_by"] for s in final["stages"]] == [[ALICE], [OWNER]]
    assert h.receiver is not None
    [callback] = h.receiver.wait_for(1)
    data = callback.json["data"]
    assert [s["status"] for s in data["stages"]] == ["passed", "passed"]
    assert data["stages"][1]["escalated_to"] == [OWNER] and data["decided_by"] == [ALICE, OWNER]
    with h.ctx.read() as session:
        escalated = session.exec(select(AuditEntry).where(AuditEntry.verb == "draft.escalated")).all()
    assert len(escalated) == 1 and escalated[0].details["to"] == [OWNER]
