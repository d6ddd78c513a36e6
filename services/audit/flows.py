"""Audit side effects: take a checkpoint of the chain and send its copies (a file, a Slack channel)."""

from __future__ import annotations

from services.audit.anchors import append_to_file, as_line, head, latest, take_checkpoint
from services.audit.models import AuditCheckpoint
from services.context import AppContext


def anchor(ctx: AppContext, *, force: bool = False) -> AuditCheckpoint | None:
    """A checkpoint of the sealed head when it moved and the last one is older than the anchor interval (or
    `force`). An idle or too-early tick only reads, so it never queues for SQLite's writer lock."""
    now = ctx.clock.now()
    with ctx.read() as session:
        top, last = head(session), latest(session)
        if top is None or (last is not None and last.seq >= (top.seq or 0)):
            return None
        recent = last is not None and (now - last.created_at).total_seconds() < ctx.settings.audit_anchor_every_s
        if recent and not force:
            return None
    channel = ctx.settings.audit_anchor_channel
    with ctx.uow() as session:
        checkpoint = take_checkpoint(session=session, now=now, secret_key=ctx.secret_key)
        if checkpoint is not None and channel:
            ctx.notifier.audit_anchor(session=session, channel=channel, line=as_line(checkpoint), now=now)
    if checkpoint is not None and ctx.settings.audit_anchor_file:
        append_to_file(ctx.settings.audit_anchor_file, as_line(checkpoint))
    return checkpoint
