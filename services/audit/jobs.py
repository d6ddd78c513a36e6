"""The audit chain's jobs: link new entries into the chain, anchor its head outside the database, and write
the once-a-minute entries of repeated refusals."""

from __future__ import annotations

from services.audit.flows import anchor
from services.audit.refusals import write_due_refusals
from services.audit.service import has_unsealed, seal
from services.context import AppContext
from services.jobs import Job


def seal_audit_log(ctx: AppContext) -> None:
    """Link new audit entries into the chain; an idle tick only reads, so it never queues for SQLite's lock."""
    with ctx.read() as session:
        if not has_unsealed(session=session):
            return
    with ctx.uow() as session:
        seal(session=session)


def anchor_audit_chain(ctx: AppContext) -> None:
    """A signed checkpoint of the chain's head every COUNTERSIGN_AUDIT_ANCHOR_EVERY_S while it grows."""
    anchor(ctx)


JOBS = [Job("audit.seal", seal_audit_log), Job("audit.anchor", anchor_audit_chain, every_s=5),
        Job("audit.repeated_refusals", write_due_refusals, every_s=10)]
