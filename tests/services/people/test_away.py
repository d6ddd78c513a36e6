"""People away: the admin API's rules, pages and DMs going to the delegate, the delegate acting as the person
could (audited), and an absence ending by itself at `until`."""

from __future__ import annotations

from datetime import timedelta

from bot import ids
from testkit.clock import FakeClock
from testkit.fakes.slack import FakeSlack
from tests.harness import BACKUP, CAROL, OWNER, Harness, find_element
from tests.services.incidents.helpers import CHAIN, card_for, report, wait_status
from tests.web.helpers import audited


def away(h: Harness, user: str, delegate: str, *, hours: float = 24, **extra: object) -> object:
    until = (h.ctx.clock.now() + timedelta(hours=hours)).isoformat()
    return h.client.put(f"/v1/people/{user}/away", json={"until": until, "delegate": delegate, **extra},
                        headers=h.admin)


def test_the_admin_api_sets_lists_and_ends_an_absence(h: Harness) -> None:
    """PUT marks someone away (audited), GET lists them, DELETE ends it; a second DELETE is 404."""
    response = away(h, OWNER, CAROL)
    assert response.status_code == 200, response.text
    assert response.json()["delegate"] == CAROL and response.json()["user"] == OWNER
    assert [p["user"] for p in h.client.get("/v1/people/away", headers=h.admin).json()] == [OWNER]
    assert audited(h, "person.away")[0].details["delegate"] == CAROL
    assert h.client.delete(f"/v1/people/{OWNER}/away", headers=h.admin).status_code == 200
    assert audited(h, "person.back")
    assert h.client.delete(f"/v1/people/{OWNER}/away", headers=h.admin).status_code == 404
    assert h.client.put(f"/v1/people/{OWNER}/away", json={}).status_code == 401


def test_bad_absences_are_422_naming_the_field(h: Harness) -> None:
    """A past `until`, a self-delegate, a bad user id, an unknown field, a loop of delegates: each a clear 422."""
    cases = [(away(h, OWNER, CAROL, hours=-1), "until"), (away(h, OWNER, OWNER), "delegate"),
             (away(h, "alice", CAROL), "user"), (away(h, OWNER, "carol"), "delegate"),
             (away(h, OWNER, CAROL, note="x"), "note")]
    for response, field in cases:
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"].split(".")[-1] for e in response.json()["errors"]}, response.text
    assert away(h, CAROL, OWNER).status_code == 200
    looped = away(h, OWNER, CAROL)
    assert looped.status_code == 422 and "loop" in looped.json()["detail"]


def test_a_page_meant_for_someone_away_reaches_their_delegate_who_may_act(h: Harness, slack: FakeSlack) -> None:
    """The owner is away: the incident card goes to the delegate's DM saying whose it was; the delegate's
    Acknowledge counts, and the audit log says they acted as the owner's delegate."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    assert away(h, OWNER, CAROL).status_code == 200
    incident = report(h, key)
    h.drain()
    assert not slack.messages_in(slack.dm_channel_for(OWNER))
    card = card_for(slack, CAROL)
    assert f"For <@{OWNER}>, who is away until" in str(card["blocks"])
    assert h.click(card, ids.INCIDENT_ACK, user=CAROL).status_code == 200
    assert wait_status(h, key, incident["id"], "acknowledged")["acknowledged_by"] == CAROL
    entry = audited(h, "person.acted_as_delegate", actor=CAROL)[0]
    assert entry.details["as_delegate_of"] == [OWNER] and entry.details["note"] == f"as delegate of {OWNER}"


def test_a_delegate_may_pause_the_agent_as_the_owner_could_and_a_stranger_may_not(h: Harness,
                                                                                 slack: FakeSlack) -> None:
    """Pause agent is the owner's and backups'; the owner's delegate may, someone else is refused (audited)."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    report(h, key)
    h.drain()
    owner_card = card_for(slack, OWNER)
    h.click(owner_card, ids.INCIDENT_PAUSE, user=CAROL)
    assert audited(h, "agent.pause_refused", actor=CAROL)
    assert h.client.get("/v1/agents/quoter", headers=h.admin).json()["status"] == "active"
    assert away(h, OWNER, CAROL).status_code == 200
    assert h.click(owner_card, ids.INCIDENT_PAUSE, user=CAROL).status_code == 200
    assert h.client.get("/v1/agents/quoter", headers=h.admin).json()["status"] == "paused"


def test_an_absence_ends_by_itself_at_until(h: Harness, slack: FakeSlack, clock: FakeClock) -> None:
    """Past `until` the owner gets their own pages again without anyone saying they are back."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    assert away(h, OWNER, BACKUP, hours=1).status_code == 200
    clock.advance(3601)
    report(h, key)
    h.drain()
    assert card_for(slack, OWNER)
    assert h.client.get("/v1/people/away", headers=h.admin).json() == []


def test_app_home_sets_an_absence_from_its_modal_and_ends_it(h: Harness, slack: FakeSlack) -> None:
    """Set away… opens the modal; its submission marks the person away and redraws Home; I'm back ends it."""
    home = {"blocks": [{"type": "actions", "block_id": ids.PEOPLE_BLOCK,
                        "elements": [{"type": "button", "action_id": ids.PEOPLE_SET_AWAY, "value": "away"}]}],
            "ts": "1.0", "channel": "D0HOME"}
    assert h.click(home, ids.PEOPLE_SET_AWAY, user=OWNER).status_code == 200
    modal = slack.wait_for("views.open")[0]
    view = modal.args["view"]
    until = int((h.ctx.clock.now() + timedelta(days=2)).timestamp())
    values = {ids.PEOPLE_UNTIL_BLOCK: {ids.PEOPLE_UNTIL_INPUT: {"type": "datetimepicker", "selected_date_time": until}},
              ids.PEOPLE_DELEGATE_BLOCK: {ids.PEOPLE_DELEGATE_INPUT: {"type": "users_select", "selected_user": CAROL}}}
    assert h.submit_view(view, values, user=OWNER).status_code == 200
    assert [p["delegate"] for p in h.client.get("/v1/people/away", headers=h.admin).json()] == [CAROL]
    slack.wait_for(lambda c: c.method == "views.publish" and "You are away" in str(c.args))
    published = slack.homes[OWNER]
    find_element(published["blocks"], ids.PEOPLE_BACK)
    back = {"blocks": published["blocks"], "ts": "1.0", "channel": "D0HOME"}
    assert h.click(back, ids.PEOPLE_BACK, user=OWNER).status_code == 200
    assert h.client.get("/v1/people/away", headers=h.admin).json() == []


def test_app_home_modal_refuses_a_self_delegate_in_the_modal(h: Harness, slack: FakeSlack) -> None:
    """Naming yourself as delegate is answered in the modal, and nothing is set."""
    from bot.blocks.people import away_modal

    until = int((h.ctx.clock.now() + timedelta(days=2)).timestamp())
    values = {ids.PEOPLE_UNTIL_BLOCK: {ids.PEOPLE_UNTIL_INPUT: {"selected_date_time": until}},
              ids.PEOPLE_DELEGATE_BLOCK: {ids.PEOPLE_DELEGATE_INPUT: {"selected_user": OWNER}}}
    response = h.submit_view(away_modal(now=h.ctx.clock.now()), values, user=OWNER)
    assert response.status_code == 200 and "someone else" in response.text
    assert h.client.get("/v1/people/away", headers=h.admin).json() == []
