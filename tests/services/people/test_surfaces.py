"""People away from the CLI and the web app: the same rules, each surface in its own words."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from services.config import get_settings
from tests.harness import ALICE, CAROL, OWNER, Harness
from tests.services.cli.run import cli
from tests.web.helpers import audited, signed_in, submit


def test_cli_sets_lists_and_ends_an_absence(h: Harness, sqlite_url: str) -> None:
    """`people away|list|back` in process; a bad time is a one-line error, exit 2."""
    get_settings.cache_clear()
    until = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    set_ = cli("people", "away", OWNER, "--until", until, "--delegate", CAROL, url=sqlite_url)
    assert set_.exit_code == 0, set_.output
    assert f"{CAROL} stands in" in set_.stdout
    listed = cli("people", "list", url=sqlite_url)
    assert OWNER in listed.stdout and CAROL in listed.stdout and "set by cli" in listed.stdout
    bad = cli("people", "away", ALICE, "--until", "next tuesday", "--delegate", CAROL, url=sqlite_url)
    assert bad.exit_code == 2 and "ISO time" in bad.output
    self_ = cli("people", "away", ALICE, "--until", until, "--delegate", ALICE, url=sqlite_url)
    assert self_.exit_code == 2 and "delegate" in self_.stderr
    assert cli("people", "back", OWNER, url=sqlite_url).exit_code == 0
    assert "nobody is away" in cli("people", "list", url=sqlite_url).stdout


def test_web_page_sets_your_own_absence_and_refuses_someone_elses(h: Harness, tmp_path: Path) -> None:
    """The People page marks you away and back; setting another person away is refused for a non-admin,
    and the refusal is audited."""
    client = signed_in(h, OWNER)
    until = (h.ctx.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    done = submit(client, "/app/people/away", until=until, delegate=CAROL)
    assert done.status_code == 303 and done.headers["location"] == "/app/people?done=away"
    page = client.get("/app/people?done=away")
    assert "You are away until" in page.text and CAROL in page.text
    refused = submit(client, "/app/people/away", until=until, delegate=CAROL, user=ALICE)
    assert refused.status_code == 403 and "only the person themselves or an admin" in refused.text
    assert audited(h, "person.away_refused", actor=OWNER)
    bad = submit(client, "/app/people/back", user="")
    assert bad.status_code == 303
    assert "Going away?" in client.get("/app/people").text
    wrong = submit(client, "/app/people/away", until="soon", delegate=CAROL)
    assert wrong.status_code == 422 and "pick the day and time" in wrong.text
