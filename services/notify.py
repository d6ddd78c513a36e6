"""The domain's only view of chat. Each method is called inside the transaction that caused it, so an
implementation writes to the outbox with the same session and the message is exactly as durable as the
change. bot.notifier.SlackNotifier is the real one; tests may hand in a recording fake.

Each domain adds its own protocol here as it grows, and Notifier gathers them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from services.agents.models import Agent


class AgentNotifier(Protocol):
    def agent_paused(self, *, session: Session, agent: Agent, by: str, reason: str | None, now: datetime) -> None: ...

    def agent_resumed(self, *, session: Session, agent: Agent, by: str, now: datetime) -> None: ...


class Notifier(AgentNotifier, Protocol):
    pass
