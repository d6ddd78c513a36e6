"""Autonomy rules and queries: keyword-only, session first, no I/O beyond the database.

Levels live per (agent, action, prompt version). Evidence is one row per human decision; the promotion rule
reads the last `window_size(rule)` rows of the version. Every level change is one conditional UPDATE checked by
its row count, so two clicks (or a click and a demotion) on two replicas can't both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.agents.models import Agent, AutonomyRule
from services.audit.service import Actor, record
from services.autonomy.models import (
    APPROVED,
    AUTO,
    EDITED,
    EXPIRED,
    REJECTED,
    REVIEW,
    AutonomyAction,
    AutonomyEvidence,
    AutonomyState,
    EvidenceFigures,
)
from services.autonomy.stats import edit_distance
from services.db import require_id
from services.drafts.models import Draft
from services.errors import AlreadyDecided, NotFound

MIN_WINDOW = 100  # the rolling window holds at least this many decisions, more if the rule asks for more
REJECTION_STREAK = 3  # this many rejections in a row of an auto action's drafts demotes it
HUMAN_OUTCOMES = {"approved": APPROVED, "edited": EDITED, "rejected": REJECTED, "expired": EXPIRED}


def version_key(value: str | None) -> str:
    return value or ""


def shown_version(value: str) -> str:
    return value or "(none)"


def window_size(rule: AutonomyRule) -> int:
    return max(MIN_WINDOW, rule.min_decisions, rule.clean_streak)


def cooldown(rule: AutonomyRule) -> int:
    """Decisions to wait after "Not yet" or a demotion before proposing again: a fresh clean streak."""
    return max(rule.clean_streak, 1)


def _insert_once(session: Session, row: Any) -> bool:
    """Insert in a savepoint; False when a concurrent transaction inserted the same key first."""
    try:
        with session.begin_nested():
            session.add(row)
        return True
    except IntegrityError:
        return False


# --- states ----------------------------------------------------------------------------------------------
def get_state(*, session: Session, agent_id: int, action: str, prompt_version: str) -> AutonomyState | None:
    return session.exec(select(AutonomyState).where(
        AutonomyState.agent_id == agent_id, AutonomyState.action == action,
        AutonomyState.prompt_version == prompt_version).execution_options(populate_existing=True)).first()


def require_state(*, session: Session, state_id: int) -> AutonomyState:
    state = session.get(AutonomyState, state_id, populate_existing=True)
    if state is None:
        raise NotFound(f"no autonomy record #{state_id}")
    return state


def ensure_state(*, session: Session, agent_id: int, action: str, prompt_version: str, now: datetime) -> AutonomyState:
    """The version's row, created at `review`: a prompt version never seen before has earned nothing."""
    state = get_state(session=session, agent_id=agent_id, action=action, prompt_version=prompt_version)
    if state is None:
        _insert_once(session, AutonomyState(agent_id=agent_id, action=action, prompt_version=prompt_version,
                                            created_at=now, updated_at=now))
        state = get_state(session=session, agent_id=agent_id, action=action, prompt_version=prompt_version)
    assert state is not None
    return state


def states_of(*, session: Session, agent_id: int) -> list[AutonomyState]:
    return list(session.exec(select(AutonomyState).where(AutonomyState.agent_id == agent_id)
                             .order_by(col(AutonomyState.action), col(AutonomyState.id))).all())


def _change(session: Session, state_id: int, where: list[Any], **values: Any) -> bool:
    statement = update(AutonomyState).where(col(AutonomyState.id) == state_id, *where).values(**values)
    return bool(session.exec(statement).rowcount)  # type: ignore[call-overload]


