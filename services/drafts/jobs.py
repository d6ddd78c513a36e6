"""Draft jobs: reminders before expiry, then expiry itself. Both claim due rows, so replicas can share them."""

from __future__ import annotations

from services.drafts.flows import expire_due, remind_due
from services.scheduler import Job

JOBS = [
    Job("drafts.remind", remind_due),
    Job("drafts.expire", expire_due),
]
