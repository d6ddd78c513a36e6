"""Draft side effects: the card, the callback and the audit in the transaction that decides; the domain events
it publishes are wired in services/wiring.py (what reacts to a decision runs after it commits).

Callable without Slack (autonomy, incidents and the benchmark use them directly):
- `create_draft(session=, ctx=, agent=, request=) -> DraftPublic`  store, route, post the card (Forbidden on deny)
- `decide(ctx=, draft_id=, user_id=, verdict="approve"|"edit"|"reject", final_body=, reason=, revision=, via=)
  -> DecisionResult                                          one person's decision: the one entry point
- `cancel(ctx=, agent=, draft_id=, reason=) -> DraftPublic`  the agent withdraws a pending draft
- `read(ctx=, agent=, draft_id=) -> DraftPublic`             what polling returns (the callback's `data` too)
- `check_decider(...)`                                       for the chat layer, before it opens a modal
- `announce(session=, ctx=, agent=, draft=, actor=, now=)`    the effects of reaching a final status (jobs use it)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NoReturn

from sqlmodel import Session

from services import directory
from services.agents.models import Agent
from services.audit.refusals import refuse
from services.audit.service import Actor, record
from services.context import AppContext
from services.db import require_id
from services.drafts import delegation, rules, service, stages
from services.drafts.models import (
    PENDING,
    Draft,
    DraftCard,
    DraftCreate,
    DraftPublic,
    DraftStatus,
    draft_key,
)
from services.drafts.recording import card_data, record_created
from services.drafts.routing import route_draft
from services.drafts.rules import Verdict
from services.errors import Conflict, CountersignError, Forbidden, NotFound
from services.outbox.service import enqueue_callback
from services.oversight import canaries
from services.people import service as people

REASON_MAX = rules.REASON_MAX
REFUSED_VERB = "draft.decision_refused"  # not allowed to decide
CONFLICT_VERB = "draft.decision_conflict"  # allowed, but too late, a second vote, or text edited since shown


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


def agent_of(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("the draft's agent no longer exists")
    return agent


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
        draft.status, draft.decided_at, draft.remind_at = "auto_approved", now, None
        draft.escalate_at = None
    posted = record_created(session=session, ctx=ctx, agent=agent, draft=draft, route=route, now=now)
    if posted is None:
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
    if agent.callback_url and not draft.is_canary:  # a canary reaches no agent
        enqueue_callback(session=session, agent_id=require_id(agent.id, "agent"), url=agent.callback_url,
                         event="draft.decided", data=data.model_dump(mode="json"), now=now,
                         order_key=f"callback:{draft.card_key}")
    record(session=session, actor=actor, verb=f"draft.{draft.status}", subject=draft.card_key, now=now,
           details={"decided_by": draft.decided_by, "reason": draft.reason, **({"via": via} if via else {})})
    return data


@dataclass(frozen=True)
class Asked:
    """What the directory says of a person before their decision's transaction: the draft's approver groups
    they are in, the groups it could not be asked about (chat off), and the away people they stand in for."""

    groups: frozenset[str] = frozenset()
    unasked: list[str] = field(default_factory=list)
    found: delegation.StandIns = field(default_factory=dict)


def ask_about(*, ctx: AppContext, draft_id: str, user_id: str) -> Asked:
    """One read gathers whom to ask about (nothing for the people named as deciders); the directory is asked after
    it, outside any transaction (a chat lookup may take a moment; no write lock is held meanwhile). One read, not
    one per question: each statement of a click's path waits for the GIL behind busy agent threads."""
    with ctx.read() as session:
        draft = service.get_draft(session=session, draft_id=draft_id)
        agent = agent_of(session, draft.agent_id)
        if rules.named_decider(agent, draft, user_id):
            return Asked()
        wanted = rules.approver_groups(agent, draft)
        absent = people.stands_in_for(session=session, user_id=user_id, now=ctx.clock.now())
    unasked = [] if directory.directory_of(ctx).available else wanted
    return Asked(directory.groups_of(ctx, user_id, wanted), unasked, delegation.ask_for(ctx, absent, wanted))


def _pending_for_decision(session: Session, draft_id: str, user_id: str, verdict: str, groups: frozenset[str],
                          unasked: list[str], found: delegation.StandIns | None = None,
                          ) -> tuple[Draft, Agent, Forbidden | None, str | None]:
    """The draft, its agent, why this person may not decide it (None: they may) and whom they decide for when
    only as someone's delegate. Decided: AlreadyDecided."""
    draft = service.get_draft(session=session, draft_id=draft_id)
    agent = agent_of(session, draft.agent_id)
    refusal = rules.refusal(agent=agent, draft=draft, user_id=user_id, verdict=verdict, groups=groups)
    absent = None
    if refusal is not None and found:
        absent = delegation.acting_for(agent=agent, draft=draft, user_id=user_id, verdict=verdict, found=found)
        refusal = None if absent else refusal
    if refusal is not None:
        if unasked and refusal.extra is None:
            refusal.extra = {"unchecked_groups": unasked}  # the directory could not be asked (chat off)
        # Only those who may decide learn how a decided draft ended and who decided it.
        refused = refusal if draft.status == PENDING else Forbidden("you can't decide this draft")
        return draft, agent, refused, None
    if draft.status != PENDING:
        raise service.already_decided(draft)
    return draft, agent, None, absent


