"""Deciding in the web app is deciding through the same flow as a Slack click: the card updates, the agent is
called back, and quorum, self-approval, high-risk confirmation and "already decided by …" hold."""

from __future__ import annotations

import html

from bot import ids
from services.drafts.models import Draft
from tests.harness import ALICE, BOB, CAROL, Harness
from tests.services.drafts.helpers import card, has_buttons, new_draft, wait_card
from tests.web.helpers import audited, csrf, signed_in, submit


def status_of(h: Harness, draft_id: str) -> Draft:
    with h.ctx.read() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return draft


def test_web_approval_updates_the_card_and_calls_the_agent_back(harness: Harness) -> None:
    """Alice approves on the page: the draft is approved by her, the Slack card loses its buttons, the agent
    receives the signed callback, and the page shows it delivered."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key, title="Quote CHI to DAL", cost_usd=0.03, confidence=0.8)
    posted = card(harness, draft["id"])
    alice = signed_in(harness, ALICE)
    page = alice.get(f"/app/drafts/{draft['id']}")
    assert page.status_code == 200 and "Quote CHI to DAL" in page.text and "80%" in page.text
    answer = submit(alice, f"/app/drafts/{draft['id']}/approve", revision="0")
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=decided")
    done = status_of(harness, draft["id"])
    assert done.status == "approved" and done.decided_by == [ALICE]
    updated = wait_card(harness, posted, lambda text: ids.DRAFT_ACTIONS_BLOCK not in text)
    assert not has_buttons(updated) and ALICE in str(updated["blocks"])
    assert harness.receiver is not None
    delivery = harness.receiver.wait_for(1)[0]
    assert delivery.json["data"]["status"] == "approved"
    harness.drain()
    shown = alice.get(f"/app/drafts/{draft['id']}")
    assert "delivered" in shown.text and "draft.approved" in shown.text and 'id="decide"' not in shown.text


def test_edit_then_approve_shows_the_diff(harness: Harness) -> None:
    """An edit (a browser sends CRLF line ends) approves the new text and the page shows what changed; the page
    and the inbox say "approved with edits", never a bare "edited" that reads as not approved."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key, body="Hello Dana,\nThe rate is $1,840.\nBest")
    alice = signed_in(harness, ALICE)
    answer = submit(alice, f"/app/drafts/{draft['id']}/edit", revision="0",
                    text="Hello Dana,\r\nThe rate is $1,790.\r\nBest")
    assert answer.status_code == 303
    done = status_of(harness, draft["id"])
    assert done.status == "edited" and done.current_text == "Hello Dana,\nThe rate is $1,790.\nBest"
    page = alice.get(answer.headers["location"]).text
    assert "Done: the draft is approved with edits." in page and ">approved with edits</span>" in page
    assert ">edited<" not in page and ">edited<" not in alice.get("/app/").text
    assert "approved with edits" in alice.get("/app/").text
    assert '<span class="del">-The rate is $1,840.</span>' in page
    assert '<span class="add">+The rate is $1,790.</span>' in page


def test_json_draft_is_pretty_and_must_stay_json(harness: Harness) -> None:
    """A JSON body reads pretty-printed; an edit that breaks the JSON is refused with the text kept."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key, body={"order": "8812", "amount": 240})
    alice = signed_in(harness, ALICE)
    assert '"amount": 240' in html.unescape(alice.get(f"/app/drafts/{draft['id']}").text)
    broken = submit(alice, f"/app/drafts/{draft['id']}/edit", revision="0", text='{"order": "8812", amount')
    assert broken.status_code == 422 and "must stay valid JSON" in broken.text
    assert '{"order": "8812", amount</textarea>' in html.unescape(broken.text)
    assert status_of(harness, draft["id"]).status == "pending"


def test_reject_needs_a_reason_and_the_agent_gets_it(harness: Harness) -> None:
    """No reason: the page asks for one and nothing changes. With one: rejected, reason in the callback."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key)
    alice = signed_in(harness, ALICE)
    empty = submit(alice, f"/app/drafts/{draft['id']}/reject", reason="   ")
    assert empty.status_code == 422 and "Please say why" in empty.text
    assert status_of(harness, draft["id"]).status == "pending"
    assert submit(alice, f"/app/drafts/{draft['id']}/reject", reason="rate below floor").status_code == 303
    assert status_of(harness, draft["id"]).reason == "rate below floor"
    assert harness.receiver is not None
    assert harness.receiver.wait_for(1)[0].json["data"]["reason"] == "rate below floor"


