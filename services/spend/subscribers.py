"""Spend reacts to drafts: a draft's cost counts as spend, and a rejected or expired draft's spend is waste."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.events import subscribe
from services.spend import flows


@subscribe("draft.created")
def count_draft_cost(*, session: Session, ctx: Any, agent: Any, draft: Any, **_: Any) -> None:
    flows.draft_cost(session=session, ctx=ctx, agent=agent, draft=draft)


@subscribe("draft.decided")
def count_waste(*, session: Session, ctx: Any, agent: Any, draft: Any, **_: Any) -> None:
    flows.draft_decided(session=session, ctx=ctx, agent=agent, draft=draft)
