"""Oversight's scheduled job: post canaries among real drafts, at each agent's rate."""

from __future__ import annotations

from services.oversight.canaries import post_due
from services.jobs import Job

JOBS = [Job("oversight.canaries", post_due, every_s=30)]
