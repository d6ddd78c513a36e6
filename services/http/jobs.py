"""The HTTP layer's housekeeping: Idempotency-Key answers are kept 24 hours, then dropped."""

from __future__ import annotations

from services.context import AppContext
from services.http.idempotency import purge_expired
from services.jobs import Job


def purge_idempotency_keys(ctx: AppContext) -> None:
    with ctx.uow() as session:
        purge_expired(session=session, now=ctx.clock.now())


JOBS = [Job("idempotency.purge_expired", purge_idempotency_keys, every_s=3600)]
