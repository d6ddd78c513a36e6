"""Autonomy side effects: evidence after each decision, the owner's proposal card, samples, demotions, alerts.

Called as reactions to draft.decided and incident.opened (after those commit, each in a transaction of its own:
services/wiring.py) and from Slack clicks (their own unit of work).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services import directory
from services.agents.models import Agent
from services.agents.service import require_agent
from services.audit.service import Actor, record
from services.autonomy import regression, samples, service
from services.autonomy.models import AUTO, REJECTED, REVIEW, SHOULD_NOT_HAVE_PASSED, AutonomyState, LevelRow, Overview
from services.autonomy.stats import sampled
from services.context import AppContext
from services.db import require_id
from services.drafts.models import Draft, draft_key
from services.errors import Forbidden, NotFound, ValidationFailed
from services.incidents.flows import open_incident
from services.incidents.models import Incident
from services.oversight import changes as oversight
from services.people import service as away

SYSTEM = Actor.system("autonomy")


def _agent(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id, populate_existing=True)
    if agent is None:
        raise NotFound("that agent no longer exists")
    return agent


def _draft(session: Session, draft_id: str) -> Draft:
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise NotFound(f"no draft {draft_id!r}")
    return draft


# --- after a decision --------------------------------------------------------------------------------------
def on_decided(*, session: Session, ctx: AppContext, agent: Agent, draft: Draft) -> None:
    """Count the decision, then: demote on a rejection streak, propose promotion, or raise a regression."""
    if draft.status == "auto_approved":
        maybe_sample(session=session, ctx=ctx, agent=agent, draft=draft)
        return
    now = ctx.clock.now()
    state = service.record_decision(session=session, draft=draft, now=now)
    if state is None:
        return
    if state.level == AUTO and draft.status == REJECTED:
        streak = service.rejection_streak(session=session, state=state)
        if streak >= service.REJECTION_STREAK:
            demote(session=session, ctx=ctx, agent=agent, state=state, actor=SYSTEM,
                   reason=f"{streak} drafts in a row were rejected (the last: {draft.id})")
    elif state.level == REVIEW:
        evidence = service.evidence_for(session=session, state=state, rule=agent.rule)
        if service.rule_met(evidence, agent.rule) and service.claim_proposal(session=session, state=state, now=now):
            state = service.require_state(session=session, state_id=require_id(state.id))
            record(session=session, actor=SYSTEM, verb="autonomy.proposed", subject=f"agent:{agent.name}", now=now,
                   details={"action": state.action, "prompt_version": state.prompt_version, **evidence.model_dump()})
            ctx.notifier.autonomy_proposed(session=session, agent=agent, state=state, evidence=evidence,
                                           rule=agent.rule, now=now)
    for dimension in regression.DIMENSIONS:
        value = state.prompt_version if dimension == "prompt_version" else (draft.model or "")
        check_regression(session=session, ctx=ctx, agent=agent, action=state.action, dimension=dimension, value=value)


def check_regression(*, session: Session, ctx: AppContext, agent: Agent, action: str, dimension: str,
                     value: str) -> int | None:
    """Open one `anomaly` incident per version pair whose drop is significant; returns its id when opened."""
    finding = regression.check(session=session, agent_id=require_id(agent.id), action=action, dimension=dimension,
                               value=value)
    if finding is None:
        return None
    row = regression.claim(session=session, agent_id=require_id(agent.id), action=action, finding=finding,
                           now=ctx.clock.now())
    if row is None:
        return None
    figures = finding.as_dict()
    old, new = figures["old"], figures["new"]
    label = "prompt version" if dimension == "prompt_version" else "model"
    summary = (f"{action}: {label} {new['version']} is approved {new['approval_rate']:.0%} of the time "
               f"({new['approved']}/{new['decisions']}) against {old['approval_rate']:.0%} for {old['version']} "
               f"({old['approved']}/{old['decisions']}); p = {figures['p_value']:.2g}")
    opened = open_incident(session=session, ctx=ctx, agent=agent, kind="anomaly", severity="high", summary=summary,
                           details={"action": action, "regression": figures,
                                    **({"prompt_version": row.new} if dimension == "prompt_version" else {})},
                           dedup_key=f"regression:{action}:{dimension}:{row.old}:{row.new}", actor=SYSTEM)
    row.incident_id = opened.incident.id
    session.add(row)
    return row.incident_id


def maybe_sample(*, session: Session, ctx: AppContext, agent: Agent, draft: Draft) -> bool:
    """Post a share of auto-approvals to the review channel for a retrospective check."""
    if not sampled(draft.id, agent.rule.audit_sample_rate):
        return False
    if not samples.create(session=session, draft=draft, now=ctx.clock.now()):
        return False
    ctx.notifier.autonomy_sample(session=session, agent=agent, draft=draft, now=ctx.clock.now())
    return True


def demote(*, session: Session, ctx: AppContext, agent: Agent, state: AutonomyState, reason: str, actor: Actor) -> bool:
    """Back to review at once, and the owner is told why."""
    now = ctx.clock.now()
    if not service.demote(session=session, state=state, agent=agent, reason=reason, actor=actor, now=now):
        return False
    ctx.notifier.autonomy_demoted(session=session, agent=agent, state=state, reason=reason, now=now)
    return True


def names_an_action(*, incident: Incident, **_: Any) -> bool:
    """Whether an incident concerns autonomy at all: only one naming an action (`details.action`) demotes."""
    action = (incident.details or {}).get("action")
    return isinstance(action, str) and bool(action)


def on_incident(*, session: Session, ctx: AppContext, agent: Agent, incident: Incident) -> int:
    """An incident naming an action (`details.action`) takes that action off auto: every prompt version, or
    only `details.prompt_version` when the incident names one (a regression blames the new version, not v1)."""
    if not names_an_action(incident=incident):
        return 0
    details = incident.details
    action, version = details.get("action"), details.get("prompt_version")
    # The reason is drawn with its mentions live (bot.blocks.autonomy): the agent's own words must not ping anyone.
    summary = incident.summary.replace("<@", "@")
    reason = f"incident #{incident.id} ({incident.kind}, {incident.severity}) was opened: {summary}"
    return sum(demote(session=session, ctx=ctx, agent=agent, state=state, reason=reason, actor=SYSTEM)
               for state in service.auto_states(session=session, agent_id=require_id(agent.id), action=action)
               if not isinstance(version, str) or state.prompt_version == service.version_key(version))


# --- routing: deny ---------------------------------------------------------------------------------------
def report_denied(*, session: Session, ctx: AppContext, agent: Agent, action: str, reason: str) -> None:
    """A denied draft opens a `policy_violation` incident for the owner; repeats of the same action count as
    occurrences of the open one. Runs in the request's transaction, which the drafts API commits with its 403."""
    open_incident(session=session, ctx=ctx, agent=agent, kind="policy_violation", severity="high", summary=reason,
                  details={"action": action}, dedup_key=f"policy_violation:{action}", actor=SYSTEM)