def check_decider(*, ctx: AppContext, draft_id: str, user_id: str, verdict: Verdict) -> DraftCard:
    """Before opening a modal: may this person decide, and is it still pending? Refusals are audited."""
    asked = ask_about(ctx=ctx, draft_id=draft_id, user_id=user_id)
    with ctx.read() as session:
        draft, agent, refusal, _ = _pending_for_decision(session, draft_id, user_id, verdict, asked.groups, [],
                                                         asked.found)
        found = card_data(session, draft, agent)
    if refusal is not None:
        _audit_refusal(ctx, draft, user_id, verdict, refusal)
    return found


def decide(*, ctx: AppContext, draft_id: str, user_id: str, verdict: Verdict, final_body: str | None = None,
           reason: str | None = None, revision: int | None = None, via: str | None = None,
           stage: int | None = None) -> DecisionResult:
    """One person's decision, from any surface: the flow settles who may decide (asking the group directory),
    every rule of rules.py, quorum and races. `revision` (what the person was shown) refuses approving text
    edited since; None skips that check. `via` names a way other than a Slack click (e.g. "cli", "web") in the
    audit. `stage`: the stage the person was shown; once it passed, the decision is refused rather than counted
    for the next. Raises Forbidden, AlreadyDecided, Conflict or ValidationFailed; each refusal is audited."""
    kept_reason = rules.check_request(verdict=verdict, final_body=final_body, reason=reason)
    asked = ask_about(ctx=ctx, draft_id=draft_id, user_id=user_id)
    try:
        with ctx.uow() as session:
            draft, agent, refusal, absent = _pending_for_decision(session, draft_id, user_id, verdict, asked.groups,
                                                                  asked.unasked, asked.found)
            if stage is not None and draft.stage_index != stage:
                raise service.stage_passed(draft, stage)
            if refusal is None:
                if verdict == "edit":
                    rules.check_edit(text=final_body or "", is_json=draft.body_is_json)
                if absent is not None and verdict != "reject":
                    delegation.check_one_stage(session=session, draft=draft, absent=absent)
                result = _apply(session, ctx, agent, draft, user_id, verdict, final_body, kept_reason, revision, via)
                if absent is not None:
                    delegation.audit(session=session, user_id=user_id, absent=absent, subject=draft.card_key,
                                     action=f"draft.{verdict}", now=ctx.clock.now())
    except Conflict as lost:  # too late, a second vote, or stale text: the person is told, and it is recorded
        _audit_refusal(ctx, draft_key(draft_id), user_id, verdict, lost, via, verb=CONFLICT_VERB)
    if refusal is not None:
        _audit_refusal(ctx, draft.card_key, user_id, verdict, refusal, via)
    ctx.decision_wakeup.fire()
    return result


def _audit_refusal(ctx: AppContext, subject: str | Draft, user_id: str, verdict: str, refusal: CountersignError,
                   via: str | None = None, *, verb: str = REFUSED_VERB) -> NoReturn:
    """Record who was refused (services.audit.refusals: a transaction of its own), then raise the refusal."""
    key = subject.card_key if isinstance(subject, Draft) else subject
    raise refuse(ctx=ctx, user=user_id, verb=verb, subject=key, why=refusal.detail,
                 details={"verdict": verdict, "status": refusal.status, **({"via": via} if via else {})},
                 error=refusal)


def _apply(session: Session, ctx: AppContext, agent: Agent, draft: Draft, user_id: str, verdict: str,
           final_body: str | None, reason: str | None, revision: int | None, via: str | None) -> DecisionResult:
    now = ctx.clock.now()
    actor = Actor.slack_user(user_id)
    if verdict == "reject":
        service.finish(session=session, draft=draft, status=DraftStatus.rejected, now=now, decided_by=[user_id],
                       reason=reason)
        vote = service.Vote(draft.approvals, draft.approvals_required, final=True)
    elif verdict == "edit":
        vote = service.edit(session=session, draft=draft, user_id=user_id, text=final_body or "", now=now,
                            revision=revision)
    else:
        vote = service.approve(session=session, draft=draft, user_id=user_id, now=now, revision=revision,
                               reason=reason)
    if vote.final:
        data = announce(session=session, ctx=ctx, agent=agent, draft=draft, actor=actor, now=now, via=via)
    else:
        changed = card_data(session, draft, agent)
        ctx.notifier.draft_changed(session=session, agent=agent, draft=changed, now=now)
        if vote.opened is not None:  # this approval passed a stage: the next one's card, once
            ctx.notifier.draft_stage_opened(session=session, agent=agent, draft=changed, now=now)
            record(session=session, actor=actor, verb="draft.stage_passed", subject=draft.card_key, now=now,
                   details={"passed": stages.of(draft)[vote.opened - 1]["name"],
                            "opened": stages.of(draft)[vote.opened]["name"], **({"via": via} if via else {})})
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
