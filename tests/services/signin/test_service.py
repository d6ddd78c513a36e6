"""Login links and sessions at the service level: one redemption wins a race, and old rows are purged."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from services.errors import Forbidden
from services.signin import service
from services.signin.jobs import purge_signins
from services.signin.models import LoginLink, WebSession
from testkit.clock import FakeClock
from tests.harness import ALICE, Harness


@pytest.mark.postgres_too
def test_a_link_opened_twice_at_once_signs_in_once(db_url: str) -> None:
    """Eight threads redeem the same link together: exactly one gets a session, the rest hear 'already used'."""
    with Harness(db_url, run_background=False) as h:
        with h.ctx.uow() as session:
            token = service.issue_link(session=session, user_id=ALICE, now=h.ctx.clock.now())
        won, refused, start = [], [], threading.Barrier(8)

        def redeem() -> None:
            start.wait()
            try:
                with h.ctx.uow() as session:
                    won.append(service.redeem_link(session=session, token=token, now=h.ctx.clock.now())[0])
            except Forbidden as exc:
                refused.append(exc.detail)

        threads = [threading.Thread(target=redeem) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(won) == 1 and len(refused) == 7 and all("already used" in r for r in refused)
        with h.ctx.read() as session:
            assert len(session.exec(select(WebSession)).all()) == 1


def test_purge_drops_links_and_sessions_a_day_after_use(sqlite_url: str, clock: FakeClock) -> None:
    """Expired links and ended sessions go a day later; a live session stays."""
    with Harness(sqlite_url, clock=clock, run_background=False) as h:
        with h.ctx.uow() as session:
            service.issue_link(session=session, user_id=ALICE, now=clock.now())
            live_token = service.issue_link(session=session, user_id=ALICE, now=clock.now())
            ended_token = service.issue_link(session=session, user_id=ALICE, now=clock.now())
        with h.ctx.uow() as session:
            service.redeem_link(session=session, token=live_token, now=clock.now())
            ended, _ = service.redeem_link(session=session, token=ended_token, now=clock.now())
            service.end_session(session=session, token=ended, now=clock.now())
        clock.advance(hours=11)  # links expired, one session ended, one still live
        purge_signins(h.ctx)
        with h.ctx.read() as session:
            assert len(session.exec(select(LoginLink)).all()) == 3  # nothing is a day past its end yet
        clock.advance(days=1)
        purge_signins(h.ctx)
        with h.ctx.read() as session:
            assert session.exec(select(LoginLink)).all() == []
            remaining = session.exec(select(WebSession)).all()
            assert len(remaining) == 1 and remaining[0].ended_at is None
