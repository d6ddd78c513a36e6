"""Draft rules and queries: keyword-only, session first, no I/O beyond the database.

Every transition out of `pending` is one conditional UPDATE (`... WHERE id = :id AND status = 'pending'`);
only the statement that changed a row wins, so two people clicking at once can't both decide a draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.db import require_id
from services.drafts import stages
from services.drafts.models import (
    EXPIRED_REASON,
    PENDING,
    Draft,
    DraftCreate,
    DraftPublic,
    DraftStatus,
    DraftVote,
    public,
)
from services.drafts.routing import Route
from services.errors import AlreadyDecided, Conflict, NotFound, field_error

VERBS = {"approved": "approved", "edited": "approved with edits", "rejected": "rejected", "expired": "expired",
         "auto_approved": "auto-approved", "cancelled": "cancelled"}


def status_words(status: str) -> str:
    """How a draft's status reads to people everywhere (web, Slack, CLI, the demo): an edit that was approved is
    "approved with edits", never a bare "edited" that reads as "not approved yet"."""
    return VERBS.get(status, status.replace("_", " "))


@dataclass(frozen=True)
class Vote:
    """What one approval did: counted towards quorum, or decided the draft."""

    approvals: int
    required: int
    final: bool
    opened: int | None = None  # the stage this approval opened (its quorum passed the one before)


def build_draft(*, agent: Agent, request: DraftCreate, route: Route, now: datetime, remind_fraction: float) -> Draft:
    policy = agent.policy_for(request.action)
    expires_in = request.expires_in_s or policy.expiry_s or agent.draft_expiry_s
    text, is_json = request.body_text()
    remind_at = now + timedelta(seconds=expires_in * remind_fraction) if 0 < remind_fraction < 1 else None
    workflow = stages.snapshot(agent=agent, policy=policy, now=now)
    return Draft(
        agent_id=require_id(agent.id), action=request.action, title=request.title, body=text, body_is_json=is_json,
        context=request.context, requested_by=request.requested_by, created_at=now,
        expires_at=now + timedelta(seconds=expires_in), remind_at=remind_at, cost_usd=request.cost_usd,
        model=request.model, prompt_version=request.prompt_version, confidence=request.confidence,
        meta=request.metadata, approvals_required=workflow[0]["approvals_required"],
        high_risk=policy.high_risk, review_reasons=route.reasons, stages=workflow, on_timeout=policy.on_timeout,
        escalate_at=stages.first_due(workflow[0], now),
    )


def get_draft(*, session: Session, draft_id: str) -> Draft:
    # populate_existing: another transaction may have decided it since this session last looked
    draft = session.get(Draft, draft_id, populate_existing=True)
    if draft is None:
        raise NotFound(f"no draft {clip_id(draft_id)!r}")
    return draft


def clip_id(draft_id: str) -> str:
    """Ids in error messages are echoed back to people; a 2,000-character "id" is cut, not repeated."""
    return draft_id if len(draft_id) <= 60 else draft_id[:60] + "…"


def get_agent_draft(*, session: Session, agent: Agent, draft_id: str) -> Draft:
    """An agent sees only its own drafts; anyone else's is simply not found."""
    draft = session.get(Draft, draft_id)
    if draft is None or draft.agent_id != agent.id or draft.is_canary:  # oversight: a canary is no agent's
        raise NotFound(f"no draft {clip_id(draft_id)!r}")
    return draft


def approvers_of(*, session: Session, draft_id: str) -> list[str]:
    rows = session.exec(select(DraftVote.user_id).where(DraftVote.draft_id == draft_id)
                        .order_by(col(DraftVote.id))).all()
    return list(rows)


def votes_of(*, session: Session, draft_id: str) -> list[tuple[str, int]]:
    """(user, stage) of each approval, in the order given."""
    rows = session.exec(select(DraftVote.user_id, DraftVote.stage).where(DraftVote.draft_id == draft_id)
                        .order_by(col(DraftVote.id))).all()
    return [(user, stage) for user, stage in rows]


def votes_of_drafts(*, session: Session, draft_ids: list[str]) -> dict[str, list[tuple[str, int]]]:
    """`votes_of` for a list of drafts in one query: draft id -> (user, stage) of each approval, in order."""
    found: dict[str, list[tuple[str, int]]] = {draft_id: [] for draft_id in draft_ids}
    if draft_ids:
        rows = session.exec(select(DraftVote.draft_id, DraftVote.user_id, DraftVote.stage)
                            .where(col(DraftVote.draft_id).in_(draft_ids)).order_by(col(DraftVote.id))).all()
        for draft_id, user, stage in rows:
            found[draft_id].append((user, stage))
    return found


def to_public(*, session: Session, draft: Draft, agent_name: str) -> DraftPublic:
    return public(draft, agent_name=agent_name, votes=votes_of(session=session, draft_id=draft.id))


