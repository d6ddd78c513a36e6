"""OversightNotifier over the outbox: the owner's prompt (or model) change card, a DM edited in place when it is
answered or an eval replay is attached."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.blocks import oversight as blocks
from bot.notifiers import outbox
from services.agents.models import Agent
from services.outbox.service import enqueue_slack
from services.oversight.models import Change


def _card(agent: Agent, change: Change) -> dict[str, Any]:
    return blocks.change_card(agent_name=agent.name, change_id=change.id, action=change.action, kind=change.kind,
                              version=change.version, base_version=change.base_version, diff=change.diff,
                              status=change.status, decided_by=change.decided_by, replay=change.replay)


class OversightSlackNotifier:
    def prompt_change(self, *, session: Session, agent: Agent, change: Change, now: datetime) -> None:
        outbox.post(session, channel=agent.owner, msg=_card(agent, change), now=now, key=change.card_key)

    def oversight_chart(self, *, session: Session, channel: str, chart_png: bytes, key: str, now: datetime) -> None:
        """The weekly digest's reviewers chart, after the digest's message (same order key)."""
        enqueue_slack(session=session, method="files.upload_v2", now=now, order_key=key, args={
            "channel": channel, "content_b64": base64.b64encode(chart_png).decode(),
            "filename": "oversight.png", "title": "Reviewers by week: approval rate and median time to decision"})

    def prompt_change_updated(self, *, session: Session, agent: Agent, change: Change, now: datetime) -> None:
        outbox.update(session, key=change.card_key, msg=_card(agent, change), now=now, channel=agent.owner)
