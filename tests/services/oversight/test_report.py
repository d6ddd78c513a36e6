"""The oversight report: rates, p50/p95 and the rubber-stamp flag from decision times on the fake clock, the same
figures through the CLI, the admin API, the web page (with its chart) and the weekly digest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.blocks.digests import digest_message
from services.digests.service import compute_digest
from services.drafts import flows as drafts
from services.oversight import flows
from services.oversight.service import percentile
from services.spend.periods import period_containing
from testkit.clock import FakeClock
from tests.harness import ALICE, BOB, CAROL, OWNER, Harness
from tests.services.cli.run import cli
from tests.services.drafts.helpers import new_draft
from tests.web.helpers import signed_in

SHORT, LONG = "EUR 1,840 all in.", "Lane terms. " * 170  # 17 and 2,040 characters


@pytest.fixture
def clock() -> FakeClock:
    """Started at the real time, so the CLI (on the system clock) reads the same window."""
    return FakeClock(datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
def quiet(sqlite_url: str, clock: FakeClock) -> Iterator[Harness]:
    """No Slack and no background loops: the card is 'posted' when the draft is made, and time is the clock's."""
    with Harness(sqlite_url, clock=clock, jobs=[], run_background=False,
                 COUNTERSIGN_ADMIN_USERS=OWNER) as h:
        yield h


def _decide(h: Harness, clock: FakeClock, key: str, user: str, *, n: int, seconds: float, body: str,
            reject_every: int = 0) -> None:
    for i in range(n):
        draft = new_draft(h, key, body=body, title=f"Quote {user} {i}")
        clock.advance(seconds)
        rejected = reject_every and i % reject_every == 0
        drafts.decide(ctx=h.ctx, draft_id=draft["id"], user_id=user, verdict="reject" if rejected else "approve",
                      reason="wrong lane" if rejected else None)


def test_rubber_stamp_on_fast_approvers_not_on_a_reader(quiet: Harness, clock: FakeClock) -> None:
    """Alice approves 20 short drafts in 2 s each: flagged. Carol approves 20 drafts of 2,000 characters in 8 s:
    under 10 s per 1,000 characters, flagged. Bob takes 40 s over the same long drafts and rejects 1 in 10: not
    flagged, and his p50/p95 and rates are the known figures."""
    key = quiet.register(approvers=[ALICE, BOB, CAROL])["api_key"]
    _decide(quiet, clock, key, ALICE, n=20, seconds=2, body=SHORT)
    _decide(quiet, clock, key, CAROL, n=20, seconds=8, body=LONG)
    _decide(quiet, clock, key, BOB, n=18, seconds=40, body=LONG, reject_every=10)
    _decide(quiet, clock, key, BOB, n=2, seconds=100, body=LONG)
    rows = {r.reviewer: r for r in flows.oversight_report(ctx=quiet.ctx, days=1).rows}
    alice, bob, carol = rows[ALICE], rows[BOB], rows[CAROL]
    assert alice.rubber_stamp and alice.evidence is not None and alice.evidence["median_s"] == 2.0
    assert alice.approval_rate == 1.0 and alice.time_to_decision.p50_s == 2.0
    assert carol.rubber_stamp and carol.evidence["fast_under_s"] == 20.4  # type: ignore[index]
    assert not bob.rubber_stamp
    assert (bob.decisions, bob.approved, bob.rejected, bob.approval_rate) == (20, 18, 2, 0.9)
    assert bob.time_to_decision.p50_s == 40.0 and bob.time_to_decision.p95_s == percentile([40.0] * 18 + [100.0] * 2,
                                                                                            0.95) == 100.0
    # The same figures in every surface: the CLI (text and JSON), the admin API, the web page and its chart.
    text = cli("oversight", "--days", "1", url=quiet.settings.database_url)
    assert text.exit_code == 0 and "RUBBER STAMP" in text.output and ALICE in text.output
    as_json = json.loads(cli("oversight", "--format", "json", "--agent", "quoter", url=quiet.settings.database_url
                             ).stdout)
    assert {r["reviewer"]: r["rubber_stamp"] for r in as_json["rows"]} == {ALICE: True, BOB: False, CAROL: True}
    api = quiet.client.get("/v1/oversight", params={"days": 1}, headers=quiet.admin)
    assert api.status_code == 200 and api.json()["rows"] == [r.model_dump(mode="json") for r in rows.values()]
    assert quiet.client.get("/v1/oversight", params={"days": 0}, headers=quiet.admin).json()["errors"][0][
        "field"] == "days"
    assert quiet.client.get("/v1/oversight").status_code == 401
    owner = signed_in(quiet, OWNER)
    page = owner.get("/app/oversight?days=1")
    assert page.status_code == 200 and "rubber stamp" in page.text and CAROL in page.text
    chart = owner.get("/app/oversight/chart.png?days=1")
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")
    own = signed_in(quiet, BOB).get("/app/oversight?days=1").text  # a reviewer sees only their own rows
    assert BOB in own and ALICE not in own.split('id="reviewers"')[1]


