"""Claim, release and assign a pending draft: a signal to other reviewers that someone is on it, not a lock
(anyone who may decide still can). A claim lapses after COUNTERSIGN_CLAIM_TTL_S; reminders and escalations go
to the claimer first. Assign hands the claim to another eligible decider of the open stage, who gets the card
by DM. A delegate (services.people) claims, is assigned and releases for the away person they stand in for,
audited "as delegate of U…". Every refusal of a person is audited (`draft.claim_refused`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.audit.refusals import refuse
from services.audit.service import Actor, record
from services.context import AppContext
from services.drafts import delegation, flows, recording, rules, service
from services.drafts.models import PENDING, Draft, DraftPublic, draft_key
from services.errors import Conflict, CountersignError, Forbidden
from services.people import service as people

REFUSED = "draft.claim_refused"


def _eligible(ctx: AppContext, draft_id: str, user_id: str) -> tuple[Forbidden | None, str | None]:
    """Why this person can't take the open stage's claim (None: they can), the rule of an approval; and the away
    person they take it for when they may only as that person's delegate."""
    asked = flows.ask_about(ctx=ctx, draft_id=draft_id, user_id=user_id)
    groups, found = asked.groups, asked.found
    with ctx.read() as session:
        draft = service.get_draft(session=session, draft_id=draft_id)
        agent = flows.agent_of(session, draft.agent_id)
        refusal = rules.refusal(agent=agent, draft=draft, user_id=user_id, verdict="approve", groups=groups)
        if refusal is None or not found:
            return refusal, None
        absent = delegation.acting_for(agent=agent, draft=draft, user_id=user_id, verdict="approve", found=found)
        return (None, absent) if absent else (refusal, None)


def _delegate_of(ctx: AppContext, user_id: str, claimer: str | None) -> str | None:
    """The claimer, when they are away and `user_id` stands in for them (None otherwise)."""
    if claimer is None or claimer == user_id:
        return None
    with ctx.read() as session:
        absent = people.stands_in_for(session=session, user_id=user_id, now=ctx.clock.now())
    return claimer if claimer in absent else None


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
    refusal, absent = _eligible(ctx, draft_id, user_id)
    if refusal is not None:
        raise _refused(ctx, draft_id, user_id, "claim", refusal)
    return _change(ctx, draft_id, user_id, "claim", claimer=user_id, only_if=None, free=True, for_=absent)


def release(*, ctx: AppContext, draft_id: str, user_id: str) -> DraftPublic:
    """The claimer lets go (or their delegate, while they are away)."""
    with ctx.read() as session:
        claimer = service.get_draft(session=session, draft_id=draft_id).claimed_by
    absent = _delegate_of(ctx, user_id, claimer)
    return _change(ctx, draft_id, user_id, "release", claimer=None, only_if=absent or user_id, free=False,
                   for_=absent)


def assign(*, ctx: AppContext, draft_id: str, user_id: str, to: str) -> DraftPublic:
    """`user_id` (a decider of the open stage, the claimer, or a delegate of either) hands the claim to `to`, who
    must be one too; assigned to someone away, the card reaches their delegate (the notifier reroutes DMs)."""
    with ctx.read() as session:
        claimer = service.get_draft(session=session, draft_id=draft_id).claimed_by
    absent = _delegate_of(ctx, user_id, claimer)
    if claimer != user_id and absent is None:
        refusal, absent = _eligible(ctx, draft_id, user_id)
        if refusal is not None:
            raise _refused(ctx, draft_id, user_id, "assign", refusal)
    if (refusal := _eligible(ctx, draft_id, to)[0]) is not None:
        why = Forbidden(f"{to} can't decide this stage, so it can't be assigned to them ({refusal.detail})",
                        people=[to], extra={"to": to})
        raise _refused(ctx, draft_id, user_id, "assign", why)
    return _change(ctx, draft_id, user_id, "assign", claimer=to, only_if=None, free=False, for_=absent)


def _change(ctx: AppContext, draft_id: str, user_id: str, what: str, *, claimer: str | None, only_if: str | None,
            free: bool, for_: str | None = None) -> DraftPublic:
    """Move the claim by a conditional update; `for_`: the away person `user_id` acts for, audited as such."""
    error: CountersignError | None = None
    allowed = {None, user_id, for_}
    with ctx.uow() as session:
        draft = service.get_draft(session=session, draft_id=draft_id)
        now = ctx.clock.now()
        if what == "release" and draft.status == PENDING and draft.claimed_by not in allowed:
            error = Forbidden(f"{draft.claimed_by} has claimed this draft; only they can release it",
                              people=[draft.claimed_by or ""])
        elif _set_claim(session, draft, claimer, now, only_if=only_if, free=free) or (what == "release"
                                                                                      and draft.claimed_by is None
                                                                                      and draft.status == PENDING):
            session.refresh(draft)
            agent = flows.agent_of(session, draft.agent_id)
            shown = recording.card_data(session, draft, agent)
            ctx.notifier.draft_changed(session=session, agent=agent, draft=shown, now=now)
            if what == "assign" and claimer:
                ctx.notifier.draft_assigned(session=session, agent=agent, draft=shown, to=claimer, now=now)
            verb = f"draft.{what}ed" if what != "release" else "draft.released"
            record(session=session, actor=Actor.slack_user(user_id), verb=verb, subject=draft.card_key, now=now,
                   details={"claimed_by": claimer})
            if for_ is not None:
                delegation.audit(session=session, user_id=user_id, absent=for_, subject=draft.card_key,
                                 action=verb, now=now)
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
            ctx.notifier.draft_changed(session=session, agent=agent, draft=recording.card_data(session, draft, agent),
                                       now=now)
            record(session=session, actor=Actor.system("drafts.claims"), verb="draft.claim_lapsed",
                   subject=draft.card_key, now=now, details={})
            done += 1
    return done