def already_decided(draft: Draft) -> AlreadyDecided:
    deciders = list(draft.decided_by or [])
    by = f" by {', '.join(deciders)}" if deciders else ""
    return AlreadyDecided(f"this draft was already {VERBS.get(draft.status, draft.status)}{by}",
                          extra={"draft_status": draft.status, "decided_by": deciders}, people=deciders)


def _transition(session: Session, draft_id: str, values: dict[str, Any], *, revision: int | None = None,
                stage: int | None = None) -> bool:
    """The one way out of pending (and from one stage to the next): true only for the statement that changed
    the row. `stage`: only while that stage is open, so two people passing a stage at once open the next once."""
    statement = update(Draft).where(col(Draft.id) == draft_id, col(Draft.status) == PENDING)
    if revision is not None:
        statement = statement.where(col(Draft.revision) == revision)
    if stage is not None:
        statement = statement.where(col(Draft.stage_index) == stage)
    return (session.exec(statement.values(**values)).rowcount or 0) == 1  # type: ignore[call-overload]


def _lost(session: Session, draft_id: str, revision: int | None, stage: int | None = None) -> Exception:
    """Why a conditional update changed nothing: decided meanwhile, the stage passed, or edited since."""
    draft = get_draft(session=session, draft_id=draft_id)
    if draft.status != PENDING:
        return already_decided(draft)
    if stage is not None and draft.stage_index != stage:
        return stage_passed(draft, stage)
    if revision is not None and draft.revision != revision:
        return Conflict(f"this draft was edited by {draft.edited_by} since you looked; "
                        "review the new text on the card before approving", people=[draft.edited_by or ""],
                        extra={"edited_by": draft.edited_by, "revision": draft.revision})
    return Conflict("the draft changed while you were deciding; please try again")


def stage_passed(draft: Draft, stage: int) -> Conflict:
    passed = stages.of(draft)[stage]["name"] if stage < len(stages.of(draft)) else "that stage"
    return Conflict(f"the {passed} stage has already passed; this draft is now at {stages.label(draft)}",
                    extra={"stage": stages.open_stage(draft)["name"], "stage_index": draft.stage_index})


def finish(*, session: Session, draft: Draft, status: str, now: datetime, decided_by: list[str],
           reason: str | None = None, revision: int | None = None) -> None:
    """Move a pending draft to a final status, or raise AlreadyDecided naming who got there first."""
    approved = status in (DraftStatus.approved, DraftStatus.edited, DraftStatus.auto_approved)
    values: dict[str, Any] = {"status": status, "decided_by": decided_by, "decided_at": now, "reason": reason,
                              "stages": stages.closed(draft, passed=approved, now=now), "claimed_by": None,
                              "claimed_at": None, "escalate_at": None}
    if not _transition(session, draft.id, values, revision=revision):
        raise _lost(session, draft.id, revision)
    session.refresh(draft)


def _add_vote(session: Session, draft: Draft, user_id: str, now: datetime, stage: int) -> None:
    """One approval per person per draft (the unique key): separation of duties across stages too."""
    try:
        with session.begin_nested():
            session.add(DraftVote(draft_id=draft.id, user_id=user_id, created_at=now, stage=stage))
    except IntegrityError:
        earlier = session.exec(select(DraftVote.stage).where(DraftVote.draft_id == draft.id,
                                                             DraftVote.user_id == user_id)).first()
        if earlier is not None and earlier != stage:
            name = stages.of(draft)[earlier]["name"]
            raise Conflict(f"you approved this draft at the {name} stage; one person approves in one stage only, "
                           "so another decider must approve this one", extra={"approved_at_stage": name}) from None
        raise Conflict(f"you already approved this draft; it needs {draft.approvals_required} approvals") from None


def _quorum(session: Session, draft: Draft, now: datetime, reason: str | None) -> Vote:
    """After an approval counted: under quorum, nothing more; the open stage passed, the next opens (once, by
    a conditional update on the stage); the last stage passed, the draft is approved."""
    if draft.approvals < draft.approvals_required:
        return Vote(draft.approvals, draft.approvals_required, final=False)
    at = draft.stage_index
    workflow = stages.of(draft)
    if at + 1 < len(workflow):
        moved = _transition(session, draft.id, {"stage_index": at + 1, "approvals": 0, "claimed_by": None,
                                                "claimed_at": None, "escalation_step": 0,
                                                "escalate_at": stages.first_due(workflow[at + 1], now),
                                                "approvals_required": workflow[at + 1]["approvals_required"],
                                                "stages": stages.advanced(draft, now)}, stage=at)
        if not moved:
            raise _lost(session, draft.id, None, at)
        session.refresh(draft)
        return Vote(workflow[at]["approvals_required"], workflow[at]["approvals_required"], final=False, opened=at + 1)
    status = "edited" if draft.edited_body is not None and draft.edited_body != draft.body else "approved"
    finish(session=session, draft=draft, status=status, now=now,
           decided_by=approvers_of(session=session, draft_id=draft.id), reason=reason)
    return Vote(draft.approvals, draft.approvals_required, final=True)


