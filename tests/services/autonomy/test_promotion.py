"""Earning autonomy: the owner's proposal comes exactly when the rule is met, Promote turns drafts into
auto-approvals with a sample posted, "Should not have passed" demotes, a new prompt version starts at review."""

from __future__ import annotations

import pytest

from bot import ids
from tests.harness import ALICE, BOB, OWNER, REVIEW_CHANNEL, Harness
from tests.services.autonomy.helpers import RULE, decide, dm_messages, proposals, samples, wait_response, wait_text
from tests.services.drafts.helpers import new_draft


def test_proposal_comes_exactly_when_the_rule_is_met(any_db_harness: Harness) -> None:
    """4 clean decisions are not enough, an edit-heavy window is not enough, the 5th clean one is; only once."""
    h = any_db_harness
    key = h.register(autonomy_rule=RULE)["api_key"]
    for _ in range(4):
        decide(h, key, prompt_version="v1")
    assert proposals(h) == []
    decide(h, key, prompt_version="v1")
    cards = proposals(h)
    assert len(cards) == 1
    text = str(cards[0]["blocks"])
    assert "quote_freight_lane" in text and "v1" in text and "*5* approved unedited" in text
    decide(h, key, prompt_version="v1")
    assert len(proposals(h)) == 1  # one proposal out at a time


def test_edits_hold_the_proposal_back_until_the_rate_is_met(any_db_harness: Harness) -> None:
    """3 approved + 2 edited is 60 % unedited: no card; 7 of 9 (78 %) still none; 8 of 10 (80 %) brings it."""
    h = any_db_harness
    key = h.register(autonomy_rule=RULE)["api_key"]
    for _ in range(3):
        decide(h, key, prompt_version="v1")
    for text in ("EUR 1,900 all in.", "EUR 1,950 all in."):
        decide(h, key, "edit", final_body=text, prompt_version="v1")
    for _ in range(4):
        decide(h, key, prompt_version="v1")
    assert proposals(h) == []
    decide(h, key, prompt_version="v1")
    cards = proposals(h)
    assert len(cards) == 1 and "*8* approved unedited (80.0%), 2 edited" in str(cards[0]["blocks"])


def test_a_recent_rejection_holds_the_proposal_back(harness: Harness) -> None:
    """A rejection among the last 3 (the clean streak) blocks the card even with the rate met."""
    h = harness
    key = h.register(autonomy_rule=RULE)["api_key"]
    for _ in range(4):
        decide(h, key, prompt_version="v1")
    decide(h, key, "reject", prompt_version="v1")
    for _ in range(2):
        decide(h, key, prompt_version="v1")
    assert proposals(h) == []  # 6 of 7 unedited, but the rejection is 2 decisions back
    decide(h, key, prompt_version="v1")
    assert len(proposals(h)) == 1


def test_promote_then_auto_with_sample_then_should_not_have_passed_demotes(harness: Harness) -> None:
    """Owner's Promote makes later drafts auto_approved with the sample posted; the bad-sample click demotes."""
    h = harness
    key = h.register(autonomy_rule=RULE)["api_key"]
    for _ in range(5):
        decide(h, key, prompt_version="v1")
    card = proposals(h)[0]
    h.click(card, ids.AUTONOMY_PROMOTE, user=ALICE)  # not the owner
    assert "only quoter's owner" in wait_response(h, "owner")
    h.click(card, ids.AUTONOMY_PROMOTE, user=OWNER)
    wait_response(h, "is now auto-approved")
    wait_text(h, card["channel"], "promoted")

    auto = new_draft(h, key, prompt_version="v1", title="Quote Hamburg to Graz")
    assert auto["status"] == "auto_approved"
    sample = samples(h, REVIEW_CHANNEL)
    assert len(sample) == 1 and auto["id"] in str(sample[0]["blocks"])

    h.click(sample[0], ids.AUTONOMY_SHOULD_NOT_PASS, user=BOB)
    wait_response(h, "back under review")
    notice = wait_text(h, h.slack.dm_channel_for(OWNER), "back under *review*")
    assert "Should not have passed" in str(notice["blocks"]) and BOB in str(notice["blocks"])
    judged = wait_text(h, REVIEW_CHANNEL, "Should not have passed* —")
    assert not any(b.get("block_id") == ids.AUTONOMY_SAMPLE_BLOCK for b in judged["blocks"])
    assert new_draft(h, key, prompt_version="v1")["status"] == "pending"
    h.click(sample[0], ids.AUTONOMY_LOOKS_RIGHT, user=ALICE)  # the first verdict stands
    assert "already" in wait_response(h, "already")


