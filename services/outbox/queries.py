"""What people may ask of the outbox: the delivery state of the callbacks sent about one thing."""

from __future__ import annotations

from sqlmodel import Session, col, select

from services.outbox.models import OutboxMessage


def callbacks(*, session: Session, order_key: str) -> list[OutboxMessage]:
    """Every callback queued under this order key (e.g. `callback:draft:<id>`), oldest first."""
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == "callback",
                                                         OutboxMessage.order_key == order_key)
                             .order_by(col(OutboxMessage.id))).all())
