"""The CLI says which database it uses when serve here would use another, and no read-only command creates one."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.common import NO_DATABASE
from tests.services.cli.run import cli

READ_ONLY = [("agents", "list"), ("agents", "show", "quoter"), ("drafts", "list"), ("outbox",),
             ("evals", "export"), ("audit", "verify"), ("budgets", "list"), ("digest", "schedule", "list"),
             ("agents", "pause", "quoter"), ("drafts", "approve", "drf_1", "--as", "U012OWNER"), ("digest", "send")]


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


def test_add_creates_it_and_says_so_then_is_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`agents add` may create the database (and says where); later commands use serve's database silently."""
    monkeypatch.chdir(tmp_path)
    added = cli("agents", "add", "quoter", "--owner", "U012OWNER", "--approver", "U078ALICE", url=None)
    assert added.exit_code == 0 and f"creating a new SQLite database at {tmp_path / 'countersign.db'}" in added.stderr
    listed = cli("agents", "list", url=None)
    assert "quoter" in listed.stdout and listed.stderr == ""


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
    assert cli("agents", "add", "quoter", "--owner", "U012OWNER", url=None).exit_code == 0
    send = cli("digest", "send", url=None)
    assert send.exit_code == 2 and send.stderr.count("no digest schedule exists") == 1


def test_a_malformed_url_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A DATABASE_URL that is no URL at all is an error naming it, not a traceback."""
    monkeypatch.chdir(tmp_path)
    result = cli("agents", "list", url="countersign.db")
    assert result.exit_code == 2 and "DATABASE_URL is not a database URL: 'countersign.db'" in result.stderr