def test_a_new_prompt_version_starts_at_review(harness: Harness) -> None:
    """Autonomy earned on v1 does not carry over to v2; v1 keeps it."""
    h = harness
    key = h.register(autonomy_rule={**RULE, "audit_sample_rate": 0})["api_key"]
    for _ in range(5):
        decide(h, key, prompt_version="v1")
    h.click(proposals(h)[0], ids.AUTONOMY_PROMOTE, user=OWNER)
    wait_response(h, "is now auto-approved")
    assert new_draft(h, key, prompt_version="v2")["status"] == "pending"
    assert new_draft(h, key, prompt_version="v1")["status"] == "auto_approved"
    assert samples(h, REVIEW_CHANNEL) == []  # sample rate 0: nothing for a check


def test_not_yet_waits_for_a_fresh_clean_streak(harness: Harness) -> None:
    """After "Not yet" the card comes back only after clean_streak more decisions, as a new card."""
    h = harness
    key = h.register(autonomy_rule=RULE)["api_key"]
    for _ in range(5):
        decide(h, key, prompt_version="v1")
    h.click(proposals(h)[0], ids.AUTONOMY_NOT_YET, user=OWNER)
    wait_response(h, "no new proposal")
    wait_text(h, h.slack.dm_channel_for(OWNER), "said *Not yet*")
    for _ in range(2):
        decide(h, key, prompt_version="v1")
    assert proposals(h) == []  # the answered card lost its buttons, and no new one yet
    decide(h, key, prompt_version="v1")
    assert len(proposals(h)) == 1 and len(dm_messages(h)) == 2


def test_admin_configured_auto_is_for_the_version_in_use(harness: Harness) -> None:
    """`autonomy: auto` in the config grants the version the next draft carries; a later version reviews."""
    h = harness
    key = h.register(autonomy_rule=RULE, actions={"quote_freight_lane": {"autonomy": "auto"}})["api_key"]
    assert new_draft(h, key, prompt_version="v1")["status"] == "auto_approved"
    assert new_draft(h, key, prompt_version="v2")["status"] == "pending"
    assert new_draft(h, key, prompt_version="v1")["status"] == "auto_approved"
    h.client.patch("/v1/agents/quoter", json={"actions": {"quote_freight_lane": {"autonomy": "review"}}},
                   headers=h.admin)
    assert new_draft(h, key, prompt_version="v1")["status"] == "pending"


@pytest.mark.postgres_too
def test_two_answers_at_once_only_one_counts(any_db_harness: Harness) -> None:
    """Promote and Not yet racing on the same card: exactly one wins, the other is told it was answered."""
    from concurrent.futures import ThreadPoolExecutor

    from services.autonomy import flows, service
    from services.errors import AlreadyDecided

    h = any_db_harness
    key = h.register(autonomy_rule=RULE)["api_key"]
    for _ in range(5):
        decide(h, key, prompt_version="v1")
    with h.ctx.read() as session:
        state = service.get_state(session=session, agent_id=1, action="quote_freight_lane", prompt_version="v1")
    assert state is not None and state.proposal == "proposed"

    def answer(promote: bool) -> str:
        try:
            return flows.answer_proposal(ctx=h.ctx, state_id=state.id or 0, user=OWNER, promote=promote)
        except AlreadyDecided as exc:
            return f"refused: {exc.detail}"

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(answer, [True, False, True, False]))
    assert sum(not r.startswith("refused") for r in results) == 1, results
