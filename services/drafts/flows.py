"""Draft side effects: the card, the callback and the audit in the transaction that decides; the domain events
it publishes are wired in services/wiring.py (what reacts to a decision runs after it commits).

Callable without Slack (autonomy, incidents and the benchmark use them directly):
- `create_draft(session=, ctx=, agent=, request=) -> DraftPublic`  store, route, post the card (Forbidden on deny)
- `decide(ctx=, draft_id=, user_id=, verdict="approve"|"edit"|"reject", final_body=, reason=, is_group_member=,
  revision=) -> DecisionResult`                              one person's decision, quorum counted
- `cancel(ctx=, agent=, draft_id=, reason=) -> DraftPublic`  the agent withdraws a pending draft
- `read(ctx=, agent=, draft_id=) -> DraftPublic`             what polling returns (the callback's `data` too)
- `deciders(ctx=, draft_id=)`, `check_decider(...)`          for the chat layer, before it calls `decide`
- `pending_for(ctx=, user_id=, groups=) -> list[DraftCard]`  what `/countersign pending` lists
- `list_drafts(ctx=, agent=, status=, action=, limit=, cursor=)` GET /v1/drafts and `countersign drafts list`
- `announce(session=, ctx=, agent=, draft=, actor=, now=)`    the effects of reaching a final status (jobs use it)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import Session, select

from services.agents.models import Agent
from services.audit.refusals import refuse
from services.audit.service import Actor, record
from services.context import AppContext
from services.drafts import listing, service
from services.drafts.models import PENDING, Draft, DraftCard, DraftCreate, DraftList, DraftPublic, card
from services.drafts.routing import route_draft
from services.errors import Forbidden, NotFound, field_error
from services.outbox.service import enqueue_callback, posting, slack_message
from services.oversight import canaries

Verdict = Literal["approve", "reject", "edit"]
REASON_MAX = 2000  # what the reject modal allows


@dataclass(frozen=True)
class DecisionResult:
    draft: DraftPublic  # the draft after the decision
    final: bool  # False: an approval was counted but quorum is not reached yet
    approvals: int
    required: int
    notice: str | None = None  # oversight: a canary's decider is told at once what it was (oversight.canaries)

    @property
    def message(self) -> str:
        if self.notice:
            return self.notice
        if self.final:
            return f"Done: the draft is {service.status_words(self.draft.status)}."
        return f"Your approval is recorded: {self.approvals} of {self.required} approvals."


@dataclass(frozen=True)
class Deciders:
    agent_name: str
    approvers: list[str]
    approver_groups: list[str]
    card_channel: str | None  # where the card landed, so a click can be checked against it
    card_ts: str | None
    card_posting: bool = False  # the card is on its way (or posted, not yet recorded)


def agent_of(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("the draft's agent no longer exists")
    return agent


def card_data(session: Session, draft: Draft, agent: Agent, *, fresh: bool = False,
              link: str | None = None) -> DraftCard:
    """The public draft plus what only the card needs: the text under review, whether it is JSON.
    `fresh`: a draft just stored has no votes, so there is nothing to look up."""
    approved_by = [] if fresh else service.approvers_of(session=session, draft_id=draft.id)
    return card(draft, agent_name=agent.name, approved_by=approved_by, link=link)


def create_draft(*, session: Session, ctx: AppContext, agent: Agent, request: DraftCreate) -> DraftPublic:
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
    ctx.events.publish("draft.created", session=session, ctx=ctx, agent=agent, draft=draft)
    if route.mode != "auto":
        posted = card_data(session, draft, agent, fresh=True)
        ctx.notifier.draft_posted(session=session, agent=agent, draft=posted, now=now)
    # A plain INSERT in this transaction: no lock is taken; the sealer job chains the entry after it commits.
    record(session=session, actor=Actor.agent(agent.name), verb="draft.created", subject=draft.card_key, now=now,
           details={"action": draft.action, "route": route.mode, "reasons": route.reasons,
                    "approvals_required": draft.approvals_required})
    if route.mode == "auto":
        # No card: earned autonomy means people aren't asked; the autonomy domain posts its audit samples.
        return announce(session=session, ctx=ctx, agent=agent, draft=draft, actor=Actor.system("autonomy"),
                        now=now, post_card=False)
    return posted.public()


def announce(*, session: Session, ctx: AppContext, agent: Agent, draft: Draft, actor: Actor, now: datetime,
             post_card: bool = True, via: str | None = None) -> DraftPublic:
    """A draft reached a final status: publish `draft.decided`, update the card, call the agent back, audit it.
    A canary (oversight) does neither of the first and third: nothing derived from it, nothing to the agent."""
    if not draft.is_canary:
        ctx.events.publish("draft.decided", session=session, ctx=ctx, agent=agent, draft=draft)
    if post_card:
        ctx.notifier.draft_changed(session=session, agent=agent, draft=card_data(session, draft, agent), now=now)
    data = service.to_public(session=session, draft=draft, agent_name=agent.name)
    if agent.callback_url and not draft.is_canary:
        enqueue_callback(session=session, agent_id=agent.id or 0, url=agent.callback_url, event="draft.decided",
                         data=data.model_dump(mode="json"), now=now, order_key=f"callback:{draft.card_key}")
    record(session=session, actor=actor, verb=f"draft.{draft.status}", subject=draft.card_key, now=now,
           details={"decided_by": draft.decided_by, "reason": draft.reason, **({"via": via} if via else {})})
    return data


def deciders(*, ctx: AppContext, draft_id: str) -> Deciders:
    """Who may decide this draft and where its card is, so the chat layer can resolve user groups and check a
    click's origin before calling `decide`."""
    with ctx.read() as session:
        agent = agent_of(session, service.get_draft(session=session, draft_id=draft_id).agent_id)
        posted = slack_message(session=session, key=f"draft:{draft_id}")
        return Deciders(agent.name, agent.deciders(), list(agent.approver_groups),
                        posted.channel if posted else None, posted.ts if posted else None,
                        posted is None and posting(session=session, key=f"draft:{draft_id}"))


