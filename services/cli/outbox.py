"""`countersign outbox`: what waits to be sent, per kind and destination, oldest first, and why."""

from __future__ import annotations

from datetime import datetime

import click

from services.cli.common import cli, make_context
from services.outbox.models import OutboxMessage
from services.outbox.report import Queue, counts, destination, gave_up, waiting


def _when(moment: datetime, now: datetime) -> str:
    seconds = (moment - now).total_seconds()
    stamp = moment.strftime("%Y-%m-%d %H:%M:%SZ")
    if abs(seconds) < 1:
        return f"{stamp} (now)"
    ago = seconds < 0
    seconds = abs(seconds)
    if seconds < 120:
        span = f"{seconds:.0f}s"
    else:
        span = f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"
    return f"{stamp} ({span} ago)" if ago else f"{stamp} (in {span})"


def _why(row: OutboxMessage, now: datetime, slack_on: bool) -> str:
    if row.kind == "slack" and not slack_on:
        return "Slack is off (SLACK_BOT_TOKEN unset): sent once it is set and `countersign serve` runs"
    if row.claimed_until and row.claimed_until > now:
        return "being sent now"
    if row.last_error:
        return f"last error: {row.last_error}"
    return "not tried yet" if row.attempts == 0 else "retrying"


@cli.command(help="What waits to be sent (Slack messages and agent callbacks), per destination, oldest first, "
                  "with the next attempt and the last error.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=1000, show_default=True,
              help="Read at most this many waiting rows.")
@click.option("--dead", "dead_limit", type=click.IntRange(0, 10_000), default=20, show_default=True,
              help="Show at most this many rows that gave up for good (newest first).")
def outbox(limit: int, dead_limit: int) -> None:
    ctx = make_context()
    now = ctx.clock.now()
    with ctx.read() as session:
        queues = waiting(session=session, limit=limit)
        totals = counts(session=session)
        given_up = gave_up(session=session, limit=dead_limit) if dead_limit else []
    dead = f"; {totals['dead']} gave up for good" if totals.get("dead") else ""
    if not queues:
        click.echo(f"nothing waits to be sent ({totals.get('sent', 0)} sent{dead})")
    else:
        click.echo(f"{totals.get('pending', 0)} waiting to be sent, {totals.get('sent', 0)} sent{dead}")
    _waiting(queues, now, ctx.settings.slack_enabled)
    _gave_up(given_up, totals.get("dead", 0), now)


def _waiting(queues: list[Queue], now: datetime, slack_on: bool) -> None:
    for queue in queues:
        click.echo(f"\n{queue.kind} {queue.destination}: {len(queue.rows)} waiting, oldest {_when(queue.oldest, now)}")
        for row in queue.rows:
            click.echo(f"  #{row.id} {row.method}  queued {_when(row.created_at, now)}  attempts {row.attempts}  "
                       f"next {_when(row.next_attempt_at, now)}  gives up {_when(row.give_up_at, now)}")
            click.echo(f"      {_why(row, now, slack_on)}")


def _gave_up(rows: list[OutboxMessage], total: int, now: datetime) -> None:
    """Each row that will never be sent: what it was, where it was going, how often it was tried, and why it
    failed (the same facts the draft page's callback table shows)."""
    if not rows:
        return
    more = f", the newest {len(rows)} of {total} (--dead N for more)" if total > len(rows) else ""
    click.echo(f"\ngave up for good{more}:")
    for row in rows:
        click.echo(f"  #{row.id} {row.kind} {row.method} to {destination(row)}  attempts {row.attempts}  "
                   f"queued {_when(row.created_at, now)}")
        click.echo(f"      last error: {row.last_error or '(none recorded)'}")
