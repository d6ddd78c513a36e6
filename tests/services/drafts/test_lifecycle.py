"""A draft's life without a decision: reminders, expiry (controllable clock), cancel, and a restart."""

from __future__ import annotations

from bot import ids
from services.drafts.jobs import JOBS
from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import ALICE, OWNER, REVIEW_CHANNEL, Harness
from tests.services.drafts.helpers import card, get, has_buttons, new_draft, wait_card


def test_reminder_at_halfway_then_expiry_denies_and_calls_back(sqlite_url: str, slack: FakeSlack,
                                                               receiver: FakeAgentReceiver) -> None:
    """Nothing before halfway; at halfway one reminder in the card's thread and a DM to the owner; at expiry the
    draft is `expired` ("denied: timed out, do not retry"), the card says so and the agent is told."""
    clock = FakeClock()
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as h:
        agent = h.register()
        draft = new_draft(h, agent["api_key"], expires_in_s=3600)
        posted = card(h, draft["id"])
        clock.advance(1700)
        h.run_jobs(JOBS)
        h.drain()
        assert len(slack.messages_in(REVIEW_CHANNEL)) == 1 and slack.messages_in(slack.dm_channel_for(OWNER)) == []
        clock.advance(200)
        h.run_jobs(JOBS)
        h.run_jobs(JOBS)  # a second tick must not remind twice
        h.drain()
        thread = [m for m in slack.messages_in(REVIEW_CHANNEL) if m.get("thread_ts") == posted["ts"]]
        assert len(thread) == 1 and "Still waiting" in str(thread[0]["blocks"])
        reply = [c for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts") == posted["ts"]]
        assert reply[0].args["reply_broadcast"] is True
        owner_dm = slack.messages_in(slack.dm_channel_for(OWNER))
        assert len(owner_dm) == 1 and "archives/" in str(owner_dm[0]["blocks"])

        clock.advance(1800)
        h.run_jobs(JOBS)
        expired = get(h, agent["api_key"], draft["id"]).json()
        assert expired["status"] == "expired" and expired["reason"] == "denied: timed out, do not retry"
        delivery = receiver.wait_for(1, timeout=10)[0]
        assert delivery.json["data"]["status"] == "expired" and delivery.verify(agent["webhook_secret"])
        final = wait_card(h, posted, lambda text: "Expired" in text)
        assert not has_buttons(final)


def test_cancel_withdraws_a_pending_draft(harness: Harness) -> None:
    """The agent cancels: the card says so, the callback is sent, a later click hears it was cancelled, and a
    second cancel is 409."""
    agent = harness.register()
    key = agent["api_key"]
    draft = new_draft(harness, key)
    posted = card(harness, draft["id"])
    response = harness.client.post(f"/v1/drafts/{draft['id']}/cancel", json={"reason": "customer withdrew"},
                                   headers=harness.bearer(key))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["reason"] == "customer withdrew"
    wait_card(harness, posted, lambda text: "Cancelled" in text)
    assert harness.receiver.wait_for(1)[0].json["data"]["status"] == "cancelled"
    again = harness.client.post(f"/v1/drafts/{draft['id']}/cancel", headers=harness.bearer(key))
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    other = harness.register("other")
    assert harness.client.post(f"/v1/drafts/{draft['id']}/cancel",
                               headers=harness.bearer(other["api_key"])).status_code == 404


def test_restart_between_post_and_decision(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> None:
    """The app stops after posting the card; a new one on the same database takes the click and calls back."""
    with Harness(sqlite_url, slack=slack, receiver=receiver) as first:
        agent = first.register()
        draft = new_draft(first, agent["api_key"])
        posted = card(first, draft["id"])
        first.drain()
    with Harness(sqlite_url, slack=slack, receiver=receiver) as second:
        second.click(posted, ids.DRAFT_APPROVE, user=ALICE)
        delivery = receiver.wait_for(1, timeout=10)[0]
        assert delivery.json["data"]["status"] == "approved" and delivery.verify(agent["webhook_secret"])
        wait_card(second, posted, lambda text: "Approved" in text)


def test_reminder_point_is_configurable(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> None:
    """COUNTERSIGN_DRAFT_REMINDER_AT=0.9 moves the reminder to 90% of the way to expiry."""
    clock = FakeClock()
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=clock, jobs=[],
                 COUNTERSIGN_DRAFT_REMINDER_AT=0.9) as h:
        agent = h.register()
        new_draft(h, agent["api_key"], expires_in_s=1000)
        clock.advance(850)
        h.run_jobs(JOBS)
        h.drain()
        assert slack.messages_in(slack.dm_channel_for(OWNER)) == []
        clock.advance(60)
        h.run_jobs(JOBS)
        h.drain()
        assert len(slack.messages_in(slack.dm_channel_for(OWNER))) == 1


def test_a_claimed_draft_reminds_its_claimer_alone(sqlite_url: str, slack: FakeSlack,
                                                   receiver: FakeAgentReceiver) -> None:
    """Alice claimed it: at the reminder point she is DMed, and neither the channel nor the owner is paged."""
    from services.drafts import claims

    clock = FakeClock()
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as h:
        agent = h.register()
        draft = new_draft(h, agent["api_key"], expires_in_s=3600)
        posted = card(h, draft["id"])
        claims.claim(ctx=h.ctx, draft_id=draft["id"], user_id=ALICE)
        clock.advance(1900)
        h.run_jobs(JOBS)
        h.drain()
        alice = slack.messages_in(slack.dm_channel_for(ALICE))
        assert len(alice) == 1 and "You claimed" in str(alice[0]["blocks"])
        assert slack.messages_in(slack.dm_channel_for(OWNER)) == []
        assert [m for m in slack.messages_in(REVIEW_CHANNEL) if m.get("thread_ts") == posted["ts"]] == []
