"""Oversight's scheduled job: post canaries among real drafts, at each agent's rate."""

from __future__ import annotations

from services.jobs import Job
from services.oversight.canaries import post_due

JOBS = [Job("oversight.canaries", post_due, every_s=30)]
