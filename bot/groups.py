"""Slack user-group and channel membership: the chat's GroupDirectory (services.context), built by create_app
with the bot's client and handed to the listeners on the AppContext."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient


class Directory:
    """Members of Slack user groups and channels, cached a minute each (usergroups.users.list is Tier 2,
    conversations.members Tier 4). A group or channel Slack won't show us has no members: nobody gets in
    through it."""

    available = True
    ttl_s = 60.0
    failure_ttl_s = 5.0  # an unknown group or a Slack hiccup is asked again soon
    pages_max = 20  # 20 pages of 1,000: a channel larger than that is read in part

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def _cached(self, key: str, read: Any) -> frozenset[str]:
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        try:
            users, ttl = frozenset(await read()), self.ttl_s
        except SlackApiError:
            users, ttl = frozenset(), self.failure_ttl_s
        self._cache[key] = (time.monotonic() + ttl, users)
        return users

    async def members(self, group: str) -> frozenset[str]:
        async def read() -> list[str]:
            return list((await self.client.usergroups_users_list(usergroup=group)).get("users") or [])

        return await self._cached(f"group:{group}", read)

    async def channel_members(self, channel: str) -> frozenset[str]:
        async def read() -> list[str]:
            found: list[str] = []
            cursor = None
            for _ in range(self.pages_max):
                page = await self.client.conversations_members(channel=channel, limit=1000, cursor=cursor)
                found += page.get("members") or []
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
            return found

        return await self._cached(f"channel:{channel}", read)

    async def member_of(self, user: str, groups: list[str] | set[str] | frozenset[str]) -> set[str]:
        ordered = sorted(groups)
        found = await asyncio.gather(*(self.members(g) for g in ordered))
        return {g for g, users in zip(ordered, found, strict=True) if user in users}

    async def in_channels(self, user: str, channels: set[str] | frozenset[str]) -> set[str]:
        ordered = sorted(channels)
        found = await asyncio.gather(*(self.channel_members(c) for c in ordered))
        return {c for c, users in zip(ordered, found, strict=True) if user in users}
