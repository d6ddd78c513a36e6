"""The audit chain: entries append without a lock, the sealer links them, and verification names the first
tampered entry."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import text

from services.audit.models import AuditEntry
from services.audit.service import Actor, record, seal, verify
from services.clock import SystemClock
from services.db import make_engine, session_scope
from tests.harness import scratch_anchor_file


def _append(engine, n: int) -> None:
    with session_scope(engine) as session:
        record(session=session, actor=Actor.system("test"), verb="thing.happened", subject=f"thing:{n}",
               now=SystemClock().now(), details={"n": n, "unicode": "✓"})


def _seal(engine) -> int:
    with session_scope(engine) as session:
        return seal(session=session)


def _verify(engine):
    with session_scope(engine) as session:
        return verify(session=session)


def test_chain_verifies_and_detects_tampering(db_url: str) -> None:
    """Editing one sealed entry's details breaks verification exactly at that entry."""
    engine = make_engine(db_url)
    for n in range(5):
        _append(engine, n)
    assert _verify(engine).unsealed == 5
    assert _seal(engine) == 5
    report = _verify(engine)
    assert report.ok and report.checked == 5 and report.unsealed == 0
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET details = :d WHERE id = 3"), {"d": '{"n": 99}'})
    report = _verify(engine)
    assert not report.ok and report.broken_id == 3 and report.checked == 2


def test_deleting_an_entry_breaks_the_link(sqlite_url: str) -> None:
    """Removing a sealed entry is caught at the next one."""
    engine = make_engine(sqlite_url)
    for n in range(4):
        _append(engine, n)
    _seal(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 2"))
    report = _verify(engine)
    assert not report.ok and report.broken_id == 3


def test_sealing_continues_the_chain(sqlite_url: str) -> None:
    """Entries sealed in later rounds link to the last sealed one, so the chain stays one line."""
    engine = make_engine(sqlite_url)
    for round_ in range(3):
        for n in range(3):
            _append(engine, round_ * 10 + n)
        _seal(engine)
    with session_scope(engine) as session:
        seqs = [e.seq for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert seqs == list(range(1, 10)) and _verify(engine).ok


@pytest.mark.postgres_too
def test_concurrent_appends_and_sealers_keep_one_line(db_url: str) -> None:
    """Writers and sealers racing on several threads still produce a single unbroken chain."""
    engine = make_engine(db_url)

    def write(i: int) -> None:
        for k in range(5):
            _append(engine, i * 10 + k)
            _seal(engine)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _seal(engine)
    report = _verify(engine)
    assert report.ok and report.checked == 30 and report.unsealed == 0


def test_cli_verify_reads_only_then_exits_by_result(sqlite_url: str) -> None:
    """`countersign audit verify` leaves pending entries unsealed (and says so); after `audit checkpoint` seals
    them it exits 0 on an intact chain and 1, naming the entry, when broken."""
    engine = make_engine(sqlite_url)
    for n in range(3):
        _append(engine, n)
    env = {**os.environ, "DATABASE_URL": sqlite_url,
           "COUNTERSIGN_AUDIT_ANCHOR_FILE": scratch_anchor_file(sqlite_url)}  # on by default: not into the repo

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services", "audit", *args], env=env, capture_output=True,
                              text=True)

    pending = cli("verify")
    assert pending.returncode == 0 and "3 entries are unsealed" in pending.stderr
    assert _verify(engine).unsealed == 3  # verify did not seal them
    assert cli("checkpoint").returncode == 0
    ok = cli("verify")
    assert ok.returncode == 0 and "3 sealed entries checked, 2 checkpoints match" in ok.stdout
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET verb = 'forged' WHERE id = 2"))
    broken = cli("verify")
    assert broken.returncode == 1 and "entry 2" in broken.stderr
