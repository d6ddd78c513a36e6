"""The CLI says which database it uses when serve here would use another, and no read-only command creates one."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.common import NO_DATABASE
from tests.services.cli.run import cli

READ_ONLY = [("agents", "list"), ("agents", "show", "quoter"), ("drafts", "list"), ("outbox",),
             ("evals", "export"), ("audit", "verify"), ("budgets", "list"), ("digest", "schedule", "list"),
             ("agents", "pause", "quoter"), ("drafts", "approve", "drf_1", "--as", "U012OWNER"), ("digest", "send"),
             ("digest", "show"), ("runs", "list")]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_a_database(command: tuple[str, ...], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a folder without the database, a command that needs one says where it looked, exits 3, and
    leaves no empty countersign.db behind."""
    monkeypatch.chdir(tmp_path)
    result = cli(*command, url=None)
    assert result.exit_code == NO_DATABASE, result.output
    assert f"no database at {tmp_path / 'countersign.db'}" in result.stderr and "nothing was created" in result.stderr
    assert not (tmp_path / "countersign.db").exists()


def test_a_write_command_names_the_missing_database_and_creates_it_only_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a folder without the database, `agents add` (and every write command) names the database it
    would make, creates nothing and hands out no key; with --create-database it creates it and says where, and
    later commands use serve's database silently. `--database URL` names another database outright."""
    monkeypatch.chdir(tmp_path)
    for command in (("agents", "add", "quoter", "--owner", "U012OWNER"), ("digest", "schedule", "add", "--channel",
                    "C0DIGEST"), ("budgets", "price-override", "m", "--input", "1", "--output", "2")):
        refused = cli(*command, url=None)
        assert refused.exit_code == NO_DATABASE, refused.output
        assert f"no database at {tmp_path / 'countersign.db'}" in refused.stderr
        assert "--database URL" in refused.stderr and "--create-database" in refused.stderr
        assert "api_key" not in refused.stdout and not (tmp_path / "countersign.db").exists()
    added = cli("agents", "add", "quoter", "--owner", "U012OWNER", "--approver", "U078ALICE", "--create-database",
                url=None)
    assert added.exit_code == 0 and f"creating a new SQLite database at {tmp_path / 'countersign.db'}" in added.stderr
    listed = cli("agents", "list", url=None)
    assert "quoter" in listed.stdout and listed.stderr == ""
    other = tmp_path / "other.db"
    named = cli("agents", "add", "billing", "--owner", "U012OWNER", "--database", f"sqlite:///{other}", url=None)
    assert named.exit_code == 0 and f"creating a new SQLite database at {other}" in named.stderr
    assert "billing" in cli("--database", f"sqlite:///{other}", "agents", "list", url=None).stdout
    assert "billing" not in cli("agents", "list", url=None).stdout


def test_another_database_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DATABASE_URL exported in this shell but not in .env: every command names it and serve's database."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{elsewhere / 'cs.db'}"
    assert cli("agents", "add", "quoter", "--owner", "U012OWNER", url=url).exit_code == 0
    named = cli("agents", "list", url=url)
    assert f"database: SQLite at {elsewhere / 'cs.db'}" in named.stderr
    assert f"without it would use SQLite at {tmp_path / 'countersign.db'}" in named.stderr
    assert "quoter" in named.stdout
    (tmp_path / ".env").write_text(f"DATABASE_URL={url}\n", encoding="utf-8")
    assert cli("agents", "list", url=url).stderr == ""  # serve here reads the same from .env


def test_errors_are_printed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`agents add` without an owner and `digest send` without a channel say their error in one line, and a
    refused owner id explains what a Slack user id looks like instead of showing a regex."""
    monkeypatch.chdir(tmp_path)
    orphan = cli("agents", "add", "orphan", url=None)
    assert orphan.exit_code == 2 and orphan.stderr.count("no owner, no agent") == 1
    assert not (tmp_path / "countersign.db").exists()  # refused before a database was created
    named = cli("agents", "add", "quoter", "--owner", "bob", "--channel", "#review", url=None)
    assert "Copy member ID" in named.stderr and "bottom of About" in named.stderr and "^[" not in named.stderr
    assert cli("agents", "add", "quoter", "--owner", "U012OWNER", "--create-database", url=None).exit_code == 0
    send = cli("digest", "send", url=None)
    assert send.exit_code == 2 and send.stderr.count("no digest schedule exists") == 1


def test_a_malformed_url_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A DATABASE_URL that is no URL at all is an error naming it, not a traceback."""
    monkeypatch.chdir(tmp_path)
    result = cli("agents", "list", url="countersign.db")
    assert result.exit_code == 2 and "DATABASE_URL is not a database URL: 'countersign.db'" in result.stderr
