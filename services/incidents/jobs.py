"""The escalation job: every tick, take each due step once (claimed rows, so replicas never double-send)."""

from __future__ import annotations

from services.context import AppContext
from services.incidents.escalation import escalation_tick
from services.jobs import Job


def run_escalation(ctx: AppContext) -> None:
    escalation_tick(ctx)


JOBS = [Job("incidents.escalate", run_escalation)]