# --- people's answers ----------------------------------------------------------------------------------------
def answer_proposal(*, ctx: AppContext, state_id: int, user: str, promote: bool) -> str:
    """The owner's Promote or Not yet. Only the owner decides: nothing is promoted without them."""
    with ctx.uow() as session:
        state = service.require_state(session=session, state_id=state_id)
        agent = _agent(session, state.agent_id)
        if agent.owner not in (user, *away.stands_in_for(session=session, user_id=user, now=ctx.clock.now())):
            raise Forbidden(f"only {agent.name}'s owner {agent.owner} can answer this proposal",
                            people=[agent.owner])
        now = ctx.clock.now()
        change = service.promote if promote else service.decline
        state = change(session=session, state_id=state_id, agent=agent, user=user, now=now)
        ctx.notifier.autonomy_answered(session=session, agent=agent, state=state, promoted=promote, by=user, now=now)
    if promote:
        return f"Done: {state.action} ({service.shown_version(state.prompt_version)}) is now auto-approved."
    return f"Noted: no new proposal for {state.action} for at least {service.cooldown(agent.rule)} more decisions."


def judge_sample(*, ctx: AppContext, draft_id: str, user: str, verdict: str) -> str:
    """Looks right / Should not have passed, from an approver (by name or user group), the owner or a backup."""
    if verdict not in samples.VERDICT_WORDS:
        raise ValidationFailed(f"unknown verdict {verdict!r}")
    groups = directory.groups_of(ctx, user, approver_groups(ctx=ctx, draft_id=draft_id))
    with ctx.uow() as session:
        draft = _draft(session, draft_id)
        agent = _agent(session, draft.agent_id)
        if not may_judge(agent=agent, user=user, groups=groups):
            raise Forbidden(f"only {agent.name}'s approvers and owners can judge its auto-approvals")
        now = ctx.clock.now()
        sample = samples.judge(session=session, draft_id=draft_id, verdict=verdict, user=user, now=now)
        record(session=session, actor=Actor.slack_user(user), verb="autonomy.sample_judged",
               subject=draft_key(draft_id), now=now, details={"verdict": verdict})
        ctx.notifier.autonomy_sample_judged(session=session, agent=agent, draft=draft, verdict=verdict, by=user,
                                            now=now)
        if verdict != SHOULD_NOT_HAVE_PASSED:
            return "Thanks: marked as looking right."
        state = service.get_state(session=session, agent_id=require_id(agent.id), action=sample.action,
                                  prompt_version=sample.prompt_version)
        demoted = state is not None and demote(
            session=session, ctx=ctx, agent=agent, state=state, actor=Actor.slack_user(user),
            reason=f"<@{user}> marked auto-approved draft {draft_id} as *Should not have passed*")
    if demoted:
        return f"Thanks: {sample.action} is back under review, and the owner has been told why."
    return "Thanks: noted. The action was already under review."


