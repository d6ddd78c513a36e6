"""Pages say what they mean to a newcomer: the escalation chain's passes, audit details as fields, web decisions
named as such, no expiry on a decided draft, no placeholder for a missing confidence, keyboard hints only where
the keys work, and a reused sign-in link page that says how to get a new one."""

from __future__ import annotations

from services.audit.service import seal
from tests.harness import ALICE, OWNER, Harness
from tests.services.drafts.helpers import new_draft
from tests.web.helpers import browser, link_token, signed_in, submit


def test_chain_passes_read_as_once_or_n_times(harness: Harness) -> None:
    """escalation_repeat 0 runs the chain once (PagerDuty's num_loops); 2 runs it three times."""
    harness.register()
    owner = signed_in(harness, OWNER)
    assert "Runs once; stops as soon as someone acknowledges." in owner.get("/app/agents/quoter").text
    assert harness.client.patch("/v1/agents/quoter", json={"escalation_repeat": 2},
                                headers=harness.admin).status_code == 200
    page = owner.get("/app/agents/quoter").text
    assert "Runs 3 times (once, then 2 repeats)" in page and "Runs 0" not in page


def test_audit_shows_readable_details_web_decisions_and_its_count(harness: Harness) -> None:
    """No Python reprs (brackets, quotes, None); a web decision says "in the web app"; the count is the rows'."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key, title="Audited")
    alice = signed_in(harness, ALICE)
    assert submit(alice, f"/app/drafts/{draft['id']}/approve", revision="0").status_code == 303
    with harness.ctx.uow() as session:
        seal(session=session)
    page = signed_in(harness, OWNER).get("/app/audit").text
    rows = page.count("<tr") - 1  # less the header row
    assert f'id="shown">{rows} entries shown' in page
    approved = page[page.index("<code>draft.approved</code>") - 200:page.index("<code>draft.approved</code>") + 400]
    assert "person, in the web app" in approved and f"decided by: {ALICE}" in approved
    details = [cell.split("</td>")[0] for cell in page.split('<td class="details">')[1:]]
    assert details and not any(mark in cell for cell in details for mark in ("[", "{", "'", "None", "via:"))


def test_decided_draft_has_no_expiry_and_inbox_no_placeholder(harness: Harness) -> None:
    """A decided draft shows when it was decided, not "expires in"; a draft without confidence shows none."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key, title="No confidence")
    alice = signed_in(harness, ALICE)
    inbox = alice.get("/app/").text
    assert "No confidence" in inbox and "confidence —" not in inbox and "Keys:" in inbox
    submit(alice, f"/app/drafts/{draft['id']}/approve", revision="0")
    page = alice.get(f"/app/drafts/{draft['id']}").text
    assert "<dt>Expires</dt>" not in page and "<dt>Decided</dt>" in page and "expires in" not in page
    for path in ("/app/agents", "/app/audit", "/app/incidents", "/app/spend"):
        assert "Keys:" not in alice.get(path).text, path


def test_a_reused_link_says_how_to_get_a_new_one(harness: Harness) -> None:
    """Plain words, no literal backticks; in the demo the way is to press Enter where it runs."""
    token = link_token(harness, ALICE)
    assert browser(harness).post("/app/login", data={"token": token}).status_code == 303
    again = browser(harness).post("/app/login", data={"token": token})
    assert again.status_code == 403 and "already used" in again.text and "`" not in again.text
    assert "countersign web login-link" in again.text
    harness.ctx.sign_in_hint = "Press Enter in the terminal where countersign demo runs: it prints a new sign-in link."
    demo = browser(harness).post("/app/login", data={"token": token})
    assert "Press Enter in the terminal where countersign demo runs" in demo.text and "`" not in demo.text
