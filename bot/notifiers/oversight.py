"""OversightNotifier over the outbox: the owner's prompt (or model) change card, a DM edited in place when it is
answered or an eval replay is attached."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.blocks import oversight as blocks
from bot.notifiers import outbox
from services.agents.models import Agent


def _card(agent: Agent, change: Any) -> dict[str, Any]:
    return blocks.change_card(agent_name=agent.name, change_id=change.id, action=change.action, kind=change.kind,
                              version=change.version, base_version=change.base_version, diff=change.diff,
                              status=change.status, decided_by=change.decided_by, replay=change.replay)


class OversightSlackNotifier:
    def prompt_change(self, *, session: Session, agent: Agent, change: Any, now: datetime) -> None:
        outbox.post(session, channel=agent.owner, msg=_card(agent, change), now=now, key=change.card_key)

    def prompt_change_updated(self, *, session: Session, agent: Agent, change: Any, now: datetime) -> None:
        outbox.update(session, key=change.card_key, msg=_card(agent, change), now=now, channel=agent.owner)