def test_high_risk_approval_asks_for_confirmation(harness: Harness) -> None:
    """As in Slack's confirm dialog: the first Approve only asks; the confirmed one decides."""
    key = harness.register(actions={"refund": {"high_risk": True}})["api_key"]
    draft = new_draft(harness, key, action="refund", title="Refund $240")
    alice = signed_in(harness, ALICE)
    asked = submit(alice, f"/app/drafts/{draft['id']}/approve", revision="0")
    assert asked.status_code == 200 and "Approve a high-risk action?" in asked.text
    assert status_of(harness, draft["id"]).status == "pending"
    assert submit(alice, f"/app/drafts/{draft['id']}/approve", revision="0", confirm="yes").status_code == 303
    assert status_of(harness, draft["id"]).status == "approved"


def test_quorum_self_approval_and_already_decided(harness: Harness) -> None:
    """Two approvals needed; the requester can't approve; a second vote by the same person is refused; after
    the decision, a late click hears who decided. Each sentence is the flow's own."""
    key = harness.register(approvers=[ALICE, BOB, CAROL], approvals_required=2)["api_key"]
    draft = new_draft(harness, key, requested_by=CAROL)
    alice, bob, carol = signed_in(harness, ALICE), signed_in(harness, BOB), signed_in(harness, CAROL)
    path = f"/app/drafts/{draft['id']}/approve"
    assert submit(alice, path, revision="0").headers["location"].endswith("?done=vote")
    assert "1 of 2 approvals" in alice.get(f"/app/drafts/{draft['id']}?done=vote").text
    twice = submit(alice, path, revision="0")
    assert twice.status_code == 409 and "already approved" in twice.text
    own = submit(carol, path, revision="0")
    assert own.status_code == 403 and "you asked for this draft" in own.text
    assert submit(bob, path, revision="0").status_code == 303
    late = submit(carol, f"/app/drafts/{draft['id']}/reject", reason="too late")
    assert late.status_code == 409 and f"already approved by @{ALICE}, @{BOB}" in late.text
    assert audited(harness, "draft.decision_refused", actor=CAROL)  # not allowed: the flow's audit
    assert audited(harness, "draft.decision_conflict", actor=CAROL)  # too late: audited by the flow too


def test_stale_revision_is_refused(harness: Harness) -> None:
    """Bob's page showed the text before Alice's edit: his approval of words nobody showed him is refused."""
    key = harness.register(approvals_required=2)["api_key"]
    draft = new_draft(harness, key, body="first words")
    alice, bob = signed_in(harness, ALICE), signed_in(harness, BOB)
    token = csrf(bob, f"/app/drafts/{draft['id']}")
    assert submit(alice, f"/app/drafts/{draft['id']}/edit", revision="0", text="better words").status_code == 303
    stale = bob.post(f"/app/drafts/{draft['id']}/approve", data={"csrf_token": token, "revision": "0"})
    assert stale.status_code == 409 and "since you looked" in stale.text
    assert status_of(harness, draft["id"]).approvals == 1


def test_group_member_decides_through_the_group(harness: Harness) -> None:
    """Carol is an approver only through a Slack user group: her inbox lists the draft and she may approve."""
    assert harness.slack is not None
    harness.slack.usergroups = {"S090LEADS": [CAROL]}
    key = harness.register("planner", approvers=[BOB], approver_groups=["S090LEADS"])["api_key"]
    draft = new_draft(harness, key, title="Plan the Monday run")
    carol = signed_in(harness, CAROL)
    assert "Plan the Monday run" in carol.get("/app/").text
    assert submit(carol, f"/app/drafts/{draft['id']}/approve", revision="0").status_code == 303
    assert status_of(harness, draft["id"]).decided_by == [CAROL]


def test_a_slack_decision_reaches_the_live_fragments(harness: Harness) -> None:
    """Bob approves in Slack; the draft's live panel and the inbox fragment (what the page polls) show it."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key, title="Decided in Slack")
    alice = signed_in(harness, ALICE)
    assert 'data-status="pending"' in alice.get(f"/app/drafts/{draft['id']}/live").text
    harness.click(card(harness, draft["id"]), ids.DRAFT_APPROVE, user=BOB)
    live = alice.get(f"/app/drafts/{draft['id']}/live").text
    assert 'data-status="approved"' in live and BOB in live
    inbox = alice.get("/app/live/inbox").text
    assert 'id="inbox"' not in inbox and "Decided in Slack" in inbox  # gone from the queue, listed as decided
