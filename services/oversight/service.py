"""The oversight report: who decided what, how fast, how often they approved, whether they caught the canaries,
and the rubber-stamp rule. Queries and arithmetic only; no I/O beyond the database.

One person's decision is one event: an approval (a vote; an edit is the editor's vote) or a rejection. Its time
is from the card being posted (where the outbox recorded it landing in Slack, else the draft's creation: the web
inbox shows it from then) to that person's click. With approval stages each decision is counted for its stage,
whose clock starts when the stage opened: `_started` is the one place that knows when a person was first asked.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.db import require_id
from services.drafts import stages
from services.drafts.models import Draft, DraftVote
from services.outbox.models import SlackMessage
from services.oversight.models import Report, ReviewerRow, Timing, WeekPoint

DECIDED_BY_PEOPLE = ("approved", "edited", "rejected")
# The rubber-stamp rule: approved at least this share of at least this many drafts, with a median decision time
# under FAST_S, or under FAST_PER_1000_CHARS_S per 1,000 characters for drafts longer than that.
STAMP_MIN_DECISIONS, STAMP_MIN_APPROVAL = 20, 0.95
FAST_S, FAST_PER_1000_CHARS_S = 5.0, 10.0
STAMP_RULE = (f"approved ≥ {STAMP_MIN_APPROVAL:.0%} of ≥ {STAMP_MIN_DECISIONS} drafts with a median decision "
              f"time under {FAST_S:g} s (or under {FAST_PER_1000_CHARS_S:g} s per 1,000 characters)")


@dataclass(frozen=True)
class Event:
    """One person's decision on one draft (or one stage of it)."""

    agent: str
    action: str
    reviewer: str
    stage: str
    verdict: str  # approved | edited | rejected
    seconds: float
    chars: int
    canary: bool
    at: datetime


def _stage(draft: Draft, index: int) -> tuple[str, datetime | None]:
    """The name of the draft's stage `index`, and when it opened (None for the first: its card says when)."""
    found = stages.of(draft)
    if index >= len(found):
        return stages.REVIEW, None
    opened = found[index].get("opened_at") if index > 0 else None
    return found[index]["name"], datetime.fromisoformat(opened) if opened else None


def _started(draft: Draft, posted: datetime | None, opened: datetime | None) -> datetime:
    """When this person was first asked: a later stage when it opened; the first when its card landed (never
    before the draft was made: the web inbox shows it from then)."""
    if opened is not None:
        return opened
    return posted if posted is not None and posted >= draft.created_at else draft.created_at


def events(*, session: Session, since: datetime, until: datetime, agent_ids: list[int] | None = None) -> list[Event]:
    """Every person's decision on drafts decided in [since, until] (a decision made this instant counts)."""
    statement = select(Draft).where(col(Draft.status).in_(DECIDED_BY_PEOPLE), col(Draft.decided_at) >= since,
                                    col(Draft.decided_at) <= until)
    if agent_ids is not None:
        statement = statement.where(col(Draft.agent_id).in_(agent_ids))
    drafts = list(session.exec(statement))
    if not drafts:
        return []
    ids = [d.id for d in drafts]
    names = dict(session.exec(select(Agent.id, Agent.name)).all())
    posted = dict(session.exec(select(SlackMessage.key, SlackMessage.created_at)
                               .where(col(SlackMessage.key).in_([d.card_key for d in drafts]))).all())
    votes: dict[str, list[DraftVote]] = defaultdict(list)
    for vote in session.exec(select(DraftVote).where(col(DraftVote.draft_id).in_(ids))):
        votes[vote.draft_id].append(vote)
    found = []
    for draft in drafts:
        agent = names.get(draft.agent_id, f"agent #{draft.agent_id}")

        def event(reviewer: str, verdict: str, at: datetime, index: int, draft: Draft = draft,
                  agent: str = agent) -> Event:
            stage, opened = _stage(draft, index)
            start = _started(draft, posted.get(draft.card_key), opened)
            return Event(agent, draft.action, reviewer, stage, verdict, max(0.0, (at - start).total_seconds()),
                         len(draft.body), draft.is_canary, at)

        for vote in votes[draft.id]:
            edited = draft.status == "edited" and vote.user_id == draft.edited_by
            found.append(event(vote.user_id, "edited" if edited else "approved", vote.created_at, vote.stage))
        if draft.status == "rejected" and draft.decided_by and draft.decided_at is not None:
            found.append(event(draft.decided_by[0], "rejected", draft.decided_at, draft.stage_index))
    return found


