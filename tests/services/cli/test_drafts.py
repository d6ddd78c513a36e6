"""`countersign drafts list|approve|reject|edit`: deciding without Slack under exactly the rules of a click."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from services.audit.models import AuditEntry
from testkit.fakes.slack import FakeSlack
from tests.harness import ALICE, BACKUP, BOB, CAROL, OWNER, Harness
from tests.services.cli.run import cli
from tests.services.drafts.helpers import new_draft


def status_of(h: Harness, key: str, draft_id: str) -> dict:
    return h.client.get(f"/v1/drafts/{draft_id}", headers=h.bearer(key)).json()


def test_approvers_quorum_and_self_approval_hold_from_the_cli(sqlite_url: str) -> None:
    """A stranger is refused (and audited as via the CLI), the requester can't approve, quorum counts two."""
    with Harness(sqlite_url, run_background=False) as h:
        key = h.register(approvers=[ALICE, BOB, CAROL], approvals_required=2)["api_key"]
        draft = new_draft(h, key, requested_by=CAROL)
        stranger = cli("drafts", "approve", draft["id"], "--as", "U0STRANGER", url=sqlite_url)
        assert stranger.exit_code == 2 and "not an approver for quoter" in stranger.stderr
        own = cli("drafts", "approve", draft["id"], "--as", CAROL, url=sqlite_url)
        assert own.exit_code == 2 and "you asked for this draft" in own.stderr
        first = cli("drafts", "approve", draft["id"], "--as", ALICE, url=sqlite_url)
        assert first.exit_code == 0 and "1 of 2 approvals" in first.stdout
        assert status_of(h, key, draft["id"])["status"] == "pending"
        second = cli("drafts", "approve", draft["id"], "--as", BOB, "--reason", "lane checked", url=sqlite_url)
        assert second.exit_code == 0 and "approved" in second.stdout
        decided = status_of(h, key, draft["id"])
        assert decided["status"] == "approved" and decided["decided_by"] == [ALICE, BOB]
        assert decided["reason"] == "lane checked"
        late = cli("drafts", "reject", draft["id"], "--as", ALICE, "--reason", "no", url=sqlite_url)
        assert late.exit_code == 2 and "already approved" in late.stderr
        with h.ctx.read() as session:
            entries = session.exec(select(AuditEntry).where(AuditEntry.subject == f"draft:{draft['id']}")).all()
        refused = [e for e in entries if e.verb == "draft.decision_refused"]
        assert {e.actor_id for e in refused} == {"U0STRANGER", CAROL}
        assert all(e.details["via"] == "cli" for e in refused)
        assert [e.details["via"] for e in entries if e.verb == "draft.approved"] == ["cli"]


def test_edit_from_a_file_and_reject_with_a_reason(sqlite_url: str, tmp_path: Path) -> None:
    """edit reads the new text from --body-file and decides `edited`; reject needs and passes on a reason."""
    with Harness(sqlite_url, run_background=False) as h:
        key = h.register(approvers=[ALICE])["api_key"]
        one, two = new_draft(h, key), new_draft(h, key)
        text = tmp_path / "final.txt"
        text.write_text("EUR 1,790 all in, valid 48 h.", encoding="utf-8")
        edited = cli("drafts", "edit", one["id"], "--as", ALICE, "--body-file", str(text), url=sqlite_url)
        assert edited.exit_code == 0, edited.output
        assert edited.stdout.startswith("Done: the draft is approved with edits.\n")
        shown = status_of(h, key, one["id"])
        assert shown["status"] == "edited" and shown["final_body"] == "EUR 1,790 all in, valid 48 h."
        assert cli("drafts", "reject", two["id"], "--as", ALICE, url=sqlite_url).exit_code == 2  # --reason required
        assert cli("drafts", "reject", two["id"], "--as", ALICE, "--reason", "too low", url=sqlite_url).exit_code == 0
        assert status_of(h, key, two["id"])["reason"] == "too low"
        bad = cli("drafts", "approve", two["id"], "--as", "alice", url=sqlite_url)
        assert bad.exit_code == 2 and "Copy member ID" in bad.stderr


def test_without_approvers_owner_and_backups_decide(sqlite_url: str) -> None:
    """No approvers: registration warns, and the owner and the backups may decide (nobody else)."""
    with Harness(sqlite_url, run_background=False) as h:
        created = h.register(approvers=[], backup_owners=[BACKUP])
        assert "decided by its owner and its backup owners" in created["warnings"][0]
        key = created["api_key"]
        one, two = new_draft(h, key), new_draft(h, key)
        assert cli("drafts", "approve", one["id"], "--as", ALICE, url=sqlite_url).exit_code == 2
        assert cli("drafts", "approve", one["id"], "--as", OWNER, url=sqlite_url).exit_code == 0
        assert cli("drafts", "reject", two["id"], "--as", BACKUP, "--reason", "stale", url=sqlite_url).exit_code == 0
        assert [status_of(h, key, d["id"])["status"] for d in (one, two)] == ["approved", "rejected"]
        assert h.register("staffed", approvers=[ALICE])["warnings"] == []


def test_group_members_decide_when_slack_says_so(sqlite_url: str) -> None:
    """A member of an approver group is let in after asking Slack (usergroups.users.list), as a click is."""
    with FakeSlack(token=None, usergroups={"S090LEADS": [CAROL]}) as slack, \
            Harness(sqlite_url, slack=slack, run_background=False) as h:
        key = h.register(approvers=[ALICE], approver_groups=["S090LEADS"])["api_key"]
        draft = new_draft(h, key)
        slack_env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.url}
        assert cli("drafts", "approve", draft["id"], "--as", BOB, url=sqlite_url, **slack_env).exit_code == 2
        assert cli("drafts", "approve", draft["id"], "--as", CAROL, url=sqlite_url, **slack_env).exit_code == 0
        off = new_draft(h, key)
        refused = cli("drafts", "approve", off["id"], "--as", CAROL, url=sqlite_url)
        assert refused.exit_code == 2 and "Slack is off" in refused.stderr


def test_list_pages_and_filters(sqlite_url: str) -> None:
    """drafts list shows every agent's drafts newest first, or one agent's, by status, a page at a time."""
    with Harness(sqlite_url, run_background=False) as h:
        key, other = h.register(approvers=[ALICE])["api_key"], h.register("other", approvers=[ALICE])["api_key"]
        ids = [new_draft(h, key, title=f"Quote {i}")["id"] for i in range(3)]
        new_draft(h, other, title="Other's")
        everything = cli("drafts", "list", url=sqlite_url).stdout.splitlines()
        assert len(everything) == 4 and "Other's" in everything[0]
        mine = cli("drafts", "list", "--agent", "quoter", "--limit", "2", url=sqlite_url).stdout.splitlines()
        assert [line.split()[0] for line in mine[:2]] == [ids[2], ids[1]] and mine[2].startswith("more: add --cursor")
        rest = cli("drafts", "list", "--agent", "quoter", "--cursor", mine[2].split()[-1], url=sqlite_url)
        assert rest.stdout.split()[0] == ids[0]
        assert cli("drafts", "list", "--status", "approved", url=sqlite_url).stdout.strip() == "no drafts match"
        assert cli("drafts", "list", "--agent", "nobody", url=sqlite_url).exit_code == 2
