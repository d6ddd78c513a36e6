"""The default promotion rule (50 decisions, 95 % unedited, no rejection among the last 20) on real evidence rows:
met exactly at the 50th clean decision, and held back by edits, expiries or a recent rejection."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from services.agents.models import AutonomyRule
from services.autonomy import service
from services.db import make_engine, session_scope

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
DEFAULT = AutonomyRule()


def _draft(n: int, status: str, version: str = "v1") -> Any:
    return SimpleNamespace(id=f"drf_{version}_{n}", agent_id=1, action="quote", prompt_version=version, model="m",
                           status=status, body="EUR 1,840",
                           edited_body="EUR 1,900" if status == "edited" else None,
                           decided_at=NOW)


def _replay(url: str, statuses: list[str], version: str = "v1") -> list[bool]:
    """Record each decision in turn; after each, whether the default rule is met."""
    engine = make_engine(url)
    met = []
    with session_scope(engine) as session:
        for n, status in enumerate(statuses):
            state = service.record_decision(session=session, draft=_draft(n, status, version), now=NOW)
            assert state is not None
            met.append(service.rule_met(service.evidence_for(session=session, state=state, rule=DEFAULT), DEFAULT))
    engine.dispose()
    return met


def test_met_exactly_at_the_fiftieth_clean_decision(sqlite_url: str) -> None:
    """49 approvals: not yet; the 50th: met."""
    met = _replay(sqlite_url, ["approved"] * 50)
    assert met[:49] == [False] * 49 and met[49] is True


def test_edits_and_expiries_count_against_the_rate(sqlite_url: str) -> None:
    """2 edits and 1 expiry in 50 is 94 % unedited: not met; 10 more approvals make 57 of 60 (95 %): met."""
    statuses = ["approved"] * 10 + ["edited", "expired", "edited"] + ["approved"] * 37 + ["approved"] * 10
    met = _replay(sqlite_url, statuses)
    assert not any(met[:59]) and met[59] is True


def test_a_rejection_needs_twenty_clean_decisions_after_it(sqlite_url: str) -> None:
    """A rejection at decision 40 holds the rule back until 20 decisions follow it, although 95 % is met."""
    statuses = ["approved"] * 39 + ["rejected"] + ["approved"] * 20
    met = _replay(sqlite_url, statuses)
    assert not any(met[:59]) and met[59] is True


def test_counting_twice_and_other_versions_do_not_help(sqlite_url: str) -> None:
    """The same draft counted again is ignored; another version's decisions are its own."""
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        first = service.record_decision(session=session, draft=_draft(1, "approved"), now=NOW)
        again = service.record_decision(session=session, draft=_draft(1, "approved"), now=NOW)
        other = service.record_decision(session=session, draft=_draft(2, "approved", "v2"), now=NOW)
        ignored = service.record_decision(session=session, draft=_draft(3, "cancelled"), now=NOW)
        assert first is not None and again is None and ignored is None
        assert first.decisions_total == 1 and other is not None and other.id != first.id
    engine.dispose()