# --- the admin's configured policy ------------------------------------------------------------------------
def sync_config(*, session: Session, agent: Agent, action: str, prompt_version: str, now: datetime) -> None:
    """Notice a change of the admin's `autonomy` for this action since we last looked.

    Becoming `auto` grants auto to the version in use now; leaving `auto` withdraws that grant (autonomy the
    owner granted on evidence stays). `deny` needs nothing here: routing refuses before levels matter.
    """
    configured = agent.policy_for(action).autonomy
    row = session.get(AutonomyAction, (agent.id, action), populate_existing=True)
    if row is None:
        _insert_once(session, AutonomyAction(agent_id=require_id(agent.id), action=action, configured=REVIEW,
                                             updated_at=now))
        row = session.get(AutonomyAction, (agent.id, action), populate_existing=True)
    assert row is not None
    previous = row.configured
    if previous == configured:
        return
    moved = session.exec(update(AutonomyAction).where(  # type: ignore[call-overload]
        col(AutonomyAction.agent_id) == agent.id, col(AutonomyAction.action) == action,
        col(AutonomyAction.configured) == previous,
    ).values(configured=configured, updated_at=now,
             granted_version=prompt_version if configured == AUTO else None)).rowcount
    if not moved:
        return  # another request noticed the same change first
    system = Actor.system("autonomy")
    if configured == AUTO:
        state = ensure_state(session=session, agent_id=require_id(agent.id), action=action,
                             prompt_version=prompt_version, now=now)
        _change(session, require_id(state.id), [], level=AUTO, granted_by="config", granted_at=now, proposal=None,
                updated_at=now)
        record(session=session, actor=system, verb="autonomy.granted", subject=f"agent:{agent.name}", now=now,
               details={"action": action, "prompt_version": prompt_version, "by": "config"})
    elif previous == AUTO:
        session.exec(update(AutonomyState).where(  # type: ignore[call-overload]
            col(AutonomyState.agent_id) == agent.id, col(AutonomyState.action) == action,
            col(AutonomyState.level) == AUTO, col(AutonomyState.granted_by) == "config",
        ).values(level=REVIEW, demoted_at=now, demoted_reason=f"the admin set the policy to {configured}",
                 updated_at=now))
        record(session=session, actor=system, verb="autonomy.config_withdrawn", subject=f"agent:{agent.name}",
               now=now, details={"action": action, "configured": configured})


def level_for(*, session: Session, agent: Agent, action: str, prompt_version: str | None, now: datetime) -> str:
    """The earned level for a new draft of this action and version (the guards and `deny` come first): what
    `peek_level` reads, writing first what it could not (a version or action never seen, a changed policy)."""
    known = peek_level(session=session, agent=agent, action=action, prompt_version=prompt_version)
    if known is not None:
        return known
    key = version_key(prompt_version)
    sync_config(session=session, agent=agent, action=action, prompt_version=key, now=now)
    return ensure_state(session=session, agent_id=require_id(agent.id), action=action, prompt_version=key,
                        now=now).level


def peek_level(*, session: Session, agent: Agent, action: str, prompt_version: str | None) -> str | None:
    """`level_for` without its writes, for deciding before the write: None when level_for would have to write
    first (a version or action never seen, or the admin's policy changed since it was last noticed)."""
    row = session.get(AutonomyAction, (agent.id, action))
    if row is None or row.configured != agent.policy_for(action).autonomy:
        return None
    state = get_state(session=session, agent_id=require_id(agent.id), action=action,
                      prompt_version=version_key(prompt_version))
    return state.level if state is not None else None


# --- evidence --------------------------------------------------------------------------------------------
def evidence_for(*, session: Session, state: AutonomyState, rule: AutonomyRule) -> EvidenceFigures:
    rows = session.exec(select(AutonomyEvidence.outcome, AutonomyEvidence.edit_distance).where(
        AutonomyEvidence.agent_id == state.agent_id, AutonomyEvidence.action == state.action,
        AutonomyEvidence.prompt_version == state.prompt_version,
    ).order_by(col(AutonomyEvidence.id).desc()).limit(window_size(rule))).all()
    outcomes = [outcome for outcome, _ in rows]  # newest first
    edits = [d for outcome, d in rows if outcome == EDITED and d is not None]
    approved = outcomes.count(APPROVED)
    return EvidenceFigures(
        decisions=len(rows), approved_unedited=approved, edited=outcomes.count(EDITED),
        rejected=outcomes.count(REJECTED), expired=outcomes.count(EXPIRED),
        unedited_rate=round(approved / len(rows), 4) if rows else 0.0,
        mean_edit_distance=round(sum(edits) / len(edits), 4) if edits else None,
        since_last_rejection=outcomes.index(REJECTED) if REJECTED in outcomes else len(outcomes),
        total_decisions=state.decisions_total)


def rule_met(evidence: EvidenceFigures, rule: AutonomyRule) -> bool:
    return (evidence.decisions >= rule.min_decisions
            and evidence.approved_unedited >= rule.min_unedited_rate * evidence.decisions - 1e-9  # float slack
            and evidence.since_last_rejection >= rule.clean_streak)


