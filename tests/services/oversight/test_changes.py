"""Prompt and model changes reviewed as diffs: the owner's card (Slack DM and web page) with the diff, Approve
version / Reject version under one rule, review while pending, 409 once rejected, and a level held to its model."""

from __future__ import annotations

import json
from typing import Any

from bot import ids
from services.drafts import flows as drafts
from tests.harness import ALICE, BACKUP, BOB, CAROL, OWNER, Harness
from tests.services.drafts.helpers import new_draft, post_draft, posted_at, wait_card, wait_ephemeral
from tests.web.helpers import audited, signed_in, submit

V1 = "You quote freight lanes.\nAlways quote in EUR.\nNever promise a date.\n"
V2 = "You quote freight lanes.\nAlways quote in EUR, all in.\nNever promise a date.\n"
AUTO = {"quote_freight_lane": {"autonomy": "auto"}}


def register_prompt(h: Harness, key: str, version: str, text: str) -> Any:
    return h.client.post("/v1/prompts", headers=h.bearer(key),
                         json={"action": "quote_freight_lane", "version": version, "text": text})


def test_prompt_versions_are_reviewed_as_diffs_in_slack_and_on_the_web(harness: Harness) -> None:
    """v1's card shows the whole text; a backup may not be stopped but a stranger is (audited); until the owner
    approves v1 its drafts go to review even on an auto action, after it they pass. v2's card shows the diff
    against v1; rejected on the web, its drafts get 409 prompt-version-rejected. The autonomy table shows v1."""
    key = harness.register(actions=AUTO)["api_key"]
    first = register_prompt(harness, key, "v1", V1)
    assert first.status_code == 201 and first.json()["status"] == "pending" and "+Always quote in EUR." in \
        first.json()["diff"]
    card = posted_at(harness, f"oversight:change:{first.json()['id']}")
    assert card["channel"] == harness.slack.dm_channel_for(OWNER)  # type: ignore[union-attr]
    assert "+Always quote in EUR." in json.dumps(card["blocks"]) and "Approve version" in json.dumps(card["blocks"])
    waiting = new_draft(harness, key, prompt_version="v1")
    assert waiting["status"] == "pending" and "prompt version v1 is waiting for its owner's approval" in \
        waiting["review_reasons"]
    harness.click(card, ids.OVERSIGHT_APPROVE_VERSION, user=ALICE)
    assert "only quoter's owner" in wait_ephemeral(harness, "only quoter's owner")
    assert audited(harness, "prompt.answer_refused", actor=ALICE)
    harness.click(card, ids.OVERSIGHT_APPROVE_VERSION, user=OWNER)
    wait_card(harness, card, lambda text: "Approved" in text and ids.OVERSIGHT_APPROVE_VERSION not in text)
    assert new_draft(harness, key, prompt_version="v1")["status"] == "auto_approved"
    # The same version again is the same answer; other text under it is refused.
    assert register_prompt(harness, key, "v1", V1).status_code == 200
    assert register_prompt(harness, key, "v1", V2).status_code == 409
    second = register_prompt(harness, key, "v2", V2).json()
    assert second["base_version"] == "v1" and "-Always quote in EUR.\n+Always quote in EUR, all in.\n" in \
        second["diff"]
    backup = signed_in(harness, BACKUP)
    page = backup.get(f"/app/prompts/{second['id']}")
    assert page.status_code == 200 and "all in." in page.text and "Reject version" in page.text
    assert submit(backup, f"/app/prompts/{second['id']}/reject").status_code == 303
    assert "is rejected" in backup.get(f"/app/prompts/{second['id']}?done=reject").text
    refused = post_draft(harness, key, prompt_version="v2")
    assert refused.status_code == 409 and refused.json()["type"].endswith("/prompt-version-rejected")
    bob = signed_in(harness, BOB)  # an approver sees the page but may not answer; a forged form is refused
    assert "Reject version" not in bob.get(f"/app/prompts/{second['id']}").text
    forged = submit(bob, f"/app/prompts/{second['id']}/approve")
    assert forged.status_code == 403 and "backup owners or an admin can answer" in forged.text
    assert audited(harness, "prompt.answer_refused", actor=BOB)
    table = backup.get("/app/agents/quoter").text
    assert "approved prompt: v1" in table


def test_a_level_holds_for_the_model_it_was_earned_on(harness: Harness) -> None:
    """Auto earned on gpt-4o: a gpt-5 draft goes to review saying why and the owner gets a model card, once;
    the owner being away, their delegate approves the model (audited as such), and gpt-5 drafts pass."""
    key = harness.register()["api_key"]
    earned = new_draft(harness, key, model="gpt-4o")
    drafts.decide(ctx=harness.ctx, draft_id=earned["id"], user_id=ALICE, verdict="approve")
    assert harness.client.patch("/v1/agents/quoter", headers=harness.admin, json={"actions": AUTO}).status_code == 200
    assert new_draft(harness, key, model="gpt-4o")["status"] == "auto_approved"
    moved = new_draft(harness, key, model="gpt-5")
    assert moved["status"] == "pending"
    assert moved["review_reasons"] == ["model gpt-5 differs from gpt-4o, the model quote_freight_lane's auto level "
                                       "was earned with"]
    assert new_draft(harness, key, model="gpt-5")["status"] == "pending"
    changes = audited(harness, "model.change_opened")
    assert len(changes) == 1
    card = posted_at(harness, f"oversight:change:{changes[0].details['change']}")
    assert "gpt-4o" in json.dumps(card["blocks"]) and "Model change" in card["text"]
    away = harness.client.put(f"/v1/people/{OWNER}/away", headers=harness.admin,
                              json={"until": "2099-01-01T00:00:00Z", "delegate": CAROL})
    assert away.status_code == 200, away.text
    harness.click(card, ids.OVERSIGHT_APPROVE_VERSION, user=CAROL)
    wait_card(harness, card, lambda text: "Approved" in text)
    assert audited(harness, "model.approved", actor=CAROL)[0].details["as_delegate_of"] == OWNER
    assert new_draft(harness, key, model="gpt-5")["status"] == "auto_approved"
