"""Commit first, then ack: a click Slack was told we took must survive a crash.

Bolt lets a listener ack any time within 3 s. A decision is a few milliseconds of database work, so state-
changing handlers run it before acking; if it runs long (a slow user-group lookup, a busy database) the ack
goes out at the budget and the work finishes after, so Slack's 3-second rule always wins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck

T = TypeVar("T")
ACK_BUDGET_S = 2.0


async def decide_then_ack(ack: AsyncAck, work: Awaitable[T], *, budget_s: float = ACK_BUDGET_S,
                          **ack_args: Any) -> T:
    """Run `work`, ack when it is done or when the budget runs out, and return its result (or raise its error)."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({task}, timeout=budget_s)
    finally:
        await ack(**ack_args)
    return await task
