"""The README is a newcomer's page and docs/ holds the rest: every link resolves, no page says where its text came
from, and what the pages show (a run's halt_policy, the user group id hint) is what the service takes and says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from services.agents.models import GROUP_ID, ID_HINTS
from tests.harness import Harness

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_readme_is_short_and_every_doc_link_resolves() -> None:
    """The README stays a first page (the two commands, the demo, a first agent, the client, Slack) and every
    relative link in it and under docs/ points at a file that exists; docs/README.md indexes every page."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    for heading in ("## Two commands", "## Try it without Slack", "## First agent", "## The client in five lines",
                    "## Slack"):
        assert heading in readme, heading
    pages = sorted((ROOT / "docs").glob("*.md"))
    for page in [ROOT / "README.md", ROOT / "client" / "README.md", *pages]:
        for target in LINK.findall(page.read_text()):
            if not target.startswith(("http://", "https://")):
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
    index = (ROOT / "docs" / "README.md").read_text()
    assert all(f"]({p.name})" in index for p in pages if p.name != "README.md")


def test_no_page_says_where_it_came_from() -> None:
    """No staging fragments: no docs/readme/, and no page speaks of branches, fragments or "replaces"."""
    assert not (ROOT / "docs" / "readme").exists()
    for page in [ROOT / "client" / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = page.read_text().lower()
        assert not re.search(r"from the `?\w+`? branch|\bbranch\)|fragment|replaces the|docs/readme", text), page.name


def test_documented_run_start_is_accepted_and_a_bare_string_is_named(sqlite_url: str) -> None:
    """The POST /v1/runs body in docs/agents.md starts a run with that halt_policy; a plain string instead of the
    list is a 422 naming halt_policy, not a 500."""
    text = (ROOT / "docs" / "agents.md").read_text()
    body = json.loads(re.search(r"/v1/runs .*?-d '(\{.*?\})'", text, re.S).group(1))  # type: ignore[union-attr]
    with Harness(sqlite_url, run_background=False) as h:
        key = h.register()["api_key"]
        started = h.client.post("/v1/runs", json=body, headers=h.bearer(key))
        assert started.status_code == 201, started.text
        assert started.json()["halt_policy"] == body["halt_policy"]
        wrong = h.client.post("/v1/runs", json={**body, "run_id": "other", "halt_policy": "resume"},
                              headers=h.bearer(key))
        assert wrong.status_code == 422 and "halt_policy" in wrong.text


def test_slack_guide_covers_url_verification_public_url_and_group_ids() -> None:
    """docs/slack.md says what to do when Slack checks the URL first, names COUNTERSIGN_PUBLIC_URL, and finds a
    user group id the way the CLI's refusal says to."""
    guide = (ROOT / "docs" / "slack.md").read_text()
    assert "url_verification" in guide and "Retry" in guide and "COUNTERSIGN_PUBLIC_URL" in guide
    where = ID_HINTS[GROUP_ID].split("; ", 1)[1]  # "open the group under People > User groups: the id is …"
    assert "People > User groups" in where and "last part of its page's address" in where
    flat = " ".join(guide.replace("**", "").split())
    assert "open the group under People > User groups: the id is the last part of its page's address" in flat
