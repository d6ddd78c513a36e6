"""Audit entries written past the application, and anchors on by default: a row inserted straight into the table
is never sealed and `audit verify` fails on it in one line; a trimmed chain whose checkpoint rows were deleted too
fails against the anchor file that `serve` keeps in its working directory without being told to."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from services.audit.jobs import seal_audit_log
from services.audit.models import AuditEntry
from services.audit.service import _digest, has_unsealed
from services.config import Settings
from tests.harness import Harness
from tests.services.audit.test_anchors import SECRET, anchored_chain, append, cli_verify, make_ctx, seal_all
from tests.services.cli.run import cli

INSERT = ("INSERT INTO audit_log (created_at, actor_type, actor_id, verb, subject, details, mac, refused) "
          "VALUES (:t, 'admin', 'mallory', 'agent.updated', :subject, '{}', :mac, :no)")

ROW = {"t": datetime(2026, 1, 1), "no": False}


def failure_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("audit")]


def test_row_inserted_into_the_table_is_never_sealed_and_fails_verify(db_url: str, tmp_path: Path) -> None:
    """Rows inserted with no MAC, or with a MAC copied from a real entry, are refused by the sealer (the job the
    running server runs), stay out of the chain, and each gets one line from `audit verify`, which exits 1."""
    ctx = anchored_chain(db_url, tmp_path, n=3)
    with ctx.read() as session:
        real_mac = session.exec(select(AuditEntry.mac).where(AuditEntry.seq == 1)).one()
    with ctx.engine.begin() as conn:
        conn.execute(text(INSERT), {"subject": "agent:nomac", "mac": None, **ROW})
        conn.execute(text(INSERT), {"subject": "agent:copied", "mac": real_mac, **ROW})
    append(ctx, 1, start=50)  # a real entry written after them is still sealed: nothing queues behind forgeries
    seal_audit_log(ctx)
    with ctx.read() as session:
        rows = {row.subject: row for row in session.exec(select(AuditEntry)).all()}
        assert not has_unsealed(session=session)  # the sealer does not come back to them every tick
    assert rows["agent:nomac"].seq is None and rows["agent:nomac"].refused
    assert rows["agent:copied"].seq is None and rows["agent:copied"].refused
    assert rows["thing:50"].seq == 4
    result = cli_verify(db_url, tmp_path)
    assert result.exit_code == 1
    lines = failure_lines(result.stderr)
    assert len(lines) == 2, result.stderr
    assert all("written past the application" in line and "MAC does not verify" in line for line in lines)
    assert "agent:nomac" in lines[0] and "agent:copied" in lines[1]


def test_row_sealed_by_hand_fails_verify(db_url: str, tmp_path: Path) -> None:
    """A forger who links a row into the chain (seq, prev_hash and a correct hash) still has no key for its MAC."""
    ctx = anchored_chain(db_url, tmp_path, n=2)
    with ctx.engine.begin() as conn:
        conn.execute(text(INSERT), {"subject": "agent:linked", "mac": "0" * 64, **ROW})
    with ctx.uow() as session:
        top = session.exec(select(AuditEntry).where(AuditEntry.seq == 2)).one()
        forged = session.exec(select(AuditEntry).where(AuditEntry.subject == "agent:linked")).one()
        forged.seq, forged.prev_hash = 3, top.hash
        forged.hash = _digest(forged)
        session.add(forged)
    result = cli_verify(db_url, tmp_path)
    assert result.exit_code == 1
    [line] = failure_lines(result.stderr)
    assert f"entry {forged.id} (sealed as 3) has a MAC that does not verify" in line, result.stderr


def test_anchors_on_by_default_catch_a_trim_with_checkpoints_deleted(sqlite_url: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """With no anchor setting, the server's jobs write countersign-audit-anchors.jsonl in its working directory
    and `audit verify` run there reads it: trimming the chain and deleting every checkpoint row is caught."""
    monkeypatch.chdir(tmp_path)
    default = Settings(_env_file=None).audit_anchor_file  # type: ignore[call-arg]
    assert default == "countersign-audit-anchors.jsonl"
    with Harness(sqlite_url, run_background=False, COUNTERSIGN_SECRET_KEY=SECRET,
                 COUNTERSIGN_AUDIT_ANCHOR_FILE=default) as h:
        for name in ("one", "two", "three"):
            h.register(name)
        h.run_jobs()  # what serve's scheduler runs: seal, then anchor
    assert (tmp_path / default).exists()
    with h.ctx.engine.begin() as conn:
        kept = conn.execute(text("SELECT MAX(seq) FROM audit_log")).scalar_one()
        conn.execute(text("DELETE FROM audit_log WHERE seq > 1"))
        conn.execute(text("DELETE FROM audit_checkpoints"))
    result = cli("audit", "verify", url=sqlite_url, COUNTERSIGN_SECRET_KEY=SECRET, COUNTERSIGN_AUDIT_ANCHOR_FILE=None)
    assert result.exit_code == 1, result.output
    lines = failure_lines(result.stderr)
    assert any(f"says {kept} entries were sealed but the chain ends at 1" in line for line in lines), lines
    assert any("database lost" in line for line in lines), lines


@pytest.mark.postgres_too
def test_entries_from_before_macs_are_sealed_once_then_never_again(db_url: str, tmp_path: Path) -> None:
    """An upgrade: entries committed by the previous release carry no MAC and may still be unsealed. They are
    sealed (verify warns, does not fail); once an entry with a MAC is in the chain, a row without one is refused."""
    ctx = make_ctx(db_url, tmp_path)  # no chain yet: the upgrade's starting point
    with ctx.engine.begin() as conn:
        conn.execute(text(INSERT), {"subject": "agent:old", "mac": None, **ROW})
    append(ctx, 2)
    seal_all(ctx)
    with ctx.engine.begin() as conn:
        conn.execute(text(INSERT), {"subject": "agent:late", "mac": None, **ROW})
    seal_all(ctx)
    with ctx.read() as session:
        rows = {row.subject: row for row in session.exec(select(AuditEntry)).all()}
    assert rows["agent:old"].seq == 1 and rows["thing:1"].seq == 3
    assert rows["agent:late"].seq is None and rows["agent:late"].refused
    result = cli_verify(db_url, tmp_path)
    assert result.exit_code == 1
    assert "the first 1 sealed entries were written before entries carried a MAC" in result.stderr
    [line] = failure_lines(result.stderr)
    assert "agent:late" in line


def test_setting_the_secret_key_later_keeps_earlier_entries_verifiable(db_url: str, tmp_path: Path) -> None:
    """Entries signed with the database's key (COUNTERSIGN_SECRET_KEY unset) before the key was set are sealed and
    verify with a warning; once an entry signed with the new key is sealed, the database's key forges nothing."""
    before = make_ctx(db_url, tmp_path, COUNTERSIGN_SECRET_KEY="")
    append(before, 2)
    seal_all(before)
    append(before, 1, start=10)  # committed, not yet sealed, when the server restarts with the key
    after = make_ctx(db_url, tmp_path)
    append(after, 1, start=20)
    seal_all(after)
    append(before, 1, start=30)  # someone who can read the database (so knows its key) writes an entry
    seal_all(after)
    with after.read() as session:
        rows = {row.subject: row for row in session.exec(select(AuditEntry)).all()}
    assert [rows[f"thing:{n}"].seq for n in (0, 1, 10, 20)] == [1, 2, 3, 4]
    assert rows["thing:30"].refused and rows["thing:30"].seq is None
    result = cli_verify(db_url, tmp_path)
    assert result.exit_code == 1 and "3 sealed entries were signed with the database's key" in result.stderr
    [line] = failure_lines(result.stderr)
    assert "thing:30" in line
