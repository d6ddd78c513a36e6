"""Two app instances on one PostgreSQL share the due work: each row is claimed and delivered exactly once."""

from __future__ import annotations

from collections import Counter

from services.outbox.service import enqueue_callback, enqueue_slack
from tests.harness import Harness


def test_two_instances_deliver_each_row_once(pg_url: str, slack, receiver) -> None:
    """Both senders run at once against the same rows; SKIP LOCKED claims keep them from doubling up."""
    with Harness(pg_url, slack=slack, receiver=receiver) as one, Harness(pg_url, slack=slack, receiver=receiver) as two:
        agent = one.register("replicated")
        now = one.ctx.clock.now()
        with one.ctx.uow() as session:
            from services.agents.service import require_agent

            agent_id = require_agent(session=session, name=agent["name"]).id
            for n in range(40):
                enqueue_callback(session=session, agent_id=agent_id, url=receiver.url, event="test.ping",
                                 data={"n": n}, now=now)
                enqueue_slack(session=session, method="chat.postMessage", now=now,
                              args={"channel": f"C{n:04d}", "text": f"post {n}"})
        two.ctx.outbox_wakeup.fire()
        receiver.wait_for(40, timeout=20)
        slack.wait_for("chat.postMessage", count=40, ok_only=True, timeout=20)
        # Every row settled: none is pending or claimed, so no sender can post one again; a double delivery would
        # have been made before its row's settle and is already in the counts below.
        one.drain()
        ids = Counter(d.delivery_id for d in receiver.deliveries)
        assert len(ids) == 40 and set(ids.values()) == {1}
        posts = Counter(c.args["text"] for c in slack.calls_to("chat.postMessage", ok_only=True))
        assert len(posts) == 40 and set(posts.values()) == {1}
