"""decide_then_ack: the decision commits before Slack hears "ok", but Slack's 3-second rule still wins."""

from __future__ import annotations

import asyncio

import pytest

from bot.listeners.acking import decide_then_ack


class Ack:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def __call__(self, **kwargs: object) -> None:
        self.log.append("ack")


def test_acks_after_quick_work() -> None:
    """Quick work finishes first, so nothing acked can be lost to a crash."""
    log: list[str] = []

    async def work() -> str:
        await asyncio.sleep(0.01)
        log.append("committed")
        return "done"

    assert asyncio.run(decide_then_ack(Ack(log), work())) == "done"
    assert log == ["committed", "ack"]


def test_acks_at_budget_when_work_is_slow() -> None:
    """Slow work doesn't hold the ack past the budget; it still finishes and returns afterwards."""
    log: list[str] = []

    async def work() -> str:
        await asyncio.sleep(0.3)
        log.append("committed")
        return "late"

    assert asyncio.run(decide_then_ack(Ack(log), work(), budget_s=0.05)) == "late"
    assert log == ["ack", "committed"]


def test_acks_even_when_work_fails() -> None:
    """A refusal still acks (the caller answers it politely), and the error reaches the caller."""
    log: list[str] = []

    async def work() -> None:
        raise LookupError("no such draft")

    with pytest.raises(LookupError):
        asyncio.run(decide_then_ack(Ack(log), work()))
    assert log == ["ack"]
