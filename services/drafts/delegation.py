"""Deciding for someone away: their delegate (services.people) may decide wherever the away person could,
audited "as delegate of U…". The rules still hold for both ids: neither asked for the draft, and neither
approved another stage of it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from services import directory
from services.agents.models import Agent
from services.audit.service import Actor, record
from services.context import AppContext
from services.drafts import rules, stages
from services.drafts.models import Draft, DraftVote
from services.errors import Conflict

StandIns = dict[str, frozenset[str]]  # away person -> the draft's approver groups they are in


def ask_for(ctx: AppContext, absent: list[str], wanted: list[str]) -> StandIns:
    """The away people someone stands in for (people.stands_in_for), each with the `wanted` approver groups the
    directory puts them in. Asked outside any transaction."""
    return {person: directory.groups_of(ctx, person, wanted) for person in absent}


def acting_for(*, agent: Agent, draft: Draft, user_id: str, verdict: str, found: StandIns) -> str | None:
    """The away person this one may decide for (None: nobody). The requester never approves, delegate or not."""
    if verdict != "reject" and draft.requested_by == user_id:
        return None
    for person, groups in found.items():
        if rules.refusal(agent=agent, draft=draft, user_id=person, verdict=verdict, groups=groups) is None:
            return person
    return None


def check_one_stage(*, session: Session, draft: Draft, absent: str) -> None:
    """The away person's own approval, in any stage, already counts: the delegate can't add a second."""
    earlier = session.exec(select(DraftVote.stage).where(DraftVote.draft_id == draft.id,
                                                         DraftVote.user_id == absent)).first()
    if earlier is not None:
        name = stages.of(draft)[earlier]["name"]
        raise Conflict(f"{absent}, whom you stand in for, approved this draft at the {name} stage; one person "
                       "approves in one stage only", people=[absent])


def audit(*, session: Session, user_id: str, absent: str, subject: str, action: str, now: datetime) -> None:
    """`action`: what was done for the away person, as its audit verb (draft.approve, draft.claimed…)."""
    record(session=session, actor=Actor.slack_user(user_id), verb="person.acted_as_delegate", subject=subject,
           now=now, details={"action": action, "as_delegate_of": [absent],
                             "note": f"as delegate of {absent}"})
