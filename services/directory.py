"""Who is in which user group and channel, for the domain: the directory on the context (services.context's
GroupDirectory; Slack's in bot/groups.py) asked from the synchronous flows, and a static one for no Slack and
for tests.

Flows run in worker threads (asyncio.to_thread) while the chat client lives on the serving loop, so a question
is sent to that loop and waited for; a command-line process, with no loop running, asks on a loop of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TypeVar

from services.context import AppContext, GroupDirectory

T = TypeVar("T")
ASK_TIMEOUT_S = 10.0  # a membership lookup that takes longer fails closed (nobody let in through it)


class StaticDirectory:
    """Fixed memberships: nobody anywhere by default (Slack off), or what a test hands in."""

    def __init__(self, groups: Mapping[str, Iterable[str]] | None = None,
                 channels: Mapping[str, Iterable[str]] | None = None, *, available: bool | None = None) -> None:
        self.groups = {g: frozenset(users) for g, users in (groups or {}).items()}
        self.channels = {c: frozenset(users) for c, users in (channels or {}).items()}
        self.available = bool(groups or channels) if available is None else available

    async def members(self, group: str) -> frozenset[str]:
        return self.groups.get(group, frozenset())

    async def member_of(self, user: str, groups: list[str] | set[str] | frozenset[str]) -> set[str]:
        return {g for g in groups if user in self.groups.get(g, ())}

    async def in_channels(self, user: str, channels: set[str] | frozenset[str]) -> set[str]:
        return {c for c in channels if user in self.channels.get(c, ())}


NOBODY = StaticDirectory()


def directory_of(ctx: AppContext) -> GroupDirectory:
    return ctx.approver_groups if ctx.approver_groups is not None else NOBODY


def ask(ctx: AppContext, question: Callable[[GroupDirectory], Awaitable[T]]) -> T:
    """Ask the context's directory from synchronous code; never call it on the serving loop's own thread."""
    directory = directory_of(ctx)
    loop = ctx.outbox_wakeup.loop
    if loop is not None and loop.is_running():
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            raise RuntimeError("services.directory.ask blocks: call it from a worker thread, not the event loop")
        return asyncio.run_coroutine_threadsafe(_call(question, directory), loop).result(ASK_TIMEOUT_S)
    return asyncio.run(_call(question, directory))


async def _call(question: Callable[[GroupDirectory], Awaitable[T]], directory: GroupDirectory) -> T:
    return await question(directory)


def groups_of(ctx: AppContext, user: str, groups: Iterable[str]) -> frozenset[str]:
    """Which of `groups` the person is in (empty when there are none to ask about)."""
    wanted = set(groups)
    if not wanted or not directory_of(ctx).available:
        return frozenset()
    return frozenset(ask(ctx, lambda found: found.member_of(user, wanted)))
