"""The domain's only view of chat. Each method is called inside the transaction that caused it, so an
implementation writes to the outbox with the same session and the message is exactly as durable as the
change. bot.notifier.SlackNotifier is the real one; tests may hand in a recording fake.

Each domain adds its own protocol here as it grows, and Notifier gathers them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from services.agents.models import Agent, AutonomyRule
from services.autonomy.models import AutonomyState, EvidenceFigures
from services.digests.service import Digest
from services.drafts.models import Draft, DraftCard
from services.incidents.models import Incident, IncidentEvent, StormPublic
from services.oversight.models import Change
from services.spend.budgets import BudgetWarning


class AgentNotifier(Protocol):
    def agent_paused(self, *, session: Session, agent: Agent, by: str, reason: str | None, now: datetime) -> None: ...

    def agent_resumed(self, *, session: Session, agent: Agent, by: str, now: datetime) -> None: ...


class IncidentNotifier(Protocol):
    """Incident cards: one per recipient (user, channel or user group), updated in place; a log thread."""

    def incident_card(self, *, session: Session, incident: Incident, recipient: str, channel: str,
                      now: datetime) -> None: ...

    def incident_refresh(self, *, session: Session, incident: Incident, now: datetime) -> None: ...

    def incident_log(self, *, session: Session, incident: Incident, event: IncidentEvent, now: datetime) -> None: ...

    def incident_nudge(self, *, session: Session, incident: Incident, recipient: str, now: datetime) -> None: ...

    def incident_reminder(self, *, session: Session, incident: Incident, user: str, now: datetime) -> None: ...

    def owner_handed_over(self, *, session: Session, agent: Agent, previous: str, by: str, now: datetime) -> None: ...

    # A storm (services.incidents.storms): one card per recipient for many incidents, keyed by storms.card_key.
    def storm_card(self, *, session: Session, storm: StormPublic, recipient: str, channel: str,
                   now: datetime) -> None: ...

    def storm_refresh(self, *, session: Session, storm: StormPublic, cards: dict[str, str], now: datetime) -> None: ...

    def storm_nudge(self, *, session: Session, storm: StormPublic, recipient: str, channel: str,
                    now: datetime) -> None: ...


class DraftNotifier(Protocol):
    """Draft cards, drawn from a DraftCard (the public draft plus the text under review; a link for reminders)."""

    def draft_posted(self, *, session: Session, agent: Agent, draft: DraftCard, now: datetime) -> None: ...

    def draft_changed(self, *, session: Session, agent: Agent, draft: DraftCard, now: datetime) -> None: ...

    def draft_reminder(self, *, session: Session, agent: Agent, draft: DraftCard, to: list[str], broadcast: bool,
                       now: datetime) -> None: ...

    def draft_stage_opened(self, *, session: Session, agent: Agent, draft: DraftCard, now: datetime) -> None: ...

    def draft_assigned(self, *, session: Session, agent: Agent, draft: DraftCard, to: str, now: datetime) -> None: ...

    def draft_escalated(self, *, session: Session, agent: Agent, draft: DraftCard, to: str, now: datetime) -> None: ...


class SpendNotifier(Protocol):
    def spend_unknown_model(self, *, session: Session, agent: Agent, model: str, now: datetime) -> None: ...

    def budget_warning(self, *, session: Session, agent: Agent, warning: BudgetWarning, now: datetime) -> None: ...

    def budget_paused(self, *, session: Session, agent: Agent, warning: BudgetWarning, now: datetime) -> None: ...

    def budget_pause_resolved(self, *, session: Session, agent: Agent, card_key: str, outcome: str,
                              now: datetime) -> None: ...


class DigestNotifier(Protocol):
    def digest(self, *, session: Session, channel: str, digest: Digest, narrative: str, chart_png: bytes | None,
               key: str, now: datetime) -> None: ...


class AutonomyNotifier(Protocol):
    """Earned autonomy: the owner's proposal card, sampled auto-approvals for a check, demotion notices."""

    def autonomy_proposed(self, *, session: Session, agent: Agent, state: AutonomyState, evidence: EvidenceFigures,
                          rule: AutonomyRule, now: datetime) -> None: ...

    def autonomy_answered(self, *, session: Session, agent: Agent, state: AutonomyState, promoted: bool, by: str,
                          now: datetime) -> None: ...

    def autonomy_sample(self, *, session: Session, agent: Agent, draft: Draft, now: datetime) -> None: ...

    def autonomy_sample_judged(self, *, session: Session, agent: Agent, draft: Draft, verdict: str, by: str,
                               now: datetime) -> None: ...

    def autonomy_demoted(self, *, session: Session, agent: Agent, state: AutonomyState, reason: str,
                         now: datetime) -> None: ...


class OversightNotifier(Protocol):
    """Prompt and model changes: the owner's card (a DM) with the diff, updated when answered or when an eval
    replay is attached."""

    def prompt_change(self, *, session: Session, agent: Agent, change: Change, now: datetime) -> None: ...

    def prompt_change_updated(self, *, session: Session, agent: Agent, change: Change, now: datetime) -> None: ...

    def oversight_chart(self, *, session: Session, channel: str, chart_png: bytes, key: str,
                        now: datetime) -> None: ...


class AuditNotifier(Protocol):
    def audit_anchor(self, *, session: Session, channel: str, line: str, now: datetime) -> None: ...


class Notifier(AuditNotifier, AgentNotifier, DraftNotifier, IncidentNotifier, SpendNotifier, DigestNotifier,
               AutonomyNotifier, OversightNotifier, Protocol):
    pass
