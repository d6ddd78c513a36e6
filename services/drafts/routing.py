"""Where a new draft goes: to people (review), straight through (auto), or nowhere (deny).

This is the single seam the autonomy domain extends. Guards here only ever force review: a draft that costs
more than the agent's per-request limit, or is less confident than its action's floor, is shown to a person
whatever autonomy would otherwise allow, and the card says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlmodel import Session

from services.agents.models import Agent
from services.autonomy import flows as autonomy
from services.autonomy import service as levels
from services.db import require_id
from services.drafts.models import DraftCreate
from services.incidents.service import has_open_critical
from services.oversight.changes import review_reasons as oversight_reasons

Mode = Literal["review", "auto", "deny"]


@dataclass
class Route:
    mode: Mode
    reasons: list[str] = field(default_factory=list)


def guard_reasons(*, agent: Agent, request: DraftCreate) -> list[str]:
    """Why this draft must be seen by a person regardless of autonomy (empty: no guard tripped)."""
    reasons = []
    limit = agent.max_cost_per_request_usd
    if limit is not None and request.cost_usd is not None and request.cost_usd > limit:
        reasons.append(f"cost ${request.cost_usd:.4f} is over the agent's per-request limit of ${limit:.4f}")
    floor = agent.policy_for(request.action).confidence_floor
    if floor is not None and request.confidence is not None and request.confidence < floor:
        reasons.append(f"confidence {request.confidence:.2f} is under the floor of {floor:.2f} for {request.action}")
    return reasons


def incident_guard(*, session: Session, agent: Agent) -> list[str]:
    """An agent with an open critical incident has every draft seen by a person until it is resolved."""
    if has_open_critical(session=session, agent_id=require_id(agent.id)):
        return [f"{agent.name} has an open critical incident"]
    return []


def route_draft(*, session: Session, ctx: Any, agent: Agent, request: DraftCreate) -> Route:
    """`deny` refuses the draft (and opens a policy_violation incident); otherwise the level earned for this
    (action, prompt version) decides, unless a guard forces review. A new prompt version starts at review."""
    guards = guard_reasons(agent=agent, request=request)
    if agent.policy_for(request.action).autonomy == "deny":
        reason = f"action {request.action!r} is denied for agent {agent.name!r} by policy"
        autonomy.report_denied(session=session, ctx=ctx, agent=agent, action=request.action, reason=reason)
        return Route("deny", [reason])
    guards += incident_guard(session=session, agent=agent)
    level = levels.level_for(session=session, agent=agent, action=request.action,
                             prompt_version=request.prompt_version, now=ctx.clock.now())
    # Oversight: a prompt version awaiting its owner (or a model the level was not earned on) goes to review;
    # a rejected prompt version is refused (409).
    guards += oversight_reasons(session=session, caches=ctx.caches, agent=agent, request=request, level=level)
    if level == "auto" and not guards:
        return Route("auto")
    return Route("review", guards)
