"""Claim, release and assign a pending draft: a signal to other reviewers that someone is on it, not a lock
(anyone who may decide still can). A claim lapses after COUNTERSIGN_CLAIM_TTL_S; reminders and escalations go
to the claimer first. Assign hands the claim to another eligible decider of the open stage, who gets the card
by DM. Every refusal of a person is audited (`draft.claim_refused`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.audit.refusals import refuse
from services.audit.service import Actor, record
from services.context import AppContext
from services.drafts import flows, rules, service
from services.drafts.models import PENDING, Draft, DraftPublic, draft_key
from services.errors import Conflict, CountersignError, Forbidden

REFUSED = "draft.claim_refused"


def _eligible(ctx: AppContext, draft_id: str, user_id: str) -> Forbidden | None:
    """Why this person can't take the open stage's claim (None: they can): the rule of an approval."""
    groups = flows.groups_of(ctx=ctx, draft_id=draft_id, user_id=user_id)
    with ctx.read() as session:
        draft = service.get_draft(session=session, draft_id=draft_id)
        agent = flows.agent_of(session, draft.agent_id)
        return rules.refusal(agent=agent, draft=draft, user_id=user_id, verdict="approve", groups=groups)


def _refused(ctx: AppContext, draft_id: str, user_id: str, what: str, error: CountersignError) -> CountersignError:
    return refuse(ctx=ctx, user=user_id, verb=REFUSED, subject=draft_key(draft_id), why=error.detail,
                  details={"asked": what}, error=error)


def _set_claim(session: Session, draft: Draft, claimer: str | None, now: object, *, only_if: str | None,
               free: bool) -> bool:
    statement = update(Draft).where(col(Draft.id) == draft.id, col(Draft.status) == PENDING)
    if free:
        statement = statement.where(col(Draft.claimed_by).is_(None))
    if only_if is not None:
        statement = statement.where(col(Draft.claimed_by) == only_if)
    values = {"claimed_by": claimer, "claimed_at": now if claimer else None}
    return (session.exec(statement.values(**values)).rowcount or 0) == 1  # type: ignore[call-overload]


def _why_not(draft: Draft) -> CountersignError:
    if draft.status != PENDING:
        return service.already_decided(draft)
    who = draft.claimed_by or ""
    return Conflict(f"{who} has claimed this draft; they can release it, or assign it to you", people=[who],
                    extra={"claimed_by": who})


def claim(*, ctx: AppContext, draft_id: str, user_id: str) -> DraftPublic:
    refusal = _eligible(ctx, draft_id, user_id)
    if refusal is not None:
        raise _refused(ctx, draft_id, user_id, "claim", refusal)
    return _change(ctx, draft_id, user_id, "claim", claimer=user_id, only_if=None, free=True)


def release(*, ctx: AppContext, draft_id: str, user_id: str) -> DraftPublic:
    return _change(ctx, draft_id, user_id, "release", claimer=None, only_if=user_id, free=False)


def assign(*, ctx: AppContext, draft_id: str, user_id: str, to: str) -> DraftPublic:
    """`user_id` (a decider of the open stage, or the claimer) hands the claim to `to`, who must be one too."""
    with ctx.read() as session:
        claimer = service.get_draft(session=session, draft_id=draft_id).claimed_by
    if claimer != user_id and (refusal := _eligible(ctx, draft_id, user_id)) is not None:
        raise _refused(ctx, draft_id, user_id, "assign", refusal)
    if (refusal := _eligible(ctx, draft_id, to)) is not None:
        why = Forbidden(f"{to} can't decide this stage, so it can't be assigned to them ({refusal.detail})",
                        people=[to], extra={"to": to})
        raise _refused(ctx, draft_id, user_id, "assign", why)
    return _change(ctx, draft_id, user_id, "assign", claimer=to, only_if=None, free=False)


def _change(ctx: AppContext, draft_id: str, user_id: str, what: str, *, claimer: str | None, only_if: str | None,
            free: bool) -> DraftPublic:
    error: CountersignError | None = None
    with ctx.uow() as session:
        draft = service.get_draft(session=session, draft_id=draft_id)
        now = ctx.clock.now()
        if what == "release" and draft.status == PENDING and draft.claimed_by not in (None, user_id):
            error = Forbidden(f"{draft.claimed_by} has claimed this draft; only they can release it",
                              people=[draft.claimed_by or ""])
        elif _set_claim(session, draft, claimer, now, only_if=only_if, free=free) or (what == "release"
                                                                                      and draft.claimed_by is None
                                                                                      and draft.status == PENDING):
            session.refresh(draft)
            agent = flows.agent_of(session, draft.agent_id)
            shown = flows.card_data(session, draft, agent)
            ctx.notifier.draft_changed(session=session, agent=agent, draft=shown, now=now)
            if what == "assign" and claimer:
                ctx.notifier.draft_assigned(session=session, agent=agent, draft=shown, to=claimer, now=now)
            record(session=session, actor=Actor.slack_user(user_id), verb=f"draft.{what}ed" if what != "release"
                   else "draft.released", subject=draft.card_key, now=now, details={"claimed_by": claimer})
            return shown.public()
        else:
            session.refresh(draft)
            error = _why_not(draft)
    raise _refused(ctx, draft_id, user_id, what, error)


def release_lapsed(ctx: AppContext) -> int:
    """Claims older than COUNTERSIGN_CLAIM_TTL_S lapse (each once, whichever replica gets there)."""
    now = ctx.clock.now()
    cutoff = now - timedelta(seconds=ctx.settings.claim_ttl_s)
    due = select(Draft.id).where(Draft.status == PENDING, col(Draft.claimed_at) <= cutoff)
    with ctx.read() as session:
        if session.exec(due.limit(1)).first() is None:
            return 0
    done = 0
    with ctx.uow() as session:
        for draft_id in session.exec(due.limit(100)).all():
            moved = session.exec(update(Draft).where(  # type: ignore[call-overload]
                col(Draft.id) == draft_id, col(Draft.claimed_at) <= cutoff).values(claimed_by=None, claimed_at=None))
            if not moved.rowcount:
                continue
            draft = service.get_draft(session=session, draft_id=draft_id)
            agent = flows.agent_of(session, draft.agent_id)
            ctx.notifier.draft_changed(session=session, agent=agent, draft=flows.card_data(session, draft, agent),
                                       now=now)
            record(session=session, actor=Actor.system("drafts.claims"), verb="draft.claim_lapsed",
                   subject=draft.card_key, now=now, details={})
            done += 1
    return done
