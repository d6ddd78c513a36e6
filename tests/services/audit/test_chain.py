"""The audit chain: appends link by hash, and verification names the first tampered entry."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from sqlalchemy import text

from services.audit.models import AuditEntry
from services.audit.service import Actor, record, verify
from services.clock import SystemClock
from services.db import make_engine, session_scope


def _append(engine, n: int) -> None:
    with session_scope(engine) as session:
        record(session=session, actor=Actor.system("test"), verb="thing.happened", subject=f"thing:{n}",
               now=SystemClock().now(), details={"n": n, "unicode": "✓"})


def test_chain_verifies_and_detects_tampering(db_url: str) -> None:
    """Editing one entry's details breaks verification exactly at that entry."""
    engine = make_engine(db_url)
    for n in range(5):
        _append(engine, n)
    with session_scope(engine) as session:
        assert verify(session=session).ok
        target = session.get(AuditEntry, 3)
        assert target is not None
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET details = :d WHERE id = 3"), {"d": '{"n": 99}'})
    with session_scope(engine) as session:
        report = verify(session=session)
    assert not report.ok and report.broken_id == 3 and report.checked == 2


def test_deleting_an_entry_breaks_the_link(sqlite_url: str) -> None:
    """Removing an entry is caught at the next one."""
    engine = make_engine(sqlite_url)
    for n in range(4):
        _append(engine, n)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 2"))
    with session_scope(engine) as session:
        report = verify(session=session)
    assert not report.ok and report.broken_id == 3


def test_concurrent_appends_keep_one_line(db_url: str) -> None:
    """Writers racing on several threads still produce a single unbroken chain."""
    engine = make_engine(db_url)
    threads = [threading.Thread(target=lambda i=i: [_append(engine, i * 10 + k) for k in range(5)]) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with session_scope(engine) as session:
        report = verify(session=session)
    assert report.ok and report.checked == 30


def test_cli_verify_exit_codes(sqlite_url: str) -> None:
    """`countersign audit verify` exits 0 on an intact chain and non-zero, naming the entry, when broken."""
    engine = make_engine(sqlite_url)
    for n in range(3):
        _append(engine, n)
    env = {**os.environ, "DATABASE_URL": sqlite_url}
    ok = subprocess.run([sys.executable, "-m", "services", "audit", "verify"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and "intact" in ok.stdout
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET verb = 'forged' WHERE id = 2"))
    broken = subprocess.run([sys.executable, "-m", "services", "audit", "verify"], env=env, capture_output=True,
                            text=True)
    assert broken.returncode == 1 and "entry 2" in broken.stderr
