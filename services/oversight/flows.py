"""Oversight side effects: the owner's change cards, answering them, canaries registered, the report read.

Callable without Slack (the API, the web app, the CLI and the bot all come through here):
- `register_prompt(session=, ctx=, agent=, data=) -> (status, ChangePublic)`   POST /v1/prompts
- `answer_change(ctx=, change_id=, user=, approve=, via=) -> str`   Approve / Reject version, any surface
- `change_for(ctx=, change_id=, viewer=) -> (ChangePublic, may_answer)` the web page
- `attach_replay(ctx=, agent=, action=, version=, summary=) -> bool`   an eval replay onto a pending card
- `replay_version(ctx=, agent_name=, action=, version=, limit=, model=)`  countersign evals replay
- `register_canary(session=, ctx=, name=, data=) -> CanaryPublic`    POST /v1/agents/{name}/canaries
- `oversight_report(ctx=, agent_name=, days=, agents=) -> Report`    CLI, API, web page, digest
- `on_draft_created(session=, ctx=, agent=, draft=)`                 reaction: a model the level was not earned on
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from services.access import Viewer, may_see
from services.agents.models import Agent
from services.agents.service import require_agent
from services.audit.refusals import refuse
from services.audit.service import Actor, record
from services.context import AppContext
from services.db import require_id
from services.errors import NotFound, Unavailable, field_error
from services.oversight import canaries, changes, replay, service
from services.oversight.models import CanaryCreate, CanaryPublic, Change, ChangePublic, PromptCreate, Report
from services.spend.models import INTERNAL_AGENT_ID, UsageCreate
from services.spend.service import record_usage

MAX_DAYS = 366
SYSTEM = Actor.system("oversight")


def register_prompt(*, session: Session, ctx: AppContext, agent: Agent, data: PromptCreate) -> tuple[int, ChangePublic]:
    """201 with a new version (and its card to the owner), 200 with the same version registered before."""
    now = ctx.clock.now()
    change, new = changes.register_prompt(session=session, agent=agent, action=data.action, version=data.version,
                                          text=data.text, now=now)
    if new:
        ctx.notifier.prompt_change(session=session, agent=agent, change=change, now=now)
        record(session=session, actor=Actor.agent(agent.name), verb="prompt.registered", subject=f"agent:{agent.name}",
               now=now, details={"action": data.action, "version": data.version,
                                 "base_version": change.base_version, "change": change.id})
    return (201 if new else 200), ChangePublic.of(change, agent_name=agent.name)


def on_draft_created(*, session: Session, ctx: AppContext, agent: Agent, draft: Any) -> None:
    """A draft of an auto action made with a model its level was not earned on: the owner's card, once."""
    if not draft.model or draft.is_canary:
        return
    now = ctx.clock.now()
    change = changes.open_model_change(session=session, agent=agent, action=draft.action,
                                       prompt_version=draft.prompt_version, model=draft.model, now=now)
    if change is None:
        return
    ctx.notifier.prompt_change(session=session, agent=agent, change=change, now=now)
    record(session=session, actor=SYSTEM, verb="model.change_opened", subject=f"agent:{agent.name}", now=now,
           details={"action": draft.action, "model": draft.model, "earned_with": change.base_version,
                    "draft": draft.id, "change": change.id})


def _agent(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id, populate_existing=True)
    if agent is None:
        raise NotFound("that agent no longer exists")
    return agent


def answer_change(*, ctx: AppContext, change_id: int, user: str, approve: bool, via: str | None = None) -> str:
    """Approve version / Reject version, from the owner, a backup owner or an admin; refusals are audited."""
    verb = "approve" if approve else "reject"
    with ctx.read() as session:
        change = changes.require(session=session, change_id=change_id)
        agent = _agent(session, change.agent_id)
        acting = changes.acting_as(session=session, agent=agent, user=user, admins=ctx.settings.admin_users,
                                   now=ctx.clock.now())
    if acting is None:
        raise refuse(ctx=ctx, user=user, verb="prompt.answer_refused", subject=f"agent:{agent.name}",
                     why=f"only {agent.name}'s owner <@{agent.owner}>, its backup owners or an admin can answer a "
                         f"{change.kind} change", details={"change": change_id, "verdict": verb,
                                                           **({"via": via} if via else {})})
    with ctx.uow() as session:
        now = ctx.clock.now()
        change = changes.require(session=session, change_id=change_id)
        change = changes.answer(session=session, change=change, agent=agent, user=user, approve=approve,
                                admins=ctx.settings.admin_users, now=now)
        ctx.notifier.prompt_change_updated(session=session, agent=agent, change=change, now=now)
        record(session=session, actor=Actor.slack_user(user), verb=f"{change.kind}.{change.status}",
               subject=f"agent:{agent.name}", now=now,
               details={"action": change.action, "version": change.version, "change": change.id,
                        **({"via": via} if via else {}), **({"as_delegate_of": acting} if acting != user else {})})
    what = f"prompt version {change.version}" if change.kind == "prompt" else f"model {change.version}"
    if approve:
        return f"Done: {what} of {change.action} is approved."
    return f"Done: {what} of {change.action} is rejected." + (
        " Drafts made with it are refused." if change.kind == "prompt" else " Its drafts keep going to review.")


