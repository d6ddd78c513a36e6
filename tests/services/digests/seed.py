"""A seeded database with known answers for the digest of Sunday 2026-01-04 (UTC), read on Monday 09:00."""

from __future__ import annotations

from datetime import date, datetime, timezone

from services.drafts.models import Draft
from services.incidents.models import Incident
from services.spend.service import add_to_rollup
from tests.harness import Harness

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
SUNDAY, SATURDAY, MONDAY = date(2026, 1, 4), date(2026, 1, 3), date(2026, 1, 5)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=timezone.utc)


def seed(h: Harness) -> dict[str, int]:
    quoter = h.register("quoter", team="freight", budgets=[{"period": "day", "limit_usd": 10}])
    h.register("writer")
    assert h.client.put("/v1/budgets", headers=h.admin, json={"scope": "team", "team": "freight", "period": "day",
                                                              "limit_usd": 20}).status_code == 201
    assert h.client.post("/v1/agents/writer/pause", headers=h.admin, json={"reason": "tests"}).status_code == 200
    ids = {}
    with h.ctx.uow() as s:
        from services.agents.service import get_agent_by_name

        ids = {n: get_agent_by_name(session=s, name=n).id for n in ("quoter", "writer")}  # type: ignore[union-attr]
        q, w = ids["quoter"], ids["writer"]
        add_to_rollup(session=s, agent_id=q, model="gpt-4o-mini", day=SUNDAY, cost=6, waste=1.5, events=3)
        add_to_rollup(session=s, agent_id=q, model="gpt-4o", day=SUNDAY, cost=2, events=2, unknown=1)
        add_to_rollup(session=s, agent_id=w, model="gpt-4o", day=SUNDAY, cost=4, events=1)
        add_to_rollup(session=s, agent_id=q, model="gpt-4o-mini", day=SATURDAY, cost=4, events=1)
        add_to_rollup(session=s, agent_id=w, model="gpt-4o", day=SATURDAY, cost=4, events=1)
        add_to_rollup(session=s, agent_id=0, model="gpt-4o-mini", day=SUNDAY, cost=0.01, events=1)
        add_to_rollup(session=s, agent_id=q, model="gpt-4o-mini", day=MONDAY, cost=100, events=1)
        for status, created, decided in [("approved", at(4, 10), at(4, 10, 10)), ("edited", at(4, 11), at(4, 11, 30)),
                                         ("rejected", at(4, 12), at(4, 13)), ("auto_approved", at(4, 14), at(4, 14)),
                                         ("expired", at(3, 15), at(4, 15)), ("approved", at(3, 10), at(3, 10, 5)),
                                         ("pending", at(4, 20), None), ("pending", at(5, 8), None)]:
            s.add(Draft(agent_id=q, action="quote", title=f"{status} at {created:%d %H}", body="x", status=status,
                        created_at=created, decided_at=decided, expires_at=at(9, 0)))
        for created, acked, resolved, status in [(at(4, 1), at(4, 1, 10), at(4, 2), "resolved"),
                                                 (at(4, 5), at(4, 5, 30), None, "acknowledged"),
                                                 (at(4, 23), None, None, "triggered"),
                                                 (at(2, 0, 30), at(2, 1), at(4, 0, 30), "resolved")]:
            s.add(Incident(agent_id=q, agent_name="quoter", kind="anomaly", severity="high", summary="s",
                           status=status, acked_at=acked, resolved_at=resolved, opened_by="test", created_at=created,
                           updated_at=created, last_occurred_at=created))
    assert quoter
    return ids
