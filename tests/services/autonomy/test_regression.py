"""Prompt-version and model regressions: a real drop opens one `anomaly` incident with both versions' figures;
noise and small samples stay quiet. History is seeded as decided drafts announced through the real event."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from services.agents.models import Agent
from services.autonomy.stats import worse_than
from services.drafts.models import Draft
from services.incidents.models import Incident
from testkit.fakes.slack import FakeSlack
from tests.harness import Harness


def seed(h: Harness, *, version: str, approved: int, rejected: int, model: str = "gpt-4o") -> None:
    """Decided drafts of one version, approvals and rejections interleaved, each announced as `draft.decided`."""
    outcomes = spread(approved, rejected)
    with h.ctx.uow() as session:
        agent = session.exec(select(Agent).where(Agent.name == "quoter")).one()
        now = h.ctx.clock.now()
        for i, status in enumerate(outcomes):
            draft = Draft(agent_id=agent.id or 0, action="quote_freight_lane", title=f"{version} #{i}", body="EUR 1",
                          status=status, reason="wrong" if status == "rejected" else None, decided_by=["U078ALICE"],
                          decided_at=now, created_at=now - timedelta(minutes=5), expires_at=now + timedelta(days=1),
                          prompt_version=version, model=model)
            session.add(draft)
            session.flush()
            h.ctx.events.publish("draft.decided", session=session, ctx=h.ctx, agent=agent, draft=draft)


def spread(approved: int, rejected: int) -> list[str]:
    """Rejections spread evenly among approvals, so any prefix has a known mix."""
    n = approved + rejected
    return ["rejected" if (i + 1) * rejected // n != i * rejected // n else "approved" for i in range(n)]


def anomalies(h: Harness) -> list[Incident]:
    with h.ctx.read() as session:
        return list(session.exec(select(Incident).where(Incident.kind == "anomaly")).all())


def test_significance_test_separates_a_drop_from_noise() -> None:
    """90 % -> 40 % on 50/25 decisions is far below p = 0.01; 90 % -> 80 % is not; a rise never counts."""
    assert worse_than(old_ok=45, old_n=50, new_ok=10, new_n=25).p_value < 0.001
    assert worse_than(old_ok=45, old_n=50, new_ok=20, new_n=25).p_value > 0.05
    assert worse_than(old_ok=30, old_n=50, new_ok=24, new_n=25).p_value > 0.5
    assert worse_than(old_ok=20, old_n=20, new_ok=20, new_n=20).p_value == 1.0


def test_a_real_drop_opens_one_anomaly_with_both_versions(any_db_harness: Harness) -> None:
    """v1 at 90 % then v2 at 40 %: the alert comes as soon as v2 has 20 decisions, with both versions' figures
    side by side, and only once however many more v2 decisions follow."""
    h = any_db_harness
    h.register()
    seed(h, version="v1", approved=45, rejected=5)
    seed(h, version="v2", approved=10, rejected=15)
    found = anomalies(h)
    assert len(found) == 1
    figures = found[0].details["regression"]
    assert figures["old"] == {"version": "v1", "decisions": 50, "approved": 45, "approval_rate": 0.9}
    first20 = spread(10, 15)[:20].count("approved")
    assert figures["new"] == {"version": "v2", "decisions": 20, "approved": first20, "approval_rate": first20 / 20}
    assert figures["p_value"] < 0.01 and figures["dimension"] == "prompt_version"
    assert "v2" in found[0].summary and "v1" in found[0].summary and f"{first20 / 20:.0%}" in found[0].summary
    seed(h, version="v2", approved=0, rejected=5)
    assert len(anomalies(h)) == 1


def test_noise_and_small_samples_stay_quiet(harness: Harness) -> None:
    """90 % -> 80 % on 25 decisions is noise; 3 of 10 is too few decisions to judge; neither alerts."""
    h = harness
    h.register()
    seed(h, version="v1", approved=45, rejected=5)
    seed(h, version="v2", approved=20, rejected=5)
    seed(h, version="v3", approved=3, rejected=7)
    assert anomalies(h) == []


def test_a_new_model_is_compared_too(harness: Harness) -> None:
    """Same prompt version, new model with a clear drop: the alert names the models."""
    h = harness
    h.register()
    seed(h, version="v1", approved=48, rejected=2, model="gpt-4o")
    seed(h, version="v1", approved=8, rejected=17, model="tiny-model")
    found = anomalies(h)
    assert len(found) == 1 and found[0].details["regression"]["dimension"] == "model"
    assert found[0].details["regression"]["new"]["version"] == "tiny-model"


def test_a_regression_blames_the_new_version_only(sqlite_url: str, slack: FakeSlack) -> None:
    """v1 keeps the auto it holds when v2 regresses: the alert names v2, and only v2 would be demoted. (The
    incidents domain's agent-wide rejection-streak alert, which does demote the whole action, is set out of
    reach here.)"""
    with Harness(sqlite_url, slack=slack, COUNTERSIGN_REJECTION_STREAK=1000) as h:
        _blames_v2(h)


def _blames_v2(h: Harness) -> None:
    from tests.services.drafts.helpers import new_draft

    key = h.register(actions={"quote_freight_lane": {"autonomy": "auto"}},
                     autonomy_rule={"audit_sample_rate": 0})["api_key"]
    assert new_draft(h, key, prompt_version="v1")["status"] == "auto_approved"
    seed(h, version="v1", approved=45, rejected=5)
    seed(h, version="v2", approved=5, rejected=20)
    found = anomalies(h)
    assert len(found) == 1 and found[0].details["prompt_version"] == "v2"
    assert new_draft(h, key, prompt_version="v1")["status"] == "auto_approved"
