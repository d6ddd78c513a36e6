"""/app/digests: the digest Slack would get, read in the web app with its chart: one agent's for whoever sees it,
every agent's for admins; refusals audited; nothing sent."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from services.agents.service import require_agent
from services.outbox.models import OutboxMessage
from services.spend.periods import local_day
from services.spend.service import add_to_rollup
from tests.harness import CAROL, OWNER, Harness
from tests.web.helpers import audited, signed_in


def test_the_digest_page_shows_the_digest_with_its_chart(h: Harness) -> None:
    """The owner reads quoter's digest of yesterday (the chart inline, under the pages' CSP); another agent's is a
    404, audited; an admin reads every agent's; a bad period is a 400."""
    h.register("quoter", budgets=[{"period": "day", "limit_usd": 2}])
    h.register("zeta", owner=CAROL, backup_owners=[], approvers=[CAROL])
    yesterday = local_day(h.ctx.clock.now(), h.ctx.settings.tz) - timedelta(days=1)
    with h.ctx.uow() as session:
        for name, cost in (("quoter", 1.5), ("zeta", 0.5)):
            add_to_rollup(session=session, agent_id=require_agent(session=session, name=name).id or 0,
                          model="gpt-4o-mini", day=yesterday, cost=cost, waste=0.0)
    owner = signed_in(h, OWNER)
    page = owner.get("/app/digests")
    assert page.status_code == 200, page.text
    assert f"Countersign digest: {yesterday.isoformat()}, agent quoter" in page.text
    assert "quoter: $1.50 of $2.00 (75%) new" in page.text and "zeta" not in page.text
    assert '<img class="chart" src="data:image/png;base64,iVBOR' in page.text
    assert "img-src 'self' data:" in page.headers["content-security-policy"]
    week = owner.get("/app/digests?period=week&so_far=1&agent=quoter")
    assert week.status_code == 200 and ", so far (to " in week.text
    assert owner.get("/app/digests?agent=zeta").status_code == 404
    assert owner.get("/app/digests?period=year").status_code == 400
    assert [e.subject for e in audited(h, "digest.view_refused", actor=OWNER)] == ["agent:zeta"]
    h.ctx.settings.admin_users = [CAROL]
    everyone = signed_in(h, CAROL).get("/app/digests?agent=")
    assert everyone.status_code == 200 and "quoter: $1.50" in everyone.text and "zeta: $0.50" in everyone.text
    assert f"Countersign digest: {yesterday.isoformat()}</h2>" in everyone.text
    with h.ctx.read() as session:
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == 0