def percentile(values: list[float], share: float) -> float | None:
    """Linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 3)


def rubber_stamp(real: list[Event]) -> tuple[bool, dict[str, object]]:
    """The flag and the figures behind it, for one reviewer's real (not canary) decisions."""
    decisions = len(real)
    approved = sum(e.verdict != "rejected" for e in real)
    median_s = statistics.median(e.seconds for e in real) if real else None
    median_chars = int(statistics.median(e.chars for e in real)) if real else 0
    allowance = max(FAST_S, FAST_PER_1000_CHARS_S * median_chars / 1000)
    flagged = (decisions >= STAMP_MIN_DECISIONS and approved >= STAMP_MIN_APPROVAL * decisions - 1e-9
               and median_s is not None and median_s < allowance)
    return flagged, {"decisions": decisions, "approved": approved,
                     "approval_rate": round(approved / decisions, 4) if decisions else 0.0,
                     "median_s": round(median_s, 3) if median_s is not None else None,
                     "median_chars": median_chars, "fast_under_s": round(allowance, 3), "rule": STAMP_RULE}


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def row_of(key: tuple[str, str, str, str], group: list[Event]) -> ReviewerRow:
    agent, action, reviewer, stage = key
    real = [e for e in group if not e.canary]
    canaries = [e for e in group if e.canary]
    approved = sum(e.verdict == "approved" for e in real)
    edited = sum(e.verdict == "edited" for e in real)
    times = [e.seconds for e in real]
    flagged, evidence = rubber_stamp(real)
    return ReviewerRow(agent=agent, action=action, reviewer=reviewer, stage=stage, decisions=len(real),
                       approved=approved, edited=edited, rejected=len(real) - approved - edited,
                       approval_rate=_rate(approved + edited, len(real)), edit_rate=_rate(edited, len(real)),
                       time_to_decision=Timing(p50_s=percentile(times, 0.5), p95_s=percentile(times, 0.95)),
                       canary_catches=sum(e.verdict == "rejected" for e in canaries),
                       canary_misses=sum(e.verdict != "rejected" for e in canaries),
                       rubber_stamp=flagged, evidence=evidence)


def week_of(when: datetime) -> date:
    day = when.date()
    return day - timedelta(days=day.weekday())


def weekly(found: Iterable[Event]) -> list[WeekPoint]:
    """Per reviewer and week (Monday): decisions, approval rate and median time, for the chart."""
    groups: dict[tuple[str, date], list[Event]] = defaultdict(list)
    for e in found:
        if not e.canary:
            groups[(e.reviewer, week_of(e.at))].append(e)
    return [WeekPoint(reviewer=reviewer, week=week.isoformat(), decisions=len(group),
                      approval_rate=_rate(sum(e.verdict != "rejected" for e in group), len(group)),
                      median_s=round(statistics.median(e.seconds for e in group), 3))
            for (reviewer, week), group in sorted(groups.items())]


def build_report(found: list[Event], *, since: datetime, until: datetime, days: int) -> Report:
    groups: dict[tuple[str, str, str, str], list[Event]] = defaultdict(list)
    for e in found:
        groups[(e.agent, e.action, e.reviewer, e.stage)].append(e)
    rows = [row_of(key, group) for key, group in sorted(groups.items())]
    return Report(since=since, until=until, days=days, rows=rows, weekly=weekly(found))


def report(*, session: Session, now: datetime, days: int, agents: list[Agent] | None = None) -> Report:
    since = now - timedelta(days=days)
    ids = [require_id(a.id) for a in agents] if agents is not None else None
    return build_report(events(session=session, since=since, until=now, agent_ids=ids), since=since, until=now,
                        days=days)
