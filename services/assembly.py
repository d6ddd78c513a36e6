"""The AppContext, built in one place for the app (services.main), the CLI and the benchmarks.

Apart from services.main so that a CLI command builds it without loading the web server, the API and the web
app (FastAPI, middleware, templates): half a CLI command's start-up time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from services.audit.keys import use_secret_key
from services.clock import Clock, SystemClock
from services.config import Settings
from services.context import AppContext, GroupDirectory
from services.events import Events
from services.llm import build_client as build_llm
from services.notify import Notifier
from services.outbox.urls import Resolver, SystemResolver
from services.wiring import build_events


def default_notifier() -> Notifier:
    """Chat goes through Slack (written to the outbox); bot/ is wired in only here and in services.main."""
    from bot.notifier import SlackNotifier

    return SlackNotifier()


class SlackDirectoryOnDemand:
    """Slack's directory for a process without the bot (the CLI): bot/ is loaded on the first question only."""

    available = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._found: GroupDirectory | None = None

    def _directory(self) -> GroupDirectory:
        if self._found is None:
            from bot.app import make_client
            from bot.groups import Directory

            self._found = Directory(make_client(self.settings))
        return self._found

    async def members(self, group: str) -> frozenset[str]:
        return await self._directory().members(group)

    async def member_of(self, user: str, groups: list[str] | set[str] | frozenset[str]) -> set[str]:
        return await self._directory().member_of(user, groups)

    async def in_channels(self, user: str, channels: set[str] | frozenset[str]) -> set[str]:
        return await self._directory().in_channels(user, channels)


def build_context(settings: Settings, *, engine: Engine, clock: Clock | None = None, notifier: Notifier | None = None,
                  events: Events | None = None, llm: Any | None = None,
                  resolver: Resolver | None = None) -> AppContext:
    """The context every route, flow and job gets.
    `llm`: an openai.OpenAI client (tests hand in one over a fake transport); None builds it from settings."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    use_secret_key(engine, secret)  # the key that signs audit entries written through this engine
    return AppContext(settings=settings, engine=engine, clock=clock or SystemClock(),
                      notifier=notifier if notifier is not None else default_notifier(),
                      events=events or build_events(), llm=llm if llm is not None else build_llm(settings),
                      resolver=resolver or SystemResolver(),
                      approver_groups=SlackDirectoryOnDemand(settings) if settings.slack_enabled else None)
