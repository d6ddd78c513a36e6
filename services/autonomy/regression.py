"""Prompt-version (and model) regressions: is a new version's approval rate clearly worse than the one before?

"Clearly" means a one-sided two-proportion z-test at p < 0.01 with at least 20 decisions on each side, so a
few unlucky rejections on a small sample never page anyone. Each pair of versions is reported once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from services.autonomy.models import APPROVED, EDITED, AutonomyEvidence, AutonomyRegression
from services.autonomy.service import _insert_once, shown_version
from services.autonomy.stats import Comparison, worse_than

MIN_DECISIONS = 20
ALPHA = 0.01
DIMENSIONS = ("prompt_version", "model")


@dataclass(frozen=True)
class Figures:
    value: str
    decisions: int
    approved: int  # approved as is or with edits


@dataclass(frozen=True)
class Finding:
    dimension: str
    old: Figures
    new: Figures
    comparison: Comparison

    def as_dict(self) -> dict[str, Any]:
        c = self.comparison
        return {"dimension": self.dimension, "p_value": round(c.p_value, 6), "z": c.z, "alpha": ALPHA,
                "test": "one-sided two-proportion z-test",
                "old": {"version": shown_version(self.old.value), "decisions": c.old_n, "approved": c.old_ok,
                        "approval_rate": round(c.old_rate, 4)},
                "new": {"version": shown_version(self.new.value), "decisions": c.new_n, "approved": c.new_ok,
                        "approval_rate": round(c.new_rate, 4)}}


def figures(*, session: Session, agent_id: int, action: str, dimension: str) -> list[Figures]:
    """Each version's totals, in the order the versions first appeared."""
    column = getattr(AutonomyEvidence, dimension)
    ok = func.sum(case((col(AutonomyEvidence.outcome).in_((APPROVED, EDITED)), 1), else_=0))
    rows = session.exec(select(column, func.count(), ok, func.min(AutonomyEvidence.id)).where(
        AutonomyEvidence.agent_id == agent_id, AutonomyEvidence.action == action,
    ).group_by(column).order_by(func.min(AutonomyEvidence.id))).all()
    return [Figures(value, int(n), int(approved or 0)) for value, n, approved, _ in rows]


def check(*, session: Session, agent_id: int, action: str, dimension: str, value: str) -> Finding | None:
    """Compare `value` with the version that came just before it; a Finding only for a significant drop."""
    seen = figures(session=session, agent_id=agent_id, action=action, dimension=dimension)
    position = next((i for i, f in enumerate(seen) if f.value == value), None)
    if not position:  # unknown, or the first version: nothing to compare with
        return None
    old, new = seen[position - 1], seen[position]
    if old.decisions < MIN_DECISIONS or new.decisions < MIN_DECISIONS:
        return None
    comparison = worse_than(old_ok=old.approved, old_n=old.decisions, new_ok=new.approved, new_n=new.decisions)
    if comparison.p_value >= ALPHA:
        return None
    return Finding(dimension, old, new, comparison)


def claim(*, session: Session, agent_id: int, action: str, finding: Finding,
          now: datetime) -> AutonomyRegression | None:
    """The alert row for this pair, or None when the pair was already reported."""
    row = AutonomyRegression(agent_id=agent_id, action=action, dimension=finding.dimension, old=finding.old.value,
                             new=finding.new.value, figures=finding.as_dict(), created_at=now)
    return row if _insert_once(session, row) else None