def approve(*, session: Session, draft: Draft, user_id: str, now: datetime, revision: int | None,
            reason: str | None = None) -> Vote:
    """Count one approval for the open stage; the approval that reaches the last stage's quorum decides the
    draft (with its `reason`, if given)."""
    at = draft.stage_index
    _add_vote(session, draft, user_id, now, at)
    # The increment is conditional too: it fails if the draft was decided, edited or moved on a stage, and it
    # serialises voters on the row, so exactly one of them sees the count reach quorum.
    if not _transition(session, draft.id, {"approvals": Draft.approvals + 1}, revision=revision, stage=at):
        raise _lost(session, draft.id, revision, at)
    session.refresh(draft)
    return _quorum(session, draft, now, reason)


def edit(*, session: Session, draft: Draft, user_id: str, text: str, now: datetime, revision: int | None) -> Vote:
    """Approve with changes. The new text replaces what was under review, so the open stage's earlier
    approvals (given to other words) are withdrawn and the editor's counts as its first; passed stages stand."""
    if not text.strip():
        raise field_error("final_body", "the edited text must not be empty")
    if text == draft.current_text:
        return approve(session=session, draft=draft, user_id=user_id, now=now, revision=revision)
    at = draft.stage_index
    moved = _transition(session, draft.id, {"edited_body": text, "edited_by": user_id, "approvals": 1,
                                            "revision": Draft.revision + 1}, revision=revision, stage=at)
    if not moved:
        raise _lost(session, draft.id, revision, at)
    session.exec(delete(DraftVote).where(col(DraftVote.draft_id) == draft.id,  # type: ignore[call-overload]
                                         col(DraftVote.stage) == at))
    session.flush()
    _add_vote(session, draft, user_id, now, at)
    session.refresh(draft)
    return _quorum(session, draft, now, None)


def pending_for(*, session: Session, user_id: str, groups: set[str], limit: int = 50) -> list[tuple[Draft, Agent]]:
    """Pending drafts whose open stage this person may decide, oldest first."""
    agents = {a.id: a for a in session.exec(select(Agent)).all()
              if user_id in a.deciders() or groups.intersection(a.approver_groups) or _staged(a)}
    if not agents:
        return []
    drafts = session.exec(select(Draft).where(Draft.status == PENDING, col(Draft.agent_id).in_(list(agents)))
                          .order_by(col(Draft.created_at), col(Draft.id)).limit(limit * 4)).all()
    found = []
    for draft in drafts:
        people, stage_groups = stages.deciders(agents[draft.agent_id], stages.open_stage(draft))
        if user_id in people or groups.intersection(stage_groups):
            found.append((draft, agents[draft.agent_id]))
    return found[:limit]


def _staged(agent: Agent) -> bool:
    """An agent with a staged action: its stages may name deciders the agent itself doesn't."""
    return any(isinstance(policy, dict) and policy.get("stages") for policy in (agent.actions or {}).values())


def groups_with_pending(*, session: Session) -> set[str]:
    rows = session.exec(select(Agent.approver_groups).where(
        col(Agent.id).in_(select(Draft.agent_id).where(Draft.status == PENDING)))).all()
    return {group for groups in rows for group in (groups or [])}


def expiry_due(now: datetime) -> Any:
    """Pending past expiry, unless the action's policy keeps it waiting for a person."""
    return select(Draft).where(Draft.status == PENDING, Draft.expires_at <= now,
                               col(Draft.on_timeout) != "keep_waiting").order_by(col(Draft.expires_at))


def reminder_due(now: datetime) -> Any:
    """Pending, not yet reminded, reminder point passed, and not already past expiry (expiry says enough)."""
    return select(Draft).where(Draft.status == PENDING, col(Draft.reminded).is_(False), col(Draft.remind_at) <= now,
                               Draft.expires_at > now).order_by(col(Draft.remind_at))


def expire(*, session: Session, draft: Draft, now: datetime) -> bool:
    """Time ran out. By the action's `on_timeout`: `deny` (expired, "denied: do not retry") or `approve`
    (auto_approved, the reason saying it was the policy). False when someone decided it first."""
    if draft.on_timeout == "approve":
        values: dict[str, Any] = {
            "status": DraftStatus.auto_approved,
            "reason": f"no decision by {draft.expires_at:%Y-%m-%d %H:%M} UTC: approved by the action's policy",
            "stages": stages.closed(draft, passed=True, now=now)}
    else:
        values = {"status": DraftStatus.expired, "reason": EXPIRED_REASON,
                  "stages": stages.closed(draft, passed=False, now=now)}
    moved = _transition(session, draft.id, {**values, "decided_at": now, "decided_by": [], "claimed_by": None,
                                            "claimed_at": None, "escalate_at": None})
    if moved:
        session.refresh(draft)
    return moved


def mark_reminded(*, session: Session, draft_id: str) -> bool:
    """Once only, even if two replicas pick the same draft."""
    statement = update(Draft).where(col(Draft.id) == draft_id, col(Draft.reminded).is_(False)).values(reminded=True)
    return (session.exec(statement).rowcount or 0) == 1  # type: ignore[call-overload]
