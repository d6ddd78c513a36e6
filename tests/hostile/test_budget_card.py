"""A budget card's Raise applies once, only with an amount the card offered, against the
limit the card showed. Replays and tampered action ids are refused politely, audited, and raise nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot import ids
from services.audit.models import AuditEntry
from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import OWNER, Harness
from tests.services.spend.conftest import spend

RAISE_25, RAISE_50 = f"{ids.SPEND_RAISE_PREFIX}25", f"{ids.SPEND_RAISE_PREFIX}50"


@pytest.fixture
def timed(db_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> Iterator[Harness]:
    with Harness(db_url, slack=slack, receiver=receiver, clock=FakeClock(), jobs=[]) as h:
        yield h


def paused_card(h: Harness) -> tuple[str, dict[str, Any]]:
    key = h.register(budgets=[{"period": "day", "limit_usd": 4, "on_exceed": "pause"}])["api_key"]
    spend(h, key, 4)
    h.drain()
    [card] = [m for m in h.slack.messages_in(h.slack.dm_channel_for(OWNER))  # type: ignore[union-attr]
              if ids.SPEND_RESUME_ONCE in str(m.get("blocks"))]
    return key, card


def limit(h: Harness, key: str) -> float:
    return h.client.get("/v1/agents/me", headers=h.bearer(key)).json()["budgets"][0]["limit_usd"]


def refusals(h: Harness) -> list[dict[str, Any]]:
    with h.ctx.read() as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.verb == "budget.answer_refused")).all()
        return [dict(r.details) for r in rows]


def click(h: Harness, card: dict[str, Any], action: str, name: str, **kw: Any) -> str:
    h.click(card, action, user=OWNER, response_url=h.slack.response_url(name), **kw)  # type: ignore[union-attr]
    [answer] = h.slack.wait_for_response(name)  # type: ignore[union-attr]
    assert answer["response_type"] == "ephemeral"
    return str(answer["text"])


@pytest.mark.postgres_too
def test_a_replayed_raise_applies_once(timed: Harness) -> None:
    """The owner's signed Raise 25 % sent three times raises the limit once; the others are told it was done."""
    key, card = paused_card(timed)
    assert "$4.00 → $5.00" in click(timed, card, RAISE_25, "first")
    for n in range(2):
        assert "already made" in click(timed, card, RAISE_25, f"again-{n}")
    assert "already made" in click(timed, card, RAISE_50, "other-amount")  # one raise per card, any amount
    assert limit(timed, key) == 5.0
    assert [r["choice"] for r in refusals(timed)] == ["raise 25%", "raise 25%", "raise 50%"]


@pytest.mark.parametrize(("action_id", "value_amount"), [("spend_raise_1000", "25"), ("spend_raise_1000", "1000"),
                                                          ("spend_raise_50", "25"), ("spend_raise_7", "7")])
def test_an_amount_the_card_did_not_offer_is_refused(timed: Harness, action_id: str, value_amount: str) -> None:
    """An edited action_id (or value) asking for another amount than the pressed button's is refused."""
    key, card = paused_card(timed)
    offered = next(e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["action_id"] == RAISE_25)
    value = offered["value"][: -len("25")] + value_amount
    blocks = [{**b, "elements": [*b["elements"], {**offered, "action_id": action_id}]}
              if b["type"] == "actions" else b for b in card["blocks"]]
    answer = click(timed, {**card, "blocks": blocks}, action_id, "tampered", value=value)
    assert "offers raises of 25%, 50%, 100% only" in answer
    assert limit(timed, key) == 4.0
    assert refusals(timed)[0]["offered"] == value_amount
    assert "$4.00 → $5.00" in click(timed, card, RAISE_25, "genuine")  # the real button still works


def test_a_raise_against_a_limit_the_card_did_not_show_is_refused(timed: Harness) -> None:
    """After the limit changed (an admin set it), the old card's Raise does not compound on the new limit."""
    key, card = paused_card(timed)
    patched = timed.client.patch("/v1/agents/quoter", headers=timed.admin,
                                 json={"budgets": [{"period": "day", "limit_usd": 40, "on_exceed": "pause"}]})
    assert patched.status_code == 200, patched.text
    assert "not the $4.00 this card showed" in click(timed, card, RAISE_50, "stale")
    assert limit(timed, key) == 40.0


def test_a_click_off_the_budget_card_is_refused(timed: Harness) -> None:
    """The card's value pasted into a click claiming another message changes nothing."""
    key, card = paused_card(timed)
    assert "not on the budget card" in click(timed, card, RAISE_25, "elsewhere", channel="C0ELSEWHERE")
    assert limit(timed, key) == 4.0 and refusals(timed)[0]["choice"] == "raise 25%"


@pytest.mark.postgres_too
def test_two_raises_at_once_apply_once(timed: Harness) -> None:
    """The owner and a backup press Raise at the same moment: the card's one raise is claimed by one of them."""
    from concurrent.futures import ThreadPoolExecutor

    from services.spend import decisions
    from tests.harness import BACKUP

    key, card = paused_card(timed)
    value = next(e["value"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == RAISE_25)
    ref, offered = decisions.CardRef.decode(value)

    def press(user: str) -> str:
        try:
            return decisions.raise_budget(ctx=timed.ctx, ref=ref, percent=25, offered=offered, user_id=user,
                                          where=(card["channel"], card["ts"]))
        except Exception as exc:  # the loser's refusal is the result under test
            return type(exc).__name__

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(press, [OWNER, BACKUP]))
    assert sorted(r if r in ("AlreadyDecided", "Conflict") else "raised" for r in results) in (
        ["AlreadyDecided", "raised"], ["Conflict", "raised"])
    assert limit(timed, key) == 5.0
