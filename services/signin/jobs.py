"""Drop sign-in links and sessions a day after they stopped being usable."""

from __future__ import annotations

from services.context import AppContext
from services.jobs import Job
from services.signin import service


def purge_signins(ctx: AppContext) -> None:
    now = ctx.clock.now()
    with ctx.read() as session:
        if not service.has_expired_rows(session=session, now=now):
            return
    with ctx.uow() as session:
        service.purge(session=session, now=now)


JOBS = [Job("signin.purge", purge_signins, every_s=3600)]
