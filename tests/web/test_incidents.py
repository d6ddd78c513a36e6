"""Incidents in the web app: Acknowledge, Resolve, Snooze and Pause through the flows the Slack buttons call."""

from __future__ import annotations

from services.agents.service import require_agent
from services.incidents.models import Incident
from tests.harness import ALICE, OWNER, Harness
from tests.services.incidents.helpers import report
from tests.web.helpers import audited, signed_in, submit


def incident(h: Harness, incident_id: int) -> Incident:
    with h.ctx.read() as session:
        found = session.get(Incident, incident_id)
        assert found is not None
        return found


def test_acknowledge_then_resolve_with_a_note(harness: Harness) -> None:
    """The owner acknowledges (the chain stops) and resolves with a note; the page lists it resolved."""
    key = harness.register()["api_key"]
    opened = report(harness, key, summary="quotes came back negative")
    owner = signed_in(harness, OWNER)
    page = owner.get("/app/incidents")
    assert page.status_code == 200 and "quotes came back negative" in page.text and "Acknowledge" in page.text
    assert submit(owner, f"/app/incidents/{opened['id']}/acknowledge").status_code == 303
    assert incident(harness, opened["id"]).acked_by == OWNER
    assert submit(owner, f"/app/incidents/{opened['id']}/resolve", note="fixed the rate table").status_code == 303
    done = incident(harness, opened["id"])
    assert done.status == "resolved" and done.resolution_note == "fixed the rate table"
    again = submit(owner, f"/app/incidents/{opened['id']}/acknowledge")
    assert again.status_code == 409 and "already resolved" in again.text


def test_snooze_takes_only_the_offered_lengths(harness: Harness) -> None:
    """30 minutes snoozes; 7 minutes (not an offered choice) is refused on the page, nothing changed."""
    key = harness.register()["api_key"]
    opened = report(harness, key)
    owner = signed_in(harness, OWNER)  # routed to the owner, so the owner may respond
    odd = submit(owner, f"/app/incidents/{opened['id']}/snooze", minutes="7")
    assert odd.status_code == 422 and "choose one of" in odd.text
    assert submit(owner, f"/app/incidents/{opened['id']}/snooze", minutes="30").status_code == 303
    assert incident(harness, opened["id"]).status == "snoozed"


def test_pause_follows_the_slack_rule(harness: Harness) -> None:
    """An approver may not pause the agent (refused, audited); its owner may."""
    key = harness.register()["api_key"]
    opened = report(harness, key)
    refused = submit(signed_in(harness, ALICE), f"/app/incidents/{opened['id']}/pause")
    assert refused.status_code == 403 and "its backup owners or an admin" in refused.text
    assert audited(harness, "web.refused", actor=ALICE)
    assert submit(signed_in(harness, OWNER), f"/app/incidents/{opened['id']}/pause").status_code == 303
    with harness.ctx.read() as session:
        assert require_agent(session=session, name="quoter").status == "paused"


def test_a_storm_shows_its_count_on_the_lead_and_the_agent_filter_narrows_the_page(harness: Harness) -> None:
    """Grouped incidents say which incident leads their storm; the lead says how many the storm holds; ?agent=
    (the storm card's link) shows that agent's incidents only."""
    quoter = harness.register("quoter")["api_key"]
    billing = harness.register("billing")["api_key"]
    created = [report(harness, quoter, dedup_key=f"k{n}", summary=f"quote {n} failed") for n in range(6)]
    report(harness, billing, summary="invoice failed")
    owner = signed_in(harness, OWNER)
    page = owner.get("/app/incidents").text
    assert "leads a storm of 3 incidents" in page and page.count("in the storm led by") == 2
    only = owner.get("/app/incidents?agent=quoter").text
    assert "quote 5 failed" in only and "invoice failed" not in only and created[3]["storm_id"] is not None
