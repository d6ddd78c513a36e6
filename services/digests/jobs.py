"""Digest jobs: send each schedule's due digest once (also the one missed while the service was down)."""

from __future__ import annotations

from services.digests.flows import run_due
from services.scheduler import Job

JOBS = [Job("send_due_digests", run_due, every_s=10)]
