"""SlackNotifier: the domain's Notifier, written to the outbox in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks import agents as agent_blocks
from bot.notifiers.autonomy import AutonomySlackNotifier
from bot.notifiers.drafts import DraftSlackNotifier
from bot.notifiers.incidents import IncidentSlackNotifier
from bot.notifiers.outbox import post
from bot.notifiers.oversight import OversightSlackNotifier
from bot.notifiers.spend import DigestSlackNotifier, SpendSlackNotifier
from services.agents.models import Agent


class SlackNotifier(AutonomySlackNotifier, DraftSlackNotifier, IncidentSlackNotifier, SpendSlackNotifier,
                    DigestSlackNotifier, OversightSlackNotifier):
    def agent_paused(self, *, session: Session, agent: Agent, by: str, reason: str | None, now: datetime) -> None:
        msg = agent_blocks.paused_notice(agent_name=agent.name, by=by, reason=reason)
        for person in {agent.owner, *agent.backup_owners}:
            post(session, channel=person, msg=msg, now=now)

    def audit_anchor(self, *, session: Session, channel: str, line: str, now: datetime) -> None:
        """A copy of an audit checkpoint kept outside the database (Slack's history): `countersign audit verify`
        catches a trimmed chain against it."""
        post(session, channel=channel, msg={"text": f"Countersign audit checkpoint: `{line}`"}, now=now)

    def agent_resumed(self, *, session: Session, agent: Agent, by: str, now: datetime) -> None:
        msg = agent_blocks.resumed_notice(agent_name=agent.name, by=by)
        for person in {agent.owner, *agent.backup_owners}:
            post(session, channel=person, msg=msg, now=now)
