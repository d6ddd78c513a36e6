"""Commit first, then ack: a click Slack was told we took must survive a crash.

Bolt lets a listener ack any time within 3 s. A decision is a few milliseconds of database work, so state-
changing handlers run it before acking; if it runs long (a slow user-group lookup, a busy database) the ack
goes out at the budget and the work finishes after, so Slack's 3-second rule always wins.

While agents pour in drafts, the decision's writes go to the head of SQLite's writer queue (urgent_writes), and
the reactions to it (after-commit follow-ups) wait until Slack has its answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck

from services.context import followups_later
from services.db import urgent_writes

T = TypeVar("T")
# Reactions to a decision (its after-commit follow-ups) run after the ack, in the writer queue's ordinary order and
# on threads of their own: while people click faster than the reactions clear, they wait there, not in the pool
# the next click's decision needs.
_REACTIONS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="reactions")
ACK_BUDGET_S = 2.0


async def decide_then_ack(ack: AsyncAck, work: Awaitable[T], *, budget_s: float = ACK_BUDGET_S,
                          **ack_args: Any) -> T:
    """Run `work`, ack when it is done or when the budget runs out, and return its result (or raise its error).
    The after-commit follow-ups `work` writes run after the ack (services.context.followups_later)."""
    with followups_later() as later, urgent_writes():
        task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({task}, timeout=budget_s)
    finally:
        await ack(**ack_args)
    try:
        return await task
    finally:
        loop = asyncio.get_running_loop()
        for run in later:
            await loop.run_in_executor(_REACTIONS, run)
