"""The staged workflow from the terminal: `drafts show` tells the whole story (stages, claim, callback),
`drafts claim|release|assign` follow the claims flow's rules, and `drafts list` shows stage, cost and claim."""

from __future__ import annotations

from tests.harness import ALICE, BOB, CAROL, OWNER, Harness
from tests.services.cli.run import cli
from tests.services.drafts.helpers import new_draft

STAGES = {"quote_freight_lane": {"stages": [{"name": "support lead", "approvers": [ALICE]},
                                            {"name": "finance", "approvers": [BOB, CAROL]}]}}


def test_show_claim_release_assign_from_the_cli(sqlite_url: str) -> None:
    with Harness(sqlite_url, run_background=False) as h:
        key = h.register(actions=STAGES)["api_key"]
        draft = new_draft(h, key, cost_usd=0.0123)
        shown = cli("drafts", "show", draft["id"], url=sqlite_url)
        assert shown.exit_code == 0, shown.stderr
        assert "stage: support lead" in shown.stdout and "- finance: waiting" in shown.stdout
        assert "claimed by: nobody" in shown.stdout and "EUR 1,840 all in." in shown.stdout
        assert cli("drafts", "claim", draft["id"], "--as", BOB, url=sqlite_url).exit_code == 2  # not this stage
        assert cli("drafts", "claim", draft["id"], "--as", ALICE, url=sqlite_url).exit_code == 0
        listed = cli("drafts", "list", url=sqlite_url).stdout
        assert f"claimed by {ALICE}" in listed and "stage support lead" in listed and "$0.0123" in listed
        assert f"may decide: {ALICE}" in listed and "min old" in listed  # enough to choose, without Slack
        assert cli("drafts", "release", draft["id"], "--as", BOB, url=sqlite_url).exit_code == 2
        assert cli("drafts", "release", draft["id"], "--as", ALICE, url=sqlite_url).exit_code == 0
        assert cli("drafts", "approve", draft["id"], "--as", ALICE, url=sqlite_url).exit_code == 0
        refused = cli("drafts", "assign", draft["id"], "--to", OWNER, "--as", BOB, url=sqlite_url)
        assert refused.exit_code == 2 and "be assigned" in refused.stderr
        assert cli("drafts", "assign", draft["id"], "--to", CAROL, "--as", BOB, url=sqlite_url).exit_code == 0
        after = cli("drafts", "show", draft["id"], url=sqlite_url).stdout
        assert "stage: finance" in after and f"claimed by: {CAROL}" in after and f"({ALICE})" in after
