"""POST /v1/drafts on the write path: decide outside the writer, then a few inserts inside it.

`plan` reads what decides the route (the agent's policy, its earned level, an open critical incident) from
small caches (services.cache: dropped by any local commit that writes those tables, else kept 1 s) and
decides the route, or nothing. The common case, a draft for people to review, then needs only
`recording.record_created` in the transaction (the same helper the full path uses): check the agent is unchanged
(StaleRead otherwise), insert the draft, its card's outbox row and its audit entry, and publish
`draft.created`.

Why a stale read can't let a draft through that should not pass: a route that skips people (auto) or refuses
the draft (deny), and a level that has never been seen, are decided again inside the transaction by the full
`flows.create_draft`. A stale cache can only send a draft to review that the exact reads would also have sent
to review, at worst without the "open critical incident" reason on its card for up to a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.agents import cache as agent_cache
from services.agents.models import AgentSnapshot
from services.autonomy import service as levels
from services.context import AppContext
from services.drafts import flows, recording, service
from services.drafts.models import DraftCreate
from services.drafts.routing import Route, guard_reasons, incident_guard, oversight_reasons
from services.errors import Forbidden
from services.http.problems import error_body

Created = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Plan:
    agent: AgentSnapshot
    request: DraftCreate
    now: datetime
    route: Route | None  # review, with its reasons; None: decide the route inside the write


def plan(*, ctx: AppContext, agent: AgentSnapshot, request: DraftCreate) -> Plan:
    now = ctx.clock.now()
    if agent.policy_for(request.action).autonomy == "deny":
        return Plan(agent, request, now, None)
    critical = ctx.caches.cache("drafts.critical", "incidents")
    known_levels = ctx.caches.cache("drafts.levels", "autonomy_states", "autonomy_actions")
    with ctx.read() as session:
        reasons = guard_reasons(agent=agent, request=request) + critical.get(
            agent.id, lambda: incident_guard(session=session, agent=agent))
        level = known_levels.get((agent.id, request.action, request.prompt_version), lambda: levels.peek_level(
            session=session, agent=agent, action=request.action, prompt_version=request.prompt_version))
        reasons += oversight_reasons(session=session, caches=ctx.caches, agent=agent, request=request,
                                     level=level)  # routing's rule
    if level is None or (level == "auto" and not reasons):
        return Plan(agent, request, now, None)
    return Plan(agent, request, now, Route("review", reasons))


def unit(*, session: Session, ctx: AppContext, plan: Plan) -> Created:
    """The write: a planned review draft, or the whole decision made inside the transaction."""
    agent = agent_cache.in_session(session=session, agent=plan.agent)
    if plan.route is None:
        try:
            created = flows.create_draft(session=session, ctx=ctx, agent=agent, request=plan.request)
            return 201, created.model_dump(mode="json")
        except Forbidden as denied:
            # A denial is an answer, not a failure: what routing recorded about it commits, and a retry with
            # the same Idempotency-Key gets the same 403.
            return denied.status, error_body(denied)
    draft = service.build_draft(agent=agent, request=plan.request, route=plan.route, now=plan.now,
                                remind_fraction=ctx.settings.draft_reminder_at)
    posted = recording.record_created(session=session, ctx=ctx, agent=agent, draft=draft, route=plan.route,
                                      now=plan.now)
    assert posted is not None  # a review route always has a card
    return 201, posted.public().model_dump(mode="json")
