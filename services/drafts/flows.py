"""Draft side effects: the card, the callback, the events and the audit, in the transaction that decides.

Callable without Slack (autonomy, incidents and the benchmark use them directly):
- `create_draft(session=, ctx=, agent=, request=) -> dict`   store, route, post the card (raises Forbidden on deny)
- `decide(ctx=, draft_id=, user_id=, verdict="approve"|"edit"|"reject", final_body=, reason=, is_group_member=,
  revision=) -> DecisionResult`                              one person's decision, quorum counted
- `cancel(ctx=, agent=, draft_id=, reason=) -> dict`         the agent withdraws a pending draft
- `read(ctx=, agent=, draft_id=) -> dict`                    what polling returns (the callback's `data` too)
- `deciders(ctx=, draft_id=)`, `check_decider(...)`          for the chat layer, before it calls `decide`
- `pending_for(ctx=, user_id=, groups=) -> list[dict]`       what `/countersign pending` lists
- `announce(session=, ctx=, agent=, draft=, actor=, now=)`    the effects of reaching a final status (jobs use it)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlmodel import Session

from services import events
from services.agents.models import Agent
from services.audit.service import Actor, record
from services.context import AppContext
from services.drafts import service
from services.drafts.models import PENDING, Draft, DraftCreate, public
from services.drafts.routing import route_draft
from services.errors import Forbidden, NotFound, field_error
from services.outbox.service import enqueue_callback, slack_message

Verdict = Literal["approve", "reject", "edit"]
CARD_ONLY = ("current_text", "body_is_json")


@dataclass(frozen=True)
class DecisionResult:
    draft: dict[str, Any]  # the public JSON after the decision
    final: bool  # False: an approval was counted but quorum is not reached yet
    approvals: int
    required: int

    @property
    def message(self) -> str:
        if self.final:
            return f"Done: the draft is {self.draft['status']}."
        return f"Your approval is recorded: {self.approvals} of {self.required} approvals."


@dataclass(frozen=True)
class Deciders:
    agent_name: str
    approvers: list[str]
    approver_groups: list[str]
    card_channel: str | None  # where the card landed, so a click can be checked against it
    card_ts: str | None


def agent_of(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("the draft's agent no longer exists")
    return agent


def card_data(session: Session, draft: Draft, agent: Agent, *, fresh: bool = False) -> dict[str, Any]:
    """The public JSON plus what only the card needs: the text under review, whether it is JSON.
    `fresh`: a draft just stored has no votes, so there is nothing to look up."""
    if fresh:
        data = public(draft, agent_name=agent.name, approved_by=[])
    else:
        data = service.to_public(session=session, draft=draft, agent_name=agent.name)
    data["current_text"] = draft.current_text
    data["body_is_json"] = draft.body_is_json
    return data


def create_draft(*, session: Session, ctx: AppContext, agent: Agent, request: DraftCreate) -> dict[str, Any]:
    """Store a draft, route it, post its card; an auto-routed draft is decided at once, a denied one refused."""
    now = ctx.clock.now()
    route = route_draft(session=session, ctx=ctx, agent=agent, request=request)
    if route.mode == "deny":
        record(session=session, actor=Actor.agent(agent.name), verb="draft.denied", subject=f"agent:{agent.name}",
               now=now, details={"action": request.action, "title": request.title, "reasons": route.reasons})
        raise Forbidden("; ".join(route.reasons) or f"action {request.action!r} is not allowed for {agent.name}",
                        extra={"reasons": route.reasons})
    draft = service.build_draft(agent=agent, request=request, route=route, now=now,
                                remind_fraction=ctx.settings.draft_reminder_at)
    if route.mode == "auto":
        draft.status, draft.decided_at, draft.final_body, draft.remind_at = "auto_approved", now, draft.body, None
    session.add(draft)
    session.flush()
    events.publish("draft.created", session=session, ctx=ctx, agent=agent, draft=draft)
    if route.mode != "auto":
        card = card_data(session, draft, agent, fresh=True)
        ctx.notifier.draft_posted(session=session, agent=agent, draft=card, now=now)
    # A plain INSERT in this transaction: no lock is taken; the sealer job chains the entry after it commits.
    record(session=session, actor=Actor.agent(agent.name), verb="draft.created", subject=draft.card_key, now=now,
           details={"action": draft.action, "route": route.mode, "reasons": route.reasons,
                    "approvals_required": draft.approvals_required})
    if route.mode == "auto":
        # No card: earned autonomy means people aren't asked; the autonomy domain posts its audit samples.
        return announce(session=session, ctx=ctx, agent=agent, draft=draft, actor=Actor.system("autonomy"),
                        now=now, post_card=False)
    return {key: value for key, value in card.items() if key not in CARD_ONLY}


def announce(*, session: Session, ctx: AppContext, agent: Agent, draft: Draft, actor: Actor, now: datetime,
             post_card: bool = True) -> dict[str, Any]:
    """A draft reached a final status: tell subscribers, update the card, call the agent back, audit it."""
    events.publish("draft.decided", session=session, ctx=ctx, agent=agent, draft=draft)
    if post_card:
        ctx.notifier.draft_changed(session=session, agent=agent, draft=card_data(session, draft, agent), now=now)
    data = service.to_public(session=session, draft=draft, agent_name=agent.name)
    if agent.callback_url:
        enqueue_callback(session=session, agent_id=agent.id or 0, url=agent.callback_url, event="draft.decided",
                         data=data, now=now, order_key=f"callback:{draft.card_key}")
    record(session=session, actor=actor, verb=f"draft.{draft.status}", subject=draft.card_key, now=now,
           details={"decided_by": draft.decided_by, "reason": draft.reason})
    return data


def deciders(*, ctx: AppContext, draft_id: str) -> Deciders:
    """Who may decide this draft and where its card is, so the chat layer can resolve user groups and check a
    click's origin before calling `decide`."""
    with ctx.read() as session:
        agent = agent_of(session, service.get_draft(session=session, draft_id=draft_id).agent_id)
        posted = slack_message(session=session, key=f"draft:{draft_id}")
        return Deciders(agent.name, list(agent.approvers), list(agent.approver_groups),
                        posted.channel if posted else None, posted.ts if posted else None)


