"""SLA escalation of a draft's open stage, on the incidents' kind of durable timer: one `escalate_at` per draft
(a column, so it survives a restart), claimed FOR UPDATE SKIP LOCKED on PostgreSQL or under SQLite's writer
lock, so two replicas escalate a stage once. A stage still open `sla_s` after it opened walks the agent's
escalation chain: `wait_s` steps space it, `notify` steps DM the card with its buttons (the claimer first
when the draft is claimed) and the owner and backups notified may then decide the stage; `pause_agent` steps
are skipped for drafts. Passing the stage or deciding the draft stops it (the timer is reset or cleared in the
same conditional update). After the chain, `keep_waiting` drafts remind the owner every last wait.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.audit.service import Actor, record
from services.context import AppContext
from services.db import claim_due
from services.drafts import recording, stages
from services.drafts.models import PENDING, Draft
from services.incidents.escalation import anything_due
from services.incidents.service import step_kind

ESCALATION = Actor.system("drafts.escalation")
REMIND_DEFAULT_S = 3600  # keep_waiting's reminder when the chain has no wait to copy


def _recipients(agent: Agent, draft: Draft, target: str, first: bool) -> list[str]:
    people = {"owner": [agent.owner], "backups": list(agent.backup_owners or [])}.get(target, [])
    if first and draft.claimed_by:  # the claimer hears first
        people = [draft.claimed_by, *[p for p in people if p != draft.claimed_by]]
    return people


def _step(session: Session, ctx: AppContext, draft: Draft, agent: Agent, now: datetime) -> dict[str, Any] | None:
    """Take the step the draft points at; the row is held by this claim, so plain writes are safe."""
    chain = agent.chain()
    at = draft.escalation_step
    if at >= len(chain):  # after the chain: only keep_waiting goes on, as a reminder to the owner
        waits = [s["wait_s"] for s in chain if step_kind(s) == "wait_s"]
        draft.escalate_at = now + timedelta(seconds=waits[-1] if waits else REMIND_DEFAULT_S) \
            if draft.on_timeout == "keep_waiting" else None
        if draft.escalate_at is not None:
            _notify(session, ctx, draft, agent, [agent.owner], now)
        session.add(draft)
        return {"draft": draft.id, "did": "reminded" if draft.escalate_at else "chain_done"}
    step = chain[at]
    draft.escalation_step = at + 1
    kind = step_kind(step)
    draft.escalate_at = now + timedelta(seconds=step["wait_s"]) if kind == "wait_s" else now
    session.add(draft)
    if kind != "notify":
        return {"draft": draft.id, "did": "waited" if kind == "wait_s" else "skipped_pause"}
    people = _recipients(agent, draft, step["notify"], first=at == 0 or not any(
        step_kind(s) == "notify" for s in chain[:at]))
    if not people:
        return {"draft": draft.id, "did": "skipped", "note": f"no {step['notify']} for a draft"}
    workflow = stages.of(draft)
    stage = workflow[draft.stage_index]
    stage["escalated_to"] = [*stage.get("escalated_to", []), *[p for p in people if p not in
                                                                stage.get("escalated_to", [])]]
    draft.stages = workflow
    session.add(draft)
    session.flush()
    _notify(session, ctx, draft, agent, people, now)
    record(session=session, actor=ESCALATION, verb="draft.escalated", subject=draft.card_key, now=now,
           details={"stage": stage["name"], "to": people, "step": at})
    return {"draft": draft.id, "did": "notified", "to": people}


def _notify(session: Session, ctx: AppContext, draft: Draft, agent: Agent, people: list[str], now: datetime) -> None:
    shown = recording.card_data(session, draft, agent)
    ctx.notifier.draft_changed(session=session, agent=agent, draft=shown, now=now)
    for person in people:
        ctx.notifier.draft_escalated(session=session, agent=agent, draft=shown, to=person, now=now)


def escalate_due(ctx: AppContext, *, batch: int = 100, rounds: int = 10) -> int:
    """Take every due step, one per draft per claim (a notify after no wait goes out in the next round)."""
    done = 0
    for _ in range(rounds):
        if not anything_due(ctx, Draft.id, col(Draft.escalate_at), col(Draft.status) == PENDING):
            break
        with ctx.uow() as session:
            now = ctx.clock.now()
            due = claim_due(session, select(Draft).where(Draft.status == PENDING, col(Draft.escalate_at) <= now)
                            .order_by(col(Draft.escalate_at)), limit=batch)
            if not due:
                break
            agents = {a.id: a for a in session.exec(select(Agent).where(col(Agent.id).in_({d.agent_id for d in due})))}
            for draft in due:
                agent = agents.get(draft.agent_id)
                if agent is None:
                    draft.escalate_at = None
                    session.add(draft)
                    continue
                _step(session, ctx, draft, agent, now)
        done += len(due)
    if done:
        ctx.decision_wakeup.fire()
    return done