def change_for(*, ctx: AppContext, change_id: int, viewer: Viewer) -> tuple[ChangePublic, bool] | None:
    """The change as the web page shows it, and whether this person may answer; None if they may not see it."""
    with ctx.read() as session:
        change = session.get(Change, change_id)
        agent = session.get(Agent, change.agent_id) if change else None
        if change is None or agent is None or not may_see(agent, viewer):
            return None
        allowed = changes.acting_as(session=session, agent=agent, user=viewer.user_id,
                                    admins=ctx.settings.admin_users, now=ctx.clock.now()) is not None
        return ChangePublic.of(change, agent_name=agent.name), allowed


def pending_changes(*, ctx: AppContext, viewer: Viewer) -> list[ChangePublic]:
    with ctx.read() as session:
        found = []
        for change in session.exec(select(Change).where(Change.status == changes.PENDING)):
            agent = session.get(Agent, change.agent_id)
            if agent is not None and may_see(agent, viewer):
                found.append(ChangePublic.of(change, agent_name=agent.name))
        return found


def attach_replay(*, ctx: AppContext, agent: Agent, action: str, version: str, summary: dict[str, Any]) -> bool:
    """Put an eval replay's figures on the version's card while it waits for its owner; False once answered."""
    with ctx.uow() as session:
        change = changes.get(session=session, agent_id=require_id(agent.id), action=action, kind=changes.PROMPT,
                             version=version)
        if change is None or change.status != changes.PENDING:
            return False
        change.replay = summary
        session.add(change)
        session.flush()
        now = ctx.clock.now()
        ctx.notifier.prompt_change_updated(session=session, agent=agent, change=change, now=now)
        record(session=session, actor=SYSTEM, verb="prompt.replayed", subject=f"agent:{agent.name}", now=now,
               details={"action": action, "version": version, "agreement": summary.get("agreement")})
        return True


def replay_version(*, ctx: AppContext, agent_name: str, action: str, version: str, limit: int,
                   model: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]], bool]:
    """`countersign evals replay`: the figures, one report row per draft, and whether the figures went onto the
    version's card (only while it waits for its owner). The API calls run outside any transaction."""
    from openai import OpenAIError

    if ctx.llm is None:
        raise Unavailable("OPENAI_API_KEY is not set: eval replay runs past drafts through the OpenAI API; set it "
                          "(and OPENAI_BASE_URL for another endpoint) and run again")
    with ctx.read() as session:
        agent = require_agent(session=session, name=agent_name)
        change = replay.prompt_text(session=session, agent_id=require_id(agent.id), action=action, version=version)
        if change is None or change.text is None:
            raise NotFound(f"no prompt version {version!r} of {action} is registered for {agent_name}; "
                           "the agent registers its text with POST /v1/prompts")
        found = replay.decided(session=session, agent_id=require_id(agent.id), action=action, limit=limit)
    summary, rows = replay.run(ctx.llm, text=change.text, drafts=found, model=model, error_types=(OpenAIError,))
    figures = {**summary.as_dict(), "version": version, "at": ctx.clock.now().isoformat()}
    if summary.tokens["input"] or summary.tokens["output"]:  # Countersign's own calls, counted like an agent's
        usage = UsageCreate(model=summary.model[:128], provider="openai", input_tokens=summary.tokens["input"],
                            output_tokens=summary.tokens["output"],
                            cached_tokens=min(summary.tokens["cached"], summary.tokens["input"]),
                            request_id=f"replay:{change.id}:{figures['at']}"[:128])
        with ctx.uow() as session:
            record_usage(session=session, agent_id=INTERNAL_AGENT_ID, data=usage, now=ctx.clock.now(),
                         tz=ctx.settings.tz)
    attached = attach_replay(ctx=ctx, agent=agent, action=action, version=version, summary=figures)
    return figures, rows, attached


def register_canary(*, session: Session, ctx: AppContext, name: str, data: CanaryCreate) -> CanaryPublic:
    agent = require_agent(session=session, name=name)
    return canaries.register(session=session, agent=agent, data=data, actor=Actor.admin(), now=ctx.clock.now())


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise field_error("days", f"must be between 1 and {MAX_DAYS}")
    return days


def oversight_report(*, ctx: AppContext, agent_name: str | None = None, days: int = 30,
                     agents: list[Agent] | None = None) -> Report:
    """Every agent's (or `agents`', or one named agent's) reviewers over the last `days`."""
    check_days(days)
    with ctx.read() as session:
        if agent_name:
            agents = [require_agent(session=session, name=agent_name)]
        return service.report(session=session, now=ctx.clock.now(), days=days, agents=agents)
