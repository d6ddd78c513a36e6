"""The demo's agent and a fortnight of spend history, written straight through the services."""

from __future__ import annotations

from datetime import timedelta

from services.agents.models import AgentCreate
from services.agents.service import create_agent, require_agent
from services.audit.service import Actor
from services.context import AppContext
from services.db import require_id
from services.spend.periods import local_day
from services.spend.service import add_to_rollup

AGENT = "demo-quoter"
# Dollars per day for the 13 days before today, and what of it was wasted: enough for the charts to say something.
HISTORY = [(1.10, 0.0), (1.42, 0.12), (0.96, 0.0), (1.75, 0.31), (2.30, 0.45), (1.20, 0.05), (0.88, 0.0),
           (1.35, 0.10), (1.64, 0.0), (2.05, 0.22), (1.48, 0.0), (1.12, 0.09), (1.58, 0.14)]


def register(ctx: AppContext, *, owner: str, callback_url: str) -> tuple[str, str, str]:
    """The demo agent, owned and approved by the demo reviewer: (name, api key, webhook secret)."""
    data = AgentCreate(name=AGENT, owner=owner, approvers=[owner], callback_url=callback_url, draft_expiry_s=3600,
                       budgets=[{"period": "day", "limit_usd": 2.0, "on_exceed": "alert"},
                                {"period": "month", "limit_usd": 60.0, "on_exceed": "alert"}],
                       actions={"refund": {"high_risk": True}})
    with ctx.uow() as session:
        agent, issued = create_agent(session=session, data=data, actor=Actor.system("demo"), now=ctx.clock.now(),
                                     secret_key=ctx.secret_key)
        return agent.name, issued.api_key, issued.webhook_secret


def seed_history(ctx: AppContext, name: str) -> None:
    today = local_day(ctx.clock.now(), ctx.settings.tz)
    with ctx.uow() as session:
        agent = require_agent(session=session, name=name)
        for back, (cost, waste) in enumerate(reversed(HISTORY), start=1):
            add_to_rollup(session=session, agent_id=require_id(agent.id), model="gpt-4o-mini",
                          day=today - timedelta(days=back), cost=cost, waste=waste)
