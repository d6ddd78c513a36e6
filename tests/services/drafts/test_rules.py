"""The drafts domain's rules on their own: no app, no Slack, a SQLite database in memory. Who may decide, what
a decision must carry, quorum, edits under quorum and the one way out of pending."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

from services.agents.models import Agent
from services.drafts import rules, service
from services.drafts.models import Draft, DraftCreate, DraftStatus
from services.drafts.routing import Route
from services.errors import AlreadyDecided, Conflict, ValidationFailed

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
OWNER, ALICE, BOB, CAROL = "U1OWNER", "U2ALICE", "U3BOB", "U4CAROL"


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    SQLModel.metadata.create_all(engine)
    with Session(engine) as opened:
        yield opened


def _agent(session: Session, **fields: object) -> Agent:
    agent = Agent(name="quoter", owner=OWNER, approvers=[ALICE, BOB], approver_groups=["S9LEADS"],
                  api_key_hash="x", api_key_prefix="x", webhook_secret_enc="x", created_at=NOW, updated_at=NOW,
                  **fields)
    session.add(agent)
    session.flush()
    return agent


def _draft(session: Session, agent: Agent, *, body: object = "EUR 1,840", required: int = 1,
           requested_by: str | None = None) -> Draft:
    agent.approvals_required = required
    request = DraftCreate(action="quote", title="Quote", body=body, requested_by=requested_by)
    draft = service.build_draft(agent=agent, request=request, route=Route("review"), now=NOW, remind_fraction=0)
    session.add(draft)
    session.flush()
    return draft


def test_who_may_decide_is_settled_by_names_groups_and_the_requester(session: Session) -> None:
    """Named approvers and members of an approver group decide; others don't; the requester may only reject."""
    agent = _agent(session)
    draft = _draft(session, agent, requested_by=ALICE)
    refuse = rules.refusal
    assert refuse(agent=agent, draft=draft, user_id=BOB, verdict="approve", groups=frozenset()) is None
    assert refuse(agent=agent, draft=draft, user_id=CAROL, verdict="approve", groups=frozenset({"S9LEADS"})) is None
    stranger = refuse(agent=agent, draft=draft, user_id=CAROL, verdict="approve", groups=frozenset({"S0OTHER"}))
    assert stranger is not None and "not an approver" in stranger.detail
    own = refuse(agent=agent, draft=draft, user_id=ALICE, verdict="approve", groups=frozenset())
    assert own is not None and "yourself" in own.detail
    assert refuse(agent=agent, draft=draft, user_id=ALICE, verdict="reject", groups=frozenset()) is None
    assert not rules.may_decide(agent=agent, draft=draft, user_id=ALICE, groups=frozenset())


def test_a_decision_carries_a_reason_within_limits_and_json_stays_json() -> None:
    """The same checks on every surface: a reason to reject (at most 2,000 characters), valid JSON edits."""
    with pytest.raises(ValidationFailed, match="say why"):
        rules.check_request(verdict="reject", final_body=None, reason="  ")
    with pytest.raises(ValidationFailed, match="at most 2,000"):
        rules.check_request(verdict="approve", final_body=None, reason="r" * 2001)
    with pytest.raises(ValidationFailed, match="verdict"):
        rules.check_request(verdict="maybe", final_body=None, reason=None)
    assert rules.check_request(verdict="reject", final_body=None, reason=" too high ") == "too high"
    with pytest.raises(ValidationFailed, match="valid JSON"):
        rules.check_edit(text='{"rate": ', is_json=True)
    with pytest.raises(ValidationFailed, match="empty"):
        rules.check_edit(text=" \n", is_json=False)
    rules.check_edit(text='{"rate": 2}', is_json=True)


def test_quorum_counts_each_person_once_and_the_last_vote_decides(session: Session) -> None:
    agent = _agent(session)
    draft = _draft(session, agent, required=2)
    assert service.approve(session=session, draft=draft, user_id=ALICE, now=NOW, revision=0).final is False
    with pytest.raises(Conflict, match="already approved"):
        service.approve(session=session, draft=draft, user_id=ALICE, now=NOW, revision=0)
    vote = service.approve(session=session, draft=draft, user_id=BOB, now=NOW, revision=0)
    assert vote.final and draft.status == DraftStatus.approved and draft.decided_by == [ALICE, BOB]
    with pytest.raises(AlreadyDecided) as late:
        service.finish(session=session, draft=draft, status=DraftStatus.rejected, now=NOW, decided_by=[CAROL])
    assert late.value.people == (ALICE, BOB) and "<@" not in late.value.detail  # people are data, not mentions


def test_an_edit_under_quorum_withdraws_earlier_approvals_and_refuses_stale_clicks(session: Session) -> None:
    agent = _agent(session)
    draft = _draft(session, agent, required=2)
    service.approve(session=session, draft=draft, user_id=ALICE, now=NOW, revision=0)
    vote = service.edit(session=session, draft=draft, user_id=BOB, text="EUR 1,900", now=NOW, revision=0)
    assert not vote.final and draft.revision == 1 and service.approvers_of(session=session, draft_id=draft.id) == [BOB]
    with pytest.raises(Conflict, match="since you looked") as stale, session.begin_nested():
        service.approve(session=session, draft=draft, user_id=ALICE, now=NOW, revision=0)  # the flow rolls back
    assert stale.value.people == (BOB,)
    assert service.approve(session=session, draft=draft, user_id=ALICE, now=NOW, revision=1).final
    assert draft.status == DraftStatus.edited and draft.current_text == "EUR 1,900"


def test_expiry_is_a_denial_and_loses_to_a_decision(session: Session) -> None:
    agent = _agent(session)
    late, decided = _draft(session, agent), _draft(session, agent)
    service.approve(session=session, draft=decided, user_id=ALICE, now=NOW, revision=None)
    later = NOW + timedelta(days=3)
    assert service.expire(session=session, draft=late, now=later) and late.status == DraftStatus.expired
    assert not service.expire(session=session, draft=decided, now=later)
