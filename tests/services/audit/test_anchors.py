"""Signed checkpoints anchor the audit chain. Each attack on it (trimming the tail,
deleting in the middle and recomputing, inserting an unsealed row, forging or deleting checkpoints) is run
against a real database and `countersign audit verify` must catch it, read-only."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from services.assembly import build_context
from services.audit.anchors import sign, signing_key, verify_anchors
from services.audit.flows import anchor
from services.audit.models import AuditCheckpoint, AuditEntry
from services.audit.service import Actor, record, seal, verify
from services.clock import SystemClock
from services.context import AppContext
from services.db import make_engine
from testkit.fakes.slack import FakeSlack
from tests.harness import Harness, make_settings
from tests.services.cli.run import cli

SECRET = "anchor-test-secret-key"


class RecordingNotifier:
    """Only what the anchor job needs: each checkpoint line posted, by channel."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, str]] = []

    def audit_anchor(self, *, session: Any, channel: str, line: str, now: datetime) -> None:
        self.posted.append((channel, line))


def make_ctx(url: str, tmp_path: Path, **settings: Any) -> AppContext:
    values = {"COUNTERSIGN_SECRET_KEY": SECRET, "COUNTERSIGN_AUDIT_ANCHOR_FILE": str(tmp_path / "anchors.jsonl"),
              **settings}
    return build_context(make_settings(url, **values), engine=make_engine(url), clock=SystemClock(),
                         notifier=RecordingNotifier())  # type: ignore[arg-type]


def append(ctx: AppContext, n: int, start: int = 0) -> None:
    with ctx.uow() as session:
        for i in range(start, start + n):
            record(session=session, actor=Actor.system("test"), verb="thing.happened", subject=f"thing:{i}",
                   now=ctx.clock.now(), details={"n": i})


def seal_all(ctx: AppContext) -> None:
    with ctx.uow() as session:
        seal(session=session)


def chain_and_anchors(ctx: AppContext) -> tuple[Any, Any]:
    with ctx.read() as session:
        return verify(session=session), verify_anchors(session=session, secret_key=ctx.secret_key,
                                                      file_path=ctx.settings.audit_anchor_file)


def cli_verify(url: str, tmp_path: Path, secret: str = SECRET) -> Any:
    """`countersign audit verify`, in process (tests/services/audit/test_chain.py runs it as a process too)."""
    return cli("audit", "verify", url=url, COUNTERSIGN_SECRET_KEY=secret or None,
               COUNTERSIGN_AUDIT_ANCHOR_FILE=str(tmp_path / "anchors.jsonl"))


def anchored_chain(url: str, tmp_path: Path, n: int = 8) -> AppContext:
    ctx = make_ctx(url, tmp_path)
    append(ctx, n)
    seal_all(ctx)
    assert anchor(ctx, force=True) is not None
    return ctx


@pytest.mark.postgres_too
def test_checkpoint_is_stored_signed_filed_and_posted(db_url: str, tmp_path: Path) -> None:
    """The job stores a signed checkpoint of the head, appends it to the file and posts it to the channel."""
    ctx = make_ctx(db_url, tmp_path, COUNTERSIGN_AUDIT_ANCHOR_CHANNEL="C0AUDIT")
    append(ctx, 3)
    seal_all(ctx)
    taken = anchor(ctx)
    assert taken is not None and taken.seq == 3 and taken.key_source == "env"
    key, _ = signing_key(None, SECRET)  # type: ignore[arg-type]  # the env key needs no session
    assert taken.mac == sign(key, seq=3, hash=taken.hash, created_at=taken.created_at)
    line = json.loads((tmp_path / "anchors.jsonl").read_text().splitlines()[-1])
    assert line["seq"] == 3 and line["hash"] == taken.hash
    assert ctx.notifier.posted == [("C0AUDIT", (tmp_path / "anchors.jsonl").read_text().strip())]  # type: ignore[attr-defined]
    assert anchor(ctx) is None  # the head did not move: no new checkpoint
    chain, anchors = chain_and_anchors(ctx)
    assert chain.ok and anchors.ok and anchors.checked == 2 and not anchors.warnings


def test_trimmed_tail_is_caught(db_url: str, tmp_path: Path) -> None:
    """Deleting the last sealed entries leaves a valid chain, but the checkpoint says it was longer."""
    ctx = anchored_chain(db_url, tmp_path)
    with ctx.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq > 5"))
    chain, anchors = chain_and_anchors(ctx)
    assert chain.ok  # the chain alone cannot see it
    assert not anchors.ok and "deleted from the end" in anchors.problems[0]
    result = cli_verify(db_url, tmp_path)
    assert result.exit_code == 1 and "deleted from the end" in result.stderr, result.stderr


