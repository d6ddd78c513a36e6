"""Security of the web app: CSRF on every change, refusals audited and changing nothing, and no page showing
a person anything of an agent they have no part in."""

from __future__ import annotations

from services.drafts.models import Draft
from tests.harness import ALICE, BOB, CAROL, OWNER, Harness
from tests.services.drafts.helpers import new_draft
from tests.services.incidents.helpers import report
from tests.web.helpers import audited, browser, csrf, link_token, signed_in, submit

STRANGER = "U0STRANGER"


def pending(h: Harness, draft_id: str) -> bool:
    with h.ctx.read() as session:
        draft = session.get(Draft, draft_id)
        return draft is not None and draft.status == "pending"


def test_missing_or_forged_csrf_changes_nothing_and_is_audited(harness: Harness) -> None:
    """A POST without the session's token, with another session's, or sent from another site (Fetch Metadata)
    is refused and leaves a trace."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key)
    alice, bob = signed_in(harness, ALICE), signed_in(harness, BOB)
    missing = alice.post(f"/app/drafts/{draft['id']}/approve", data={"revision": "0"})
    forged = alice.post(f"/app/drafts/{draft['id']}/approve", data={"revision": "0", "csrf_token": csrf(bob)})
    for answer in (missing, forged):
        assert answer.status_code == 403 and "security token" in answer.text
    assert pending(harness, draft["id"])
    assert len(audited(harness, "web.refused", actor=ALICE)) == 2
    cross = alice.post(f"/app/drafts/{draft['id']}/approve", data={"revision": "0", "csrf_token": csrf(alice)},
                       headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403 and pending(harness, draft["id"])
    assert len(audited(harness, "web.refused", actor=ALICE)) == 3
    logout = alice.post("/app/logout", data={})
    assert logout.status_code == 403 and alice.get("/app/").status_code == 200  # still signed in


def test_non_approver_post_changes_nothing_and_is_audited(harness: Harness) -> None:
    """The owner sees the draft but is not an approver: the page offers no buttons, and a hand-made POST is
    refused with the Slack sentence and audited as a refused decision."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key)
    owner = signed_in(harness, OWNER)
    page = owner.get(f"/app/drafts/{draft['id']}")
    assert page.status_code == 200 and 'id="decide"' not in page.text and "you are not one of them" in page.text
    answer = submit(owner, f"/app/drafts/{draft['id']}/approve", revision="0")
    assert answer.status_code == 403 and "you are not an approver for quoter" in answer.text
    assert pending(harness, draft["id"])
    assert audited(harness, "draft.decision_refused", actor=OWNER)


def test_a_stranger_sees_nothing_of_an_agent(any_db_harness: Harness) -> None:
    """Someone with no part in quoter (and Carol, who approves only for another team's agent) gets nothing of
    it: not in the inbox, agents, spend, incidents or audit pages, and 404 on its pages and POSTs (audited).
    On SQLite and PostgreSQL, since the audit filter builds subjects in SQL."""
    harness = any_db_harness
    key = harness.register(team="freight")["api_key"]
    harness.register("planner", owner=CAROL, backup_owners=[], approvers=[CAROL], team="ops")
    draft = new_draft(harness, key, title="Secret freight quote", cost_usd=0.5)
    opened = report(harness, key, summary="secret incident summary")
    harness.client.post("/v1/usage", headers=harness.bearer(key),
                        json={"model": "gpt-4o-mini", "input_tokens": 10, "output_tokens": 10, "cost_usd": 1.25})
    for person in (STRANGER, CAROL):
        client = signed_in(harness, person)
        assert "No entries match" in client.get(f"/app/audit?subject=draft:{draft['id']}").text
        for path in ("/app/", "/app/live/inbox", "/app/agents", "/app/spend", "/app/incidents", "/app/audit",
                     "/app/audit?subject=draft:"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            for secret in ("Secret freight quote", "quoter", "secret incident summary", draft["id"], "freight"):
                assert secret not in answer.text, (person, path, secret)
        for path in (f"/app/drafts/{draft['id']}", f"/app/drafts/{draft['id']}/live", "/app/agents/quoter",
                     "/app/audit?agent=quoter"):
            assert client.get(path).status_code == 404, path
        assert submit(client, f"/app/drafts/{draft['id']}/approve", revision="0").status_code == 404
        assert submit(client, f"/app/incidents/{opened['id']}/acknowledge").status_code == 404
        assert len(audited(harness, "web.refused", actor=person)) >= 6
    assert pending(harness, draft["id"])
    assert "planner" in signed_in(harness, CAROL).get("/app/agents").text


def test_admin_sees_every_agent(harness: Harness) -> None:
    """COUNTERSIGN_ADMIN_USERS see all agents and the whole audit log, without being approvers."""
    harness.ctx.settings.admin_users = [STRANGER]
    key = harness.register()["api_key"]
    draft = new_draft(harness, key, title="Visible to admins")
    admin = signed_in(harness, STRANGER)
    assert "quoter" in admin.get("/app/agents").text
    assert "Visible to admins" in admin.get(f"/app/drafts/{draft['id']}").text
    assert "draft.created" in admin.get("/app/audit").text
    assert "Visible to admins" not in admin.get("/app/").text.split("Waiting on others")[0]  # not theirs to decide


def test_sign_in_started_by_another_site_is_refused(harness: Harness) -> None:
    """Login CSRF: another site can't post a link of its choosing to sign this browser in; the link survives."""
    token = link_token(harness, ALICE)
    client = browser(harness)
    refused = client.post("/app/login", data={"token": token}, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403 and "another website" in refused.text
    assert client.post("/app/login", data={"token": token}).status_code == 303
