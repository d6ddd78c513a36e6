"""Staged drafts in the web app: the page shows the workflow, the open stage and the claim; Claim, Release and
Assign follow the claims flow's rules (refusals audited); the inbox tags each draft with its stage and claim."""

from __future__ import annotations

from tests.harness import ALICE, BOB, CAROL, OWNER, Harness
from tests.services.drafts.helpers import new_draft
from tests.web.helpers import audited, signed_in, submit

STAGES = {"quote_freight_lane": {"stages": [
    {"name": "support lead", "approvers": [ALICE], "sla_s": 1800},
    {"name": "finance", "approvers": [BOB, CAROL]}]}}


def test_claim_then_approve_moves_the_draft_to_the_next_stage(harness: Harness) -> None:
    key = harness.register(actions=STAGES)["api_key"]
    draft = new_draft(harness, key)
    alice, bob = signed_in(harness, ALICE), signed_in(harness, BOB)
    path = f"/app/drafts/{draft['id']}"
    shown = alice.get(path).text
    assert "support lead" in shown and "Nobody has claimed this yet" in shown and "SLA due in" in shown
    assert submit(alice, f"{path}/claim").status_code == 303
    assert "Claimed by " + ALICE in alice.get(path).text
    assert "claimed by " + ALICE in alice.get("/app/").text and "Stage 1 of 2: support lead" in alice.get("/app/").text
    taken = submit(bob, f"{path}/claim")  # Bob decides the finance stage, not this one
    assert taken.status_code == 403 and "support lead stage" in taken.text
    assert audited(harness, "draft.claim_refused", actor=BOB)
    assert submit(alice, f"{path}/approve", revision="0").status_code == 303
    after = bob.get(path).text
    assert "Stage 2 of 2: finance" in bob.get("/app/").text and "Nobody has claimed this yet" in after
    assert submit(bob, f"{path}/assign", to=CAROL).status_code == 303
    assert "Claimed by " + CAROL in bob.get(path).text
    wrong = submit(bob, f"{path}/assign", to=OWNER)
    assert wrong.status_code == 403 and "be assigned to them" in wrong.text