def _pending_for_decision(session: Session, draft_id: str, user_id: str, verdict: str,
                          is_group_member: bool) -> tuple[Draft, Agent, Forbidden | None]:
    """The draft, its agent, and why this person may not decide it (None: they may). Decided: AlreadyDecided."""
    draft = service.get_draft(session=session, draft_id=draft_id)
    agent = agent_of(session, draft.agent_id)
    try:
        service.check_may_decide(agent=agent, draft=draft, user_id=user_id, verdict=verdict,
                                 is_group_member=is_group_member)
    except Forbidden as refusal:
        # Only those who may decide learn how a decided draft ended and who decided it.
        return draft, agent, refusal if draft.status == PENDING else Forbidden("you can't decide this draft")
    if draft.status != PENDING:
        raise service.already_decided(draft)
    return draft, agent, None


def check_decider(*, ctx: AppContext, draft_id: str, user_id: str, verdict: Verdict,
                  is_group_member: bool) -> DraftCard:
    """Before opening a modal: may this person decide, and is it still pending? Refusals are audited."""
    with ctx.read() as session:
        draft, agent, refusal = _pending_for_decision(session, draft_id, user_id, verdict, is_group_member)
        card = card_data(session, draft, agent)
    if refusal is not None:
        _audit_refusal(ctx, draft, user_id, verdict, refusal)
    return card


def decide(*, ctx: AppContext, draft_id: str, user_id: str, verdict: Verdict, final_body: str | None = None,
           reason: str | None = None, is_group_member: bool = False, revision: int | None = None,
           via: str | None = None) -> DecisionResult:
    """A person's decision. `revision` (from the card's button) refuses approving text edited since it was
    shown; None skips that check. `via` names a way other than a Slack click (e.g. "cli") in the audit entry.
    Raises Forbidden, AlreadyDecided, Conflict or ValidationFailed."""
    if verdict not in ("approve", "reject", "edit"):
        raise field_error("verdict", "must be approve, reject or edit")
    if verdict == "reject" and not (reason or "").strip():
        raise field_error("reason", "a rejection needs a reason")
    if reason is not None and len(reason.strip()) > REASON_MAX:  # the modal's limit, held on every path
        raise field_error("reason", f"at most {REASON_MAX:,} characters")
    if verdict == "edit" and final_body is None:
        raise field_error("final_body", "an edit needs the edited text")
    with ctx.uow() as session:
        draft, agent, refusal = _pending_for_decision(session, draft_id, user_id, verdict, is_group_member)
        if refusal is None:
            result = _apply(session, ctx, agent, draft, user_id, verdict, final_body, reason, revision, via)
    if refusal is not None:
        _audit_refusal(ctx, draft, user_id, verdict, refusal, via)
    ctx.decision_wakeup.fire()
    return result


