"""Sampled auto-approvals: which were picked for a retrospective check and what people said about them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from services.autonomy.models import AutonomySample
from services.autonomy.service import _insert_once, version_key
from services.drafts.models import Draft
from services.errors import AlreadyDecided, NotFound

VERDICT_WORDS = {"looks_right": "marked it *Looks right*",
                 "should_not_have_passed": "marked it *Should not have passed*"}


def create(*, session: Session, draft: Draft, now: datetime) -> bool:
    """Note the sample; false if it already was (the card must go out once)."""
    return _insert_once(session, AutonomySample(draft_id=draft.id, agent_id=draft.agent_id, action=draft.action,
                                                prompt_version=version_key(draft.prompt_version), created_at=now))


def get(*, session: Session, draft_id: str) -> AutonomySample | None:
    return session.get(AutonomySample, draft_id, populate_existing=True)


def judge(*, session: Session, draft_id: str, verdict: str, user: str, now: datetime) -> AutonomySample:
    """The first verdict stands; a second click is told who judged first."""
    moved = session.exec(update(AutonomySample).where(  # type: ignore[call-overload]
        col(AutonomySample.draft_id) == draft_id, col(AutonomySample.verdict).is_(None),
    ).values(verdict=verdict, judged_by=user, judged_at=now)).rowcount
    sample = get(session=session, draft_id=draft_id)
    if sample is None:
        raise NotFound(f"draft {draft_id} was not sampled for a check")
    if not moved:
        raise AlreadyDecided(f"{sample.judged_by} already {VERDICT_WORDS.get(sample.verdict or '', 'judged it')}",
                             people=[sample.judged_by or ""])
    return sample
