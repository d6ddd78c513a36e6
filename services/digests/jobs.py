"""Digest jobs: send each schedule's due digest once (also the one missed while the service was down)."""

from __future__ import annotations

from services.digests.flows import run_due
from services.jobs import Job

JOBS = [Job("digests.send_due", run_due, every_s=10)]
