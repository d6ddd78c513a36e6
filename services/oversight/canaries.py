"""Canaries: known-bad drafts an admin registers, posted among an agent's real drafts to measure whether its
reviewers read what they approve.

A canary is a draft row like any other (same agent, same action, same card, same inbox) with `is_canary` set.
The rules that keep it honest live here:
- it is posted only while the agent is active, and never more often than the agent's `canary_rate` of its real
  drafts: one canary needs at least 1 / rate real drafts since the previous canary (up to half as many again, by
  a stable draw, so it never comes at a fixed count), and a real draft of that action in the last ACTIVE_WINDOW,
  so a canary arrives when drafts arrive (plausible timing, normal volume);
- approving it (or approving it with edits) is a miss and rejecting it a catch, for the person who did it; the
  person is told at once that it was a test and why it was bad;
- it reaches no agent: the drafts domain sends no callback for it and publishes no draft.decided (so no autonomy
  evidence, spend, waste or rejection streak), and evals and the agent's own list leave it out.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.audit.service import Actor, record
from services.context import AppContext
from services.db import require_id
from services.drafts import recording
from services.drafts import service as drafts
from services.drafts.models import Draft, DraftCreate
from services.drafts.routing import Route
from services.oversight.models import CATCH, MISS, Canary, CanaryCreate, CanaryPost, CanaryPublic

ACTIVE_WINDOW = timedelta(minutes=30)
JITTER = 0.5  # a canary waits for up to this share of 1 / rate more real drafts
SYSTEM = Actor.system("oversight")


def register(*, session: Session, agent: Agent, data: CanaryCreate, actor: Actor, now: datetime) -> CanaryPublic:
    canary = Canary(agent_id=require_id(agent.id), action=data.action, title=data.title, body=data.body,
                    why_bad=data.why_bad, created_at=now)
    session.add(canary)
    session.flush()
    record(session=session, actor=actor, verb="canary.registered", subject=f"canary:{canary.id}", now=now,
           details={"agent": agent.name, "action": data.action})
    return public(canary, agent)


def public(canary: Canary, agent: Agent) -> CanaryPublic:
    return CanaryPublic(id=require_id(canary.id), agent=agent.name, action=canary.action, title=canary.title,
                        why_bad=canary.why_bad, posts=canary.posts, created_at=canary.created_at)


def _last_post(session: Session, agent_id: int) -> CanaryPost | None:
    return session.exec(select(CanaryPost).where(CanaryPost.agent_id == agent_id)
                        .order_by(col(CanaryPost.seq).desc()).limit(1)).first()


def needed(agent_id: int, seq: int, rate: float) -> int:
    """Real drafts to wait for before the agent's canary number `seq`: 1 / rate, plus up to half that again by a
    stable draw (the same on every replica), so a canary never comes at a fixed count after the last one and
    never more often than the rate."""
    base = 1 / rate
    draw = int(hashlib.sha256(f"{agent_id}:{seq}".encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return math.ceil(base - 1e-9) + int(draw * JITTER * base)


def due(*, session: Session, agent: Agent, now: datetime) -> Canary | None:
    """The canary to post for this agent now, or None: paused, no rate, no canary, too few real drafts since the
    last one, or no real draft lately."""
    if agent.status != "active" or not agent.canary_rate:
        return None
    last = _last_post(session, require_id(agent.id))
    real = select(func.count(), func.max(Draft.created_at)).where(
        Draft.agent_id == agent.id, col(Draft.is_canary).is_(False))
    if last is not None:
        real = real.where(col(Draft.created_at) > last.posted_at)
    count, latest = session.exec(real).one()
    seq = (last.seq if last else 0) + 1
    if count < needed(require_id(agent.id), seq, agent.canary_rate) or latest is None or now - latest > ACTIVE_WINDOW:
        return None
    recent = set(session.exec(select(Draft.action).where(
        Draft.agent_id == agent.id, col(Draft.is_canary).is_(False), col(Draft.created_at) >= now - ACTIVE_WINDOW)))
    choices = list(session.exec(select(Canary).where(Canary.agent_id == agent.id)
                                .order_by(col(Canary.posts), col(Canary.id))))
    # Among the actions the agent is using now, so the canary looks like today's work; the least posted first.
    return next((c for c in choices if c.action in recent), None)


def post(*, session: Session, ctx: AppContext, agent: Agent, canary: Canary, now: datetime) -> Draft | None:
    """Post one canary as a draft with its card; None when another replica posted this agent's next one first."""
    last = _last_post(session, require_id(agent.id))
    request = DraftCreate(action=canary.action, title=canary.title, body=canary.body)
    draft = drafts.build_draft(agent=agent, request=request, route=Route("review", []), now=now,
                               remind_fraction=ctx.settings.draft_reminder_at)
    draft.is_canary = True
    try:
        with session.begin_nested():
            session.add(CanaryPost(draft_id=draft.id, canary_id=require_id(canary.id), agent_id=require_id(agent.id),
                                   seq=(last.seq if last else 0) + 1, posted_at=now))
    except IntegrityError:
        return None
    session.exec(update(Canary).where(col(Canary.id) == canary.id).values(posts=Canary.posts + 1))  # type: ignore[call-overload]
    # The one create path: the draft's own trail and card read as any draft's; what it really is goes under the
    # canary, which only admins see.
    recording.record_created(session=session, ctx=ctx, agent=agent, draft=draft, route=Route("review", []), now=now)
    record(session=session, actor=SYSTEM, verb="canary.posted", subject=f"canary:{canary.id}", now=now,
           details={"agent": agent.name, "seq": (last.seq if last else 0) + 1})
    return draft


def post_due(ctx: AppContext) -> int:
    """The job: at most one canary per agent per run."""
    posted = 0
    with ctx.read() as session:
        agents = list(session.exec(select(Agent.id).where(col(Agent.canary_rate) > 0, Agent.status == "active")))
    for agent_id in agents:
        with ctx.uow() as session:
            agent = session.get(Agent, agent_id)
            now = ctx.clock.now()
            canary = due(session=session, agent=agent, now=now) if agent else None
            if agent is not None and canary is not None and post(session=session, ctx=ctx, agent=agent,
                                                                  canary=canary, now=now):
                posted += 1
    return posted


def on_decision(*, session: Session, draft: Draft, user_id: str, verdict: str, now: datetime) -> str | None:
    """A person decided a canary: count the catch or the miss, and say what it was. None for a real draft."""
    if not draft.is_canary:
        return None
    found = session.exec(select(CanaryPost, Canary).where(CanaryPost.draft_id == draft.id,
                                                          col(Canary.id) == col(CanaryPost.canary_id))).first()
    why = found[1].why_bad if found else "it was written to be wrong"
    outcome = CATCH if verdict == "reject" else MISS
    first = update(CanaryPost).where(col(CanaryPost.draft_id) == draft.id, col(CanaryPost.outcome).is_(None))
    session.exec(first.values(outcome=outcome, outcome_by=user_id, outcome_at=now))  # type: ignore[call-overload]
    record(session=session, actor=Actor.slack_user(user_id), subject=f"canary:{found[1].id if found else 0}",
           verb="canary.caught" if outcome == CATCH else "canary.missed", now=now, details={"draft": draft.id})
    if outcome == CATCH:
        return (f"Well caught: that draft was a test (a canary), known to be bad: {why} "
                "Nothing was sent to any agent.")
    return (f"That draft was a test (a canary), known to be bad, and it was approved: {why} "
            "Nothing was sent to any agent. Please read each draft before approving it.")