def record_decision(*, session: Session, draft: Draft, now: datetime) -> AutonomyState | None:
    """Count a person's decision on a draft as evidence for its version; None if it is not one, or was counted."""
    outcome = HUMAN_OUTCOMES.get(draft.status)
    if outcome is None:
        return None
    distance = None
    if outcome == EDITED and draft.edited_body is not None:
        distance = edit_distance(draft.body, draft.edited_body)
    key = version_key(draft.prompt_version)
    row = AutonomyEvidence(draft_id=draft.id, agent_id=draft.agent_id, action=draft.action, prompt_version=key,
                           model=draft.model or "", outcome=outcome, edit_distance=distance,
                           decided_at=draft.decided_at or now)
    state = ensure_state(session=session, agent_id=draft.agent_id, action=draft.action, prompt_version=key, now=now)
    if not _insert_once(session, row):
        return None
    _change(session, require_id(state.id), [], decisions_total=AutonomyState.decisions_total + 1, updated_at=now)
    return require_state(session=session, state_id=require_id(state.id))


def rejection_streak(*, session: Session, state: AutonomyState) -> int:
    rows = session.exec(select(AutonomyEvidence.outcome).where(
        AutonomyEvidence.agent_id == state.agent_id, AutonomyEvidence.action == state.action,
        AutonomyEvidence.prompt_version == state.prompt_version,
    ).order_by(col(AutonomyEvidence.id).desc()).limit(REJECTION_STREAK)).all()
    streak = 0
    for outcome in rows:
        if outcome != REJECTED:
            break
        streak += 1
    return streak


# --- transitions -----------------------------------------------------------------------------------------
def claim_proposal(*, session: Session, state: AutonomyState, now: datetime) -> bool:
    """Mark a card as going out; true for exactly one caller, and only while nothing is out or cooling down."""
    return _change(session, require_id(state.id),
                   [col(AutonomyState.level) == REVIEW, col(AutonomyState.proposal).is_distinct_from("proposed"),
                    col(AutonomyState.decisions_total) >= col(AutonomyState.repropose_after)],
                   proposal="proposed", proposals=AutonomyState.proposals + 1, updated_at=now)


def promote(*, session: Session, state_id: int, agent: Agent, user: str, now: datetime) -> AutonomyState:
    if not _change(session, state_id, [col(AutonomyState.proposal) == "proposed", col(AutonomyState.level) == REVIEW],
                   level=AUTO, granted_by=user, granted_at=now, proposal=None, demoted_reason=None, updated_at=now):
        raise _answered(session, state_id)
    state = require_state(session=session, state_id=state_id)
    record(session=session, actor=Actor.slack_user(user), verb="autonomy.promoted", subject=f"agent:{agent.name}",
           now=now, details={"action": state.action, "prompt_version": state.prompt_version})
    return state


def decline(*, session: Session, state_id: int, agent: Agent, user: str, now: datetime) -> AutonomyState:
    """"Not yet": no new card until a fresh clean streak of decisions has passed."""
    if not _change(session, state_id, [col(AutonomyState.proposal) == "proposed"], proposal="declined",
                   repropose_after=AutonomyState.decisions_total + cooldown(agent.rule), updated_at=now):
        raise _answered(session, state_id)
    state = require_state(session=session, state_id=state_id)
    record(session=session, actor=Actor.slack_user(user), verb="autonomy.declined", subject=f"agent:{agent.name}",
           now=now, details={"action": state.action, "prompt_version": state.prompt_version,
                             "repropose_after": state.repropose_after})
    return state


def _answered(session: Session, state_id: int) -> AlreadyDecided:
    state = require_state(session=session, state_id=state_id)
    if state.level == AUTO:
        return AlreadyDecided(f"{state.action} is already on auto (granted by {state.granted_by})")
    return AlreadyDecided("this proposal was already answered or withdrawn")


def demote(*, session: Session, state: AutonomyState, agent: Agent, reason: str, actor: Actor, now: datetime) -> bool:
    """Back to review at once; false if it wasn't on auto. A new proposal waits for a fresh clean streak."""
    if not _change(session, require_id(state.id), [col(AutonomyState.level) == AUTO], level=REVIEW, demoted_at=now,
                   demoted_reason=reason[:500], proposal=None,
                   repropose_after=AutonomyState.decisions_total + cooldown(agent.rule), updated_at=now):
        return False
    record(session=session, actor=actor, verb="autonomy.demoted", subject=f"agent:{agent.name}", now=now,
           details={"action": state.action, "prompt_version": state.prompt_version, "reason": reason})
    session.refresh(state)
    return True


def auto_states(*, session: Session, agent_id: int, action: str) -> list[AutonomyState]:
    return list(session.exec(select(AutonomyState).where(
        AutonomyState.agent_id == agent_id, AutonomyState.action == action, AutonomyState.level == AUTO)).all())