def _audit_refusal(ctx: AppContext, draft: Draft, user_id: str, verdict: str, refusal: Forbidden,
                   via: str | None = None) -> None:
    """Record who was refused (services.audit.refusals: a transaction of its own), then raise the refusal."""
    raise refuse(ctx=ctx, user=user_id, verb="draft.decision_refused", subject=draft.card_key, why=refusal.detail,
                 details={"verdict": verdict, **({"via": via} if via else {})}, error=refusal)


def _apply(session: Session, ctx: AppContext, agent: Agent, draft: Draft, user_id: str, verdict: str,
           final_body: str | None, reason: str | None, revision: int | None, via: str | None) -> DecisionResult:
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
        vote = service.approve(session=session, draft=draft, user_id=user_id, now=now, revision=revision,
                               reason=(reason or "").strip() or None)
    if vote.final:
        data = announce(session=session, ctx=ctx, agent=agent, draft=draft, actor=actor, now=now, via=via)
    else:
        changed = card_data(session, draft, agent)
        ctx.notifier.draft_changed(session=session, agent=agent, draft=changed, now=now)
        record(session=session, actor=actor, verb="draft.edited" if verdict == "edit" else "draft.vote",
               subject=draft.card_key, now=now, details={"approvals": vote.approvals, "required": vote.required,
                                                          **({"via": via} if via else {})})
        data = changed.public()
    notice = canaries.on_decision(session=session, draft=draft, user_id=user_id, verdict=verdict, now=now)
    return DecisionResult(draft=data, final=vote.final, approvals=vote.approvals, required=vote.required,
                          notice=notice)


def cancel(*, ctx: AppContext, agent: Agent, draft_id: str, reason: str | None = None) -> DraftPublic:
    """The agent withdraws its pending draft; a decided one answers 409 saying who decided it."""
    with ctx.uow() as session:
        draft = service.get_agent_draft(session=session, agent=agent, draft_id=draft_id)
        now = ctx.clock.now()
        service.finish(session=session, draft=draft, status="cancelled", now=now, decided_by=[],
                       reason=reason or "cancelled by the agent")
        data = announce(session=session, ctx=ctx, agent=agent, draft=draft, actor=Actor.agent(agent.name), now=now)
    ctx.decision_wakeup.fire()
    return data


def read(*, ctx: AppContext, agent: Agent, draft_id: str) -> DraftPublic:
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


def pending_for(*, ctx: AppContext, user_id: str, groups: set[str]) -> list[DraftCard]:
    """The pending drafts this person may decide, oldest first, each with a link to its card."""
    with ctx.read() as session:
        rows = service.pending_for(session=session, user_id=user_id, groups=groups)
        return [card(d, agent_name=a.name, approved_by=service.approvers_of(session=session, draft_id=d.id),
                     link=permalink(session=session, key=d.card_key)) for d, a in rows]


def list_drafts(*, ctx: AppContext, agent: Agent | None, status: str | None = None, action: str | None = None,
                limit: int = listing.DEFAULT_LIMIT, cursor: str | None = None) -> DraftList:
    """`GET /v1/drafts` (one agent's) and `countersign drafts list` (agent None: every agent's), newest first:
    a DraftList. Read-only: never waits for the writer."""
    with ctx.read() as session:
        agents = {agent.id or 0: agent} if agent else {a.id or 0: a for a in session.exec(select(Agent))}
        rows, next_cursor = listing.page(session=session, agent_ids=[agent.id or 0] if agent else None,
                                         status=status, action=action, limit=limit, cursor=cursor)
        return DraftList(data=listing.as_public(session=session, drafts=rows, agents=agents), next_cursor=next_cursor)