def may_judge(*, agent: Agent, user: str, groups: frozenset[str]) -> bool:
    in_group = bool(groups.intersection(agent.approver_groups or []))
    return in_group or user == agent.owner or user in agent.backup_owners or user in agent.approvers


def approver_groups(*, ctx: AppContext, draft_id: str) -> list[str]:
    """The agent's approver groups: what the directory is asked about before judging."""
    with ctx.read() as session:
        return list(_agent(session, _draft(session, draft_id).agent_id).approver_groups)


def overview(*, ctx: AppContext, name: str) -> Overview:
    """Each action's level and evidence per prompt version, plus configured actions not seen yet."""
    with ctx.read() as session:
        agent = require_agent(session=session, name=name)
        rule, rows = agent.rule, []
        approved = oversight.approved_versions(session=session, agent_id=require_id(agent.id))
        reviewed = oversight.statuses(session=session, agent_id=require_id(agent.id))
        for state in service.states_of(session=session, agent_id=require_id(agent.id)):
            configured = agent.policy_for(state.action).autonomy
            evidence = service.evidence_for(session=session, state=state, rule=rule)
            rows.append(LevelRow(action=state.action, prompt_version=service.shown_version(state.prompt_version),
                                 level="deny" if configured == "deny" else state.level, configured=configured,
                                 granted_by=state.granted_by if state.level == AUTO else None,
                                 demoted_reason=state.demoted_reason, proposal=state.proposal,
                                 rule_met=service.rule_met(evidence, rule), evidence=evidence,
                                 approved_prompt_version=approved.get(state.action),
                                 prompt_status=reviewed.get((state.action, state.prompt_version))))
        seen = {row.action for row in rows}
        for action in sorted(set(agent.actions or {}) - seen):
            configured = agent.policy_for(action).autonomy
            rows.append(LevelRow(action=action, level=configured, configured=configured,
                                 approved_prompt_version=approved.get(action)))
        return Overview(agent=agent.name, owner=agent.owner, rule=rule, actions=rows)
