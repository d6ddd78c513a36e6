"""SpendNotifier and DigestNotifier over the outbox: budget warnings and the paused card as DMs to the owner,
digests to their channel with the chart uploaded after the message (separate rows, so a failed upload never
holds the digest back)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.blocks import digests as digest_blocks
from bot.blocks import spend as blocks
from bot.notifiers import outbox
from services.agents.models import Agent
from services.outbox.service import enqueue_slack
from services.spend.decisions import CardRef


def _card_ref(agent: Agent, warning: Any) -> str:
    ref = CardRef(agent.name, warning.rule.key, warning.rule.limit_usd, warning.period.start.isoformat())
    return ref.encode()


class SpendSlackNotifier:
    def spend_unknown_model(self, *, session: Session, agent: Agent, model: str, now: datetime) -> None:
        outbox.post(session, channel=agent.owner, msg=blocks.unknown_model_notice(agent_name=agent.name, model=model),
                    now=now)

    def budget_warning(self, *, session: Session, agent: Agent, warning: Any, now: datetime) -> None:
        outbox.post(session, channel=agent.owner, msg=blocks.budget_warning(warning), now=now)

    def budget_paused(self, *, session: Session, agent: Agent, warning: Any, now: datetime) -> None:
        outbox.post(session, channel=agent.owner, msg=blocks.budget_paused_card(warning, _card_ref(agent, warning)),
                    now=now, key=warning.card_key)

    def budget_pause_resolved(self, *, session: Session, agent: Agent, card_key: str, outcome: str,
                              now: datetime) -> None:
        outbox.update(session, key=card_key, msg=blocks.budget_resolved(agent_name=agent.name, outcome=outcome),
                      now=now, channel=agent.owner)


class DigestSlackNotifier:
    def digest(self, *, session: Session, channel: str, digest: Any, narrative: str, chart_png: bytes | None,
               key: str, now: datetime) -> None:
        outbox.post(session, channel=channel, msg=digest_blocks.digest_message(digest, narrative), now=now, key=key)
        if chart_png:
            # Same order key as the message: delivered after it; a dead upload leaves the message standing.
            enqueue_slack(session=session, method="files.upload_v2", now=now, order_key=key, args={
                "channel": channel, "content_b64": base64.b64encode(chart_png).decode(),
                "filename": f"spend-{digest.period.start.isoformat()}.png",
                "title": f"Spend per day against budget, {digest.period_label}",
            })
