"""AutonomyNotifier over the outbox: the owner's proposal card (DM, edited in place when answered), sampled
auto-approvals in the review channel (edited with the verdict), demotion notices to the owner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.blocks import autonomy as blocks
from bot.notifiers import outbox
from services.agents.models import Agent, AutonomyRule
from services.autonomy.models import AutonomyState, EvidenceFigures
from services.drafts.models import Draft


def proposal_key(state: AutonomyState) -> str:
    return f"autonomy:proposal:{state.id}:{state.proposals}"


def sample_key(draft_id: str) -> str:
    return f"autonomy:sample:{draft_id}"


def _sample_msg(agent: Agent, draft: Draft, **verdict: Any) -> dict[str, Any]:
    return blocks.sample_card(agent_name=agent.name, draft_id=draft.id, action=draft.action, title=draft.title,
                              text=draft.current_text, prompt_version=draft.prompt_version, **verdict)


class AutonomySlackNotifier:
    def autonomy_proposed(self, *, session: Session, agent: Agent, state: AutonomyState, evidence: EvidenceFigures,
                          rule: AutonomyRule, now: datetime) -> None:
        msg = blocks.proposal_card(agent_name=agent.name, action=state.action, prompt_version=state.prompt_version,
                                   evidence=evidence.model_dump(), rule=rule.model_dump(), state_id=state.id)
        outbox.post(session, channel=agent.owner, msg=msg, now=now, key=proposal_key(state))

    def autonomy_answered(self, *, session: Session, agent: Agent, state: AutonomyState, promoted: bool, by: str,
                          now: datetime) -> None:
        repropose_in = None if promoted else max(state.repropose_after - state.decisions_total, 0)
        msg = blocks.proposal_answered(agent_name=agent.name, action=state.action,
                                       prompt_version=state.prompt_version, promoted=promoted, by=by,
                                       repropose_in=repropose_in)
        outbox.update(session, key=proposal_key(state), msg=msg, now=now, channel=agent.owner)

    def autonomy_sample(self, *, session: Session, agent: Agent, draft: Draft, now: datetime) -> None:
        outbox.post(session, channel=agent.review_channel or agent.owner, msg=_sample_msg(agent, draft), now=now,
                    key=sample_key(draft.id))

    def autonomy_sample_judged(self, *, session: Session, agent: Agent, draft: Draft, verdict: str, by: str,
                               now: datetime) -> None:
        outbox.update(session, key=sample_key(draft.id), msg=_sample_msg(agent, draft, verdict=verdict, by=by), now=now,
                      channel=agent.review_channel or agent.owner)

    def autonomy_demoted(self, *, session: Session, agent: Agent, state: AutonomyState, reason: str,
                         now: datetime) -> None:
        msg = blocks.demoted_notice(agent_name=agent.name, action=state.action, prompt_version=state.prompt_version,
                                    reason=reason)
        outbox.post(session, channel=agent.owner, msg=msg, now=now)
