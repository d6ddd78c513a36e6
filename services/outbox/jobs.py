"""The outbox's housekeeping (delivery itself is the sender's, services.outbox.sender)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from services.context import AppContext
from services.jobs import Job
from services.outbox.models import OutboxMessage


def purge_delivered_outbox(ctx: AppContext) -> None:
    """Delivered rows are kept a week for inspection, then dropped so the table stays small."""
    with ctx.uow() as session:
        cutoff = ctx.clock.now() - timedelta(days=7)
        session.exec(delete(OutboxMessage).where(OutboxMessage.status == "sent", OutboxMessage.sent_at < cutoff))  # type: ignore[call-overload,arg-type,operator]


JOBS = [Job("outbox.purge_delivered", purge_delivered_outbox, every_s=3600)]
