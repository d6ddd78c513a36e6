"""`countersign digest send --so-far` posts the current period up to now."""

from __future__ import annotations

from sqlmodel import select

from services.audit.models import AuditEntry
from tests.harness import Harness
from tests.services.cli.run import cli


def test_send_so_far_from_the_cli(sqlite_url: str) -> None:
    """--so-far says what it covers and records the request as so far; without it, the last complete day."""
    with Harness(sqlite_url, run_background=False) as h:
        h.register()
    sent = cli("digest", "send", "--channel", "C0DIGEST", "--so-far", url=sqlite_url)
    assert sent.exit_code == 0 and "digest of this day so far queued" in sent.stdout
    plain = cli("digest", "send", "--channel", "C0DIGEST", url=sqlite_url)
    assert "the last complete day" in plain.stdout
    with Harness(sqlite_url, run_background=False) as h, h.ctx.read() as session:
        asked = session.exec(select(AuditEntry).where(AuditEntry.verb == "digest.requested")
                             .order_by(AuditEntry.id)).all()  # type: ignore[arg-type]
    assert [e.details["so_far"] for e in asked] == [True, False]