def test_weekly_digest_has_the_oversight_section(quiet: Harness, clock: FakeClock) -> None:
    """A week's digest lists each reviewer with the flag; a daily one has no such section."""
    key = quiet.register(approvers=[ALICE])["api_key"]
    _decide(quiet, clock, key, ALICE, n=20, seconds=1, body=SHORT)
    now = clock.now()
    with quiet.ctx.read() as session:
        week = compute_digest(session=session, period=period_containing("week", now.date()), now=now,
                              tz=quiet.settings.tz)
        day = compute_digest(session=session, period=period_containing("day", now.date()), now=now,
                             tz=quiet.settings.tz)
    assert week.oversight and week.oversight[0]["rubber_stamp"] and day.oversight == []
    blocks = json.dumps(digest_message(week, "")["blocks"])
    assert "Oversight" in blocks and "rubber stamp" in blocks and ALICE in blocks
    assert "Oversight" not in json.dumps(digest_message(day, "")["blocks"])


def test_weekly_digest_posts_the_reviewers_chart_after_its_message(harness: Harness) -> None:
    """Sent through the fake Slack: the week's message carries the section and the reviewers' chart follows it."""
    key = harness.register(approvers=[ALICE])["api_key"]
    drafts.decide(ctx=harness.ctx, draft_id=new_draft(harness, key)["id"], user_id=ALICE, verdict="approve")
    sent = harness.client.post("/v1/digests/send", headers=harness.admin,
                               json={"channel": "C0DIGEST", "period": "week", "so_far": True})
    assert sent.status_code == 202, sent.text
    harness.drain()
    assert harness.slack is not None
    posted = [c.args for c in harness.slack.calls_to("chat.postMessage") if c.args.get("channel") == "C0DIGEST"]
    assert "Oversight" in json.dumps(posted[-1]["blocks"]) and ALICE in json.dumps(posted[-1]["blocks"])
    uploads = [c.args for c in harness.slack.calls_to("files.getUploadURLExternal")]
    assert any(u.get("filename") == "oversight.png" for u in uploads)


def test_staged_drafts_are_timed_per_stage_from_when_the_stage_opened(quiet: Harness, clock: FakeClock) -> None:
    """Stage 1 is timed from the draft's card (10 s), stage 2 from the moment stage 1 passed (30 s), and each
    reviewer's row names the stage they decided."""
    stages = {"refund": {"stages": [{"name": "support lead", "approvers": [ALICE]},
                                    {"name": "finance", "approvers": [BOB]}]}}
    key = quiet.register(approvers=[ALICE, BOB], actions=stages)["api_key"]
    draft = new_draft(quiet, key, action="refund", body=SHORT)
    clock.advance(10)
    drafts.decide(ctx=quiet.ctx, draft_id=draft["id"], user_id=ALICE, verdict="approve")
    clock.advance(30)
    drafts.decide(ctx=quiet.ctx, draft_id=draft["id"], user_id=BOB, verdict="approve")
    rows = {(r.reviewer, r.stage): r for r in flows.oversight_report(ctx=quiet.ctx, days=1).rows}
    assert set(rows) == {(ALICE, "support lead"), (BOB, "finance")}
    assert rows[(ALICE, "support lead")].time_to_decision.p50_s == 10
    assert rows[(BOB, "finance")].time_to_decision.p50_s == 30