def _pending_for_decision(session: Session, draft_id: str, user_id: str, verdict: str,
                          is_group_member: bool) -> tuple[Draft, Agent, Forbidden | None]:
    """The draft, its agent, and why this person may not decide it (None: they may). Decided: AlreadyDecided."""
    draft = service.get_draft(session=session, draft_id=draft_id)
    agent = agent_of(session, draft.agent_id)
    if draft.status != PENDING:
        raise service.already_decided(draft)
    try:
        service.check_may_decide(agent=agent, draft=draft, user_id=user_id, verdict=verdict,
                                 is_group_member=is_group_member)
    except Forbidden as refusal:
        return draft, agent, refusal
    return draft, agent, None


def check_decider(*, ctx: AppContext, draft_id: str, user_id: str, verdict: Verdict,
                  is_group_member: bool) -> dict[str, Any]:
    """Before opening a modal: may this person decide, and is it still pending? Refusals are audited."""
    with ctx.read() as session:
        draft, agent, refusal = _pending_for_decision(session, draft_id, user_id, verdict, is_group_member)
        card = card_data(session, draft, agent)
    if refusal is not None:
        _audit_refusal(ctx, draft, user_id, verdict, refusal)
    return card


def decide(*, ctx: AppContext, draft_id: str, user_id: str, verdict: Verdict, final_body: str | None = None,
           reason: str | None = None, is_group_member: bool = False, revision: int | None = None) -> DecisionResult:
    """A person's decision. `revision` (from the card's button) refuses approving text edited since it was
    shown; None skips that check. Raises Forbidden, AlreadyDecided, Conflict or ValidationFailed."""
    if verdict not in ("approve", "reject", "edit"):
        raise field_error("verdict", "must be approve, reject or edit")
    if verdict == "reject" and not (reason or "").strip():
        raise field_error("reason", "a rejection needs a reason")
    if verdict == "edit" and final_body is None:
        raise field_error("final_body", "an edit needs the edited text")
    with ctx.uow() as session:
        draft, agent, refusal = _pending_for_decision(session, draft_id, user_id, verdict, is_group_member)
        if refusal is None:
            result = _apply(session, ctx, agent, draft, user_id, verdict, final_body, reason, revision)
    if refusal is not None:
        _audit_refusal(ctx, draft, user_id, verdict, refusal)
    ctx.decision_wakeup.fire()
    return result


