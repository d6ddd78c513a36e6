"""After the traffic: wait for the queues to drain, then prove each promise from the server's own records, the
fake Slack's and the agents' receiver's."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import httpx
from sqlalchemy import func, select

from services.audit.anchors import verify_anchors
from services.audit.service import verify
from services.db import make_engine, read_scope
from services.outbox.models import OutboxMessage
from testkit.clicks import buttons
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.soak.traffic import REVIEW_CHANNEL, Ledger


def outbox_counts(db_url: str) -> dict[str, int]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    finally:
        engine.dispose()
    return {status: int(count) for status, count in rows}


def wait_drained(db_url: str, timeout: float = 90.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = outbox_counts(db_url)
        if not counts.get("pending"):
            return counts
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox not drained in {timeout}s: {counts}")
        time.sleep(0.25)


def cards_by_draft(slack: FakeSlack) -> dict[str, list[tuple[str, str, float]]]:
    """draft id -> (channel, ts, when) of every card posted for it (Slack accepted the post)."""
    found: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for call in slack.calls_to("chat.postMessage", ok_only=True):
        if call.args.get("thread_ts") or call.response.get("channel") != REVIEW_CHANNEL:
            continue
        values = {b.get("value", "").split(":")[0] for b in buttons({"blocks": call.args.get("blocks") or []})}
        for draft_id in values - {""}:
            found[draft_id].append((call.response["channel"], call.response["ts"], call.time))
    return found


def draft_states(base_url: str, ledger: Ledger) -> dict[str, dict[str, Any]]:
    with httpx.Client(base_url=base_url, timeout=15) as client:
        return {draft_id: client.get(f"/v1/drafts/{draft_id}", headers={"Authorization": f"Bearer {key}"}).json()
                for draft_id, key in ledger.drafts.items()}


def check_drafts(base_url: str, ledger: Ledger, slack: FakeSlack, receiver: FakeAgentReceiver, *,
                 crash: tuple[float, float] | None = None) -> dict[str, int]:
    """Every accepted draft: exactly one card; a decided one shows its outcome and reached its agent exactly once
    by delivery id. Around a `crash` (from the kill to the end of the leases after restart) a delivery in flight
    may repeat with the same delivery id (at-least-once). A click acked before the kill is never lost: decisions
    commit before the ack (bot.listeners.acking)."""
    duplicate_window = crash
    states = draft_states(base_url, ledger)
    cards = cards_by_draft(slack)
    by_draft: dict[str, list[Any]] = defaultdict(list)
    for delivery in receiver.deliveries:
        if delivery.event == "draft.decided" and delivery.json:
            by_draft[str(delivery.json["data"]["id"])].append(delivery)
    problems: list[str] = []
    decided = repeated = 0
    for draft_id, state in states.items():
        posted = cards.get(draft_id, [])
        if len(posted) != 1 and not (posted and crash and all(crash[0] <= t <= crash[1] for *_, t in posted[:-1])):
            problems.append(f"{draft_id}: {len(posted)} cards")
            continue
        final = slack.message(*posted[-1][:2]) or {}
        repeated += len(posted) > 1 or len([d for d in by_draft.get(draft_id, []) if not d.failed]) > 1
        still_has_buttons = bool(buttons(final))
        deliveries = by_draft.get(draft_id, [])
        if state["status"] == "pending":
            if not still_has_buttons or deliveries:
                problems.append(f"{draft_id}: pending but card final={not still_has_buttons}, {len(deliveries)} calls")
            continue
        decided += 1
        if still_has_buttons:
            problems.append(f"{draft_id}: {state['status']} but its card still has buttons")
        ids = {d.delivery_id for d in deliveries}
        ok = [d for d in deliveries if not d.failed]
        if len(ids) != 1 or not ok:
            problems.append(f"{draft_id}: {len(ids)} delivery ids, {len(ok)} delivered")
        elif len(ok) > 1 and not (duplicate_window and all(duplicate_window[0] <= d.time <= duplicate_window[1]
                                                            for d in ok[:-1])):
            problems.append(f"{draft_id}: delivered {len(ok)} times")
        elif any(d.time > ok[0].time for d in deliveries if d.failed) and len(ok) == 1:
            problems.append(f"{draft_id}: a retry after success")
    assert not problems, f"{len(problems)} of {len(states)} drafts broke a promise: {problems[:10]}"
    for draft_id in ledger.clicked:
        answer = slack.responses.get(f"soak-{draft_id}")
        if crash and any(":warning:" in str(reply.get("text", "")) for reply in answer or []):
            continue  # refused politely, e.g. a click on a card re-posted after the kill: answered, not lost
        if draft_id not in states:  # created by a request whose answer the kill swallowed: judge by its card
            final = slack.message(*cards[draft_id][-1][:2]) or {}
            assert not buttons(final), f"{draft_id}: clicked and acked, card still open: {answer}"
            continue
        assert states[draft_id]["status"] != "pending", f"{draft_id}: clicked and acked, still pending: {answer}"
    return {"drafts": len(states), "decided": decided, "repeated_in_crash_window": repeated}


def check_incidents(base_url: str, ledger: Ledger, chain_steps: int) -> None:
    """Every reported incident is readable, and each escalation step ran exactly once, none skipped."""
    with httpx.Client(base_url=base_url, timeout=15) as client:
        for incident_id, key in ledger.incidents.items():
            got = client.get(f"/v1/incidents/{incident_id}", headers={"Authorization": f"Bearer {key}"})
            assert got.status_code == 200, got.text
            steps = [(s["verb"], tuple(s["targets"])) for s in got.json()["steps_taken"]]
            assert len(steps) == len(set(steps)) == chain_steps, f"incident {incident_id}: steps {steps}"


def incidents_done(base_url: str, ledger: Ledger, chain_steps: int) -> bool:
    try:
        check_incidents(base_url, ledger, chain_steps)
    except AssertionError:
        return False
    return True


def audit_verify(db_url: str) -> str:
    """The check `countersign audit verify` makes (services/cli/audit.py: the hash chain, then its signed
    checkpoints), made in this process: a CLI process would spend more CPU importing the service than checking.
    Fails where the command would exit non-zero; answers what it prints when the chain is intact."""
    engine = make_engine(db_url)
    try:
        with read_scope(engine) as session:
            report = verify(session=session)
            anchors = verify_anchors(session=session, secret_key=None, file_path=None)  # as the servers ran
    finally:
        engine.dispose()
    assert report.ok, f"audit chain BROKEN at entry {report.broken_id}: {report.problem} ({report.checked} intact)"
    assert anchors.ok, f"audit chain does not match its checkpoints: {anchors.problems}"
    return f"audit chain intact: {report.checked} sealed entries checked, {anchors.checked} checkpoints match"


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
