"""Forget absences that have ended (reads already ignore them)."""

from __future__ import annotations

from services.context import AppContext
from services.jobs import Job
from services.people import service


def forget_ended_absences(ctx: AppContext) -> None:
    with ctx.uow() as session:
        service.forget_ended(session=session, now=ctx.clock.now())


JOBS = [Job("people.forget_ended", forget_ended_absences, every_s=3600)]