def _audit_refusal(ctx: AppContext, draft: Draft, user_id: str, verdict: str, refusal: Forbidden) -> None:
    """Record who was refused, in a transaction of its own (opened only after the reading one closed, so
    SQLite's single writer lock is never asked for twice), then raise the refusal."""
    with ctx.uow() as session:
        record(session=session, actor=Actor.slack_user(user_id), verb="draft.decision_refused",
               subject=draft.card_key, now=ctx.clock.now(), details={"verdict": verdict, "why": refusal.detail})
    raise refusal


def _apply(session: Session, ctx: AppContext, agent: Agent, draft: Draft, user_id: str, verdict: str,
           final_body: str | None, reason: str | None, revision: int | None) -> DecisionResult:
    now = ctx.clock.now()
    actor = Actor.slack_user(user_id)
    if verdict == "reject":
        service.finish(session=session, draft=draft, status="rejected", now=now, decided_by=[user_id],
                       reason=(reason or "").strip())
        vote = service.Vote(draft.approvals, draft.approvals_required, final=True)
    elif verdict == "edit":
        vote = service.edit(session=session, draft=draft, user_id=user_id, text=final_body or "", now=now,
                            revision=revision)
    else:
        vote = service.approve(session=session, draft=draft, user_id=user_id, now=now, revision=revision)
    if vote.final:
        data = announce(session=session, ctx=ctx, agent=agent, draft=draft, actor=actor, now=now)
    else:
        card = card_data(session, draft, agent)
        ctx.notifier.draft_changed(session=session, agent=agent, draft=card, now=now)
        record(session=session, actor=actor, verb="draft.edited" if verdict == "edit" else "draft.vote",
               subject=draft.card_key, now=now, details={"approvals": vote.approvals, "required": vote.required})
        data = {key: value for key, value in card.items() if key not in CARD_ONLY}
    return DecisionResult(draft=data, final=vote.final, approvals=vote.approvals, required=vote.required)


def cancel(*, ctx: AppContext, agent: Agent, draft_id: str, reason: str | None = None) -> dict[str, Any]:
    """The agent withdraws its pending draft; a decided one answers 409 saying who decided it."""
    with ctx.uow() as session:
        draft = service.get_agent_draft(session=session, agent=agent, draft_id=draft_id)
        now = ctx.clock.now()
        service.finish(session=session, draft=draft, status="cancelled", now=now, decided_by=[],
                       reason=reason or "cancelled by the agent")
        data = announce(session=session, ctx=ctx, agent=agent, draft=draft, actor=Actor.agent(agent.name), now=now)
    ctx.decision_wakeup.fire()
    return data


def read(*, ctx: AppContext, agent: Agent, draft_id: str) -> dict[str, Any]:
    with ctx.read() as session:
        draft = service.get_agent_draft(session=session, agent=agent, draft_id=draft_id)
        return service.to_public(session=session, draft=draft, agent_name=agent.name)


def permalink(*, session: Session, key: str) -> str | None:
    """A link to a posted card, or None while the outbox has not delivered it yet."""
    posted = slack_message(session=session, key=key)
    if posted is None:
        return None
    return f"https://slack.com/archives/{posted.channel}/p{posted.ts.replace('.', '')}"


def groups_with_pending(*, ctx: AppContext) -> set[str]:
    with ctx.read() as session:
        return service.groups_with_pending(session=session)


def pending_for(*, ctx: AppContext, user_id: str, groups: set[str]) -> list[dict[str, Any]]:
    """The pending drafts this person may decide, oldest first, each with a link to its card."""
    with ctx.read() as session:
        rows = service.pending_for(session=session, user_id=user_id, groups=groups)
        return [{**service.to_public(session=session, draft=d, agent_name=a.name),
                 "link": permalink(session=session, key=d.card_key)} for d, a in rows]
