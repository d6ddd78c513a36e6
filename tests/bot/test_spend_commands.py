"""`/countersign budget [agent]` answers ephemerally with spend and what is left; `/countersign digest` posts."""

from __future__ import annotations

from tests.harness import ALICE, OWNER, Harness


def test_budget_for_my_agents_and_a_named_one(harness: Harness) -> None:
    """Without a name it shows the caller's agents; with one, that agent; an unknown name is polite."""
    key = harness.register(budgets=[{"period": "day", "limit_usd": 10}])["api_key"]
    harness.register("other")
    harness.client.post("/v1/usage", json={"model": "gpt-4o-mini", "cost_usd": 4}, headers=harness.bearer(key))
    mine = harness.command("budget", user_id=OWNER).json()
    assert mine["response_type"] == "ephemeral"
    text = str(mine["blocks"])
    assert "*quoter* (active): $4.00 today" in text and "$4.00 of $10.00" in text and "$6.00 left" in text
    assert "*other*" in text
    named = harness.command("budget other", user_id=OWNER).json()  # its owner: only they may see it
    assert "No budget applies" in str(named["blocks"])
    assert "no agent named" in harness.command("budget ghost", user_id=ALICE).json()["text"]
    assert "own no agents" in harness.command("budget", user_id=ALICE).json()["text"]


def test_digest_command_posts_to_this_channel(harness: Harness) -> None:
    """`/countersign digest week` acks at once, then the digest lands in the channel it was asked from."""
    harness.register()  # the caller owns an agent, in a channel that gets digests: they may post one
    made = harness.client.post("/v1/digests/schedules", json={"channel": "C0ASKED"}, headers=harness.admin)
    assert made.status_code == 201, made.text
    ack = harness.command("digest week", user_id=OWNER, response_url=harness.slack.response_url("digest"),
                          channel_id="C0ASKED").json()
    assert ack["response_type"] == "ephemeral"
    [reply] = harness.slack.wait_for_response("digest")
    assert "Posting the week digest" in reply["text"]
    harness.drain()
    [posted] = harness.slack.messages_in("C0ASKED")
    assert "Countersign digest" in posted["text"]
    harness.command("digest fortnight", response_url=harness.slack.response_url("bad"))
    assert "day|week|month" in harness.slack.wait_for_response("bad")[0]["text"]