def _reseal_everything(ctx: AppContext) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET seq = NULL, prev_hash = NULL, hash = NULL"))
    seal_all(ctx)


def test_deleted_middle_and_recomputed_chain_is_caught(db_url: str, tmp_path: Path) -> None:
    """Deleting entries in the middle and recomputing every hash (even padding back to the same length)
    no longer matches the checkpoint's hash."""
    ctx = anchored_chain(db_url, tmp_path)
    with ctx.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq IN (3, 4)"))
    append(ctx, 2, start=100)  # padding, so the count matches again
    _reseal_everything(ctx)
    chain, anchors = chain_and_anchors(ctx)
    assert chain.ok and chain.checked == 8
    assert not anchors.ok and any("rewritten" in p for p in anchors.problems), anchors.problems
    result = cli_verify(db_url, tmp_path)
    assert result.exit_code == 1 and "rewritten" in result.stderr


def test_forged_checkpoint_is_caught(db_url: str, tmp_path: Path) -> None:
    """Trim, then replace the checkpoints with one for the new head signed without the key: bad signature."""
    ctx = anchored_chain(db_url, tmp_path)
    (tmp_path / "anchors.jsonl").unlink()  # the attacker can't reach the file; test the database alone
    with ctx.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq > 6"))
        conn.execute(text("DELETE FROM audit_checkpoints"))
        head_hash = conn.execute(text("SELECT hash FROM audit_log WHERE seq = 6")).scalar_one()
    now = datetime.now(timezone.utc)
    with ctx.uow() as session:
        key = b"the-database-key-or-a-guess"
        session.add(AuditCheckpoint(created_at=now, seq=6, hash=head_hash, key_source="env",
                                    mac=sign(key, seq=6, hash=head_hash, created_at=now)))
    ctx.settings.audit_anchor_file = None
    chain, anchors = chain_and_anchors(ctx)
    assert chain.ok and not anchors.ok and "bad signature" in anchors.problems[0]


def test_deleted_checkpoints_are_caught_by_the_anchor_file(db_url: str, tmp_path: Path) -> None:
    """Trim the tail and delete every checkpoint row: the file copy still says how long the chain was."""
    ctx = anchored_chain(db_url, tmp_path)
    with ctx.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq > 4"))
        conn.execute(text("DELETE FROM audit_checkpoints"))
    chain, anchors = chain_and_anchors(ctx)
    assert chain.ok and not anchors.ok
    assert any("deleted from the end" in p for p in anchors.problems)
    assert any("database lost" in p for p in anchors.problems)


def test_verify_does_not_seal_and_reports_unsealed_rows(db_url: str, tmp_path: Path) -> None:
    """An entry the application wrote but the sealer has not linked yet stays unsealed through `audit verify`,
    which says so (and is not a failure)."""
    ctx = anchored_chain(db_url, tmp_path, n=3)
    append(ctx, 1, start=50)
    result = cli_verify(db_url, tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "1 entries are unsealed" in result.stderr and "3 sealed entries checked" in result.stdout
    with ctx.read() as session:
        unsealed = session.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.seq == None)).one()  # noqa: E711
    assert unsealed == 1


def test_without_the_secret_key_verify_warns(sqlite_url: str, tmp_path: Path) -> None:
    """Signed with the database's own key, checkpoints are accepted but verify says what they cannot catch."""
    ctx = make_ctx(sqlite_url, tmp_path, COUNTERSIGN_SECRET_KEY="")
    append(ctx, 2)
    seal_all(ctx)
    taken = anchor(ctx)
    assert taken is not None and taken.key_source == "database"
    result = cli_verify(sqlite_url, tmp_path, secret="")
    assert result.exit_code == 0 and "COUNTERSIGN_SECRET_KEY is unset" in result.stderr


def test_checkpoint_posted_to_slack_through_the_notifier(sqlite_url: str, slack: FakeSlack, tmp_path: Path) -> None:
    """With COUNTERSIGN_AUDIT_ANCHOR_CHANNEL the real notifier posts the checkpoint line into that channel."""
    with Harness(sqlite_url, slack=slack, COUNTERSIGN_AUDIT_ANCHOR_CHANNEL="C0AUDIT",
                 COUNTERSIGN_SECRET_KEY=SECRET) as h:
        h.register()  # audited: agent.created
        seal_all(h.ctx)
        taken = anchor(h.ctx, force=True)
        assert taken is not None
        h.drain()
        [message] = slack.messages_in("C0AUDIT")
        assert taken.hash in message["text"] and taken.mac in message["text"]
