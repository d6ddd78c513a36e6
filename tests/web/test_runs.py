"""/app/runs: halted runs first, a run's page with its last step and history, and its choices under the Slack
card's rule (owner, backups, admins), with CSRF; refusals audited."""

from __future__ import annotations

from testkit.clock import FakeClock
from tests.harness import ALICE, CAROL, OWNER, Harness
from tests.services.incidents.helpers import tick
from tests.web.helpers import audited, signed_in, submit


def test_a_halted_run_is_answered_from_the_web(h: Harness, clock: FakeClock) -> None:
    """The owner sees the halted run first, opens it, and resumes it; an approver sees it but is refused (and
    audited); someone outside the agent gets a 404; a forged form and an unknown choice change nothing."""
    key = h.register()["api_key"]
    h.client.post("/v1/runs", headers=h.bearer(key), json={
        "expect_heartbeat_every_s": 10, "grace_s": 5, "name": "nightly-reprice", "run_id": "nightly-7",
        "step": "3/7 lanes", "halt_policy": ["resume", "abort"]})
    clock.advance(16)
    tick(h)
    owner = signed_in(h, OWNER)
    listing = owner.get("/app/runs")
    assert listing.status_code == 200 and "nightly-reprice" in listing.text
    assert '<td class="choices">resume, abort</td>' in listing.text
    run_id = listing.text.split('href="/app/runs/')[1].split('"')[0]
    page = owner.get(f"/app/runs/{run_id}")
    assert page.status_code == 200 and "3/7 lanes" in page.text and "run.halted" in page.text
    assert "Resume the run" in page.text and "Hand to a human" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")

    approver = signed_in(h, ALICE)
    seen = approver.get(f"/app/runs/{run_id}")
    assert seen.status_code == 200 and "Resume the run" not in seen.text and "waits for an answer" in seen.text
    refused = submit(approver, f"/app/runs/{run_id}/decide", choice="abort")
    assert refused.status_code == 403 and "only quoter&#39;s owner" in refused.text
    assert [e.details["via"] for e in audited(h, "run.halt_decision_refused", actor=ALICE)] == ["web"]
    assert signed_in(h, CAROL).get(f"/app/runs/{run_id}").status_code == 404
    forged = owner.post(f"/app/runs/{run_id}/decide", data={"choice": "resume", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert submit(owner, f"/app/runs/{run_id}/decide", choice="reboot").status_code == 400

    done = submit(owner, f"/app/runs/{run_id}/decide", choice="resume")
    assert done.status_code == 303 and done.headers["location"] == f"/app/runs/{run_id}?done=resume"
    after = owner.get(done.headers["location"])
    assert "Resume the run by U012OWNER" in after.text and "/decide" not in after.text
    assert "run.halt_decided" in after.text
    again = submit(owner, f"/app/runs/{run_id}/decide", choice="abort")
    assert again.status_code == 409 and "already chose" in again.text
    assert [e.details["via"] for e in audited(h, "run.halt_decided")] == ["web"]
