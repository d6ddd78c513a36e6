"""Slack user-group membership for approver checks: the chat's GroupDirectory (services.context), built by
create_app with the bot's client and handed to the listeners on the AppContext."""

from __future__ import annotations

import asyncio
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient


class ApproverGroups:
    """Members of Slack user groups, cached a minute per group (usergroups.users.list is Tier 2)."""

    ttl_s = 60.0
    failure_ttl_s = 5.0  # an unknown group or a Slack hiccup is asked again soon

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def members(self, group: str) -> frozenset[str]:
        hit = self._cache.get(group)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=group)
            users, ttl = frozenset(response.get("users") or []), self.ttl_s
        except SlackApiError:
            users, ttl = frozenset(), self.failure_ttl_s  # nobody gets in through a group we can't read
        self._cache[group] = (time.monotonic() + ttl, users)
        return users

    async def member_of(self, user: str, groups: list[str] | set[str]) -> set[str]:
        ordered = sorted(groups)
        found = await asyncio.gather(*(self.members(g) for g in ordered))
        return {g for g, users in zip(ordered, found, strict=True) if user in users}
