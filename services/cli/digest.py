"""`countersign digest show` (read a digest here, no Slack), `countersign digest send [--channel C…]` and
`countersign digest schedule add|list|remove`."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from services.audit.service import Actor
from services.cli.common import attempt, cli, database_options, emit, fail, make_context, validation_failed
from services.digests import flows
from services.digests.models import ScheduleCreate
from services.errors import CountersignError, field_error

CLI_ACTOR = Actor("admin", "cli")


@cli.group(help="Cost and approvals digests.")
def digest() -> None:
    pass


@digest.command(help="Print a digest here (sends nothing, writes nothing): the last complete period, or with "
                     "--so-far the period running now, up to now.")
@click.option("--period", type=click.Choice(["day", "week", "month"]), default="day", show_default=True)
@click.option("--so-far", is_flag=True, help="The current period up to now (today so far, this week so far).")
@click.option("--agent", "agent_name", help="Only this agent's spend, drafts, incidents and budgets.")
@click.option("--format", "format_", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--chart", "chart_file", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Also write the chart (spend per day per agent against its daily budget) to this PNG file.")
def show(period: str, so_far: bool, agent_name: str | None, format_: str, chart_file: Path | None) -> None:
    from services.digests.text import as_json, render_text

    ctx = make_context()
    ready = attempt(flows.show, ctx=ctx, period=period, so_far=so_far, agent=agent_name, chart=chart_file is not None)
    if format_ == "json":
        emit(as_json(ready.digest, ready.story.text, narrative_source=ready.story.source, agent=agent_name))
    else:
        click.echo(render_text(ready.digest, ready.story.text, agent=agent_name), nl=False)
    if chart_file is None:
        return
    if ready.chart is None:
        click.echo(f"no chart: no spend in the chart's days, so {chart_file} was not written", err=True)
        return
    try:
        chart_file.write_bytes(ready.chart)
    except OSError as exc:
        fail(field_error("--chart", f"can't write {chart_file}: {exc.strerror or exc}"))
    click.echo(f"chart written to {chart_file}", err=True)


@digest.command(help="Post a digest now (to every scheduled channel by default): the last complete period, or "
                     "with --so-far the period running now, up to now.")
@click.option("--channel", help="Channel id (C…); default: every channel with a schedule.")
@click.option("--period", type=click.Choice(["day", "week", "month"]), default="day", show_default=True)
@click.option("--so-far", is_flag=True, help="The current period up to now (today so far, this week so far).")
def send(channel: str | None, period: str, so_far: bool) -> None:
    ctx = make_context()
    if channel is None:
        with ctx.read() as session:
            scheduled = bool(flows.list_schedules(session=session))
        if not scheduled:
            fail(field_error("--channel", f"no channel given and no digest schedule exists: pass --channel C… to "
                             f"post it to Slack, or read it here with `countersign digest show --period {period}"
                             f"{' --so-far' if so_far else ''}`"))
    runs = attempt(flows.send_now, ctx=ctx, channel=channel, period=period, actor=CLI_ACTOR, so_far=so_far)
    what = f"this {period} so far" if so_far else f"the last complete {period}"
    click.echo(f"digest of {what} queued for delivery ({len(runs)} channel(s)); the outbox posts it when Slack "
               "is reachable")
    if not ctx.settings.slack_enabled:
        click.echo("Slack is off (SLACK_BOT_TOKEN unset): it waits in the outbox until Slack is set up and "
                   "`countersign serve` runs. To read it now: countersign digest show", err=True)


@digest.group(help="When digests are posted, per channel.")
def schedule() -> None:
    pass


@schedule.command("add", help="Add a schedule; without --cron, the defaults: daily 09:00 and weekly Monday 09:00.")
@click.option("--channel", required=True, help="Channel id (C…).")
@click.option("--cron", help='Crontab expression, e.g. "0 9 * * mon-fri".')
@click.option("--timezone", "timezone_", help="IANA zone for the cron expression; default COUNTERSIGN_TIMEZONE.")
@click.option("--period", type=click.Choice(["day", "week", "month"]), help="What each digest covers.")
@database_options
def add(channel: str, cron: str | None, timezone_: str | None, period: str | None) -> None:
    try:
        data = ScheduleCreate(channel=channel, cron=cron, timezone=timezone_, period=period)
    except ValidationError as exc:
        validation_failed(exc, default_field="schedule")
    ctx = make_context(create=True)
    with ctx.uow() as session:
        rows = flows.add_schedules(session=session, data=data, default_tz=ctx.settings.timezone, actor=CLI_ACTOR,
                                   now=ctx.clock.now())
    emit(rows)


@schedule.command("list", help="Every schedule, as JSON.")
def list_command() -> None:
    ctx = make_context()
    with ctx.read() as session:
        emit(flows.list_schedules(session=session))


@schedule.command(help="Remove a schedule by id.")
@click.argument("schedule_id", type=int)
def remove(schedule_id: int) -> None:
    ctx = make_context()
    try:
        with ctx.uow() as session:
            flows.remove_schedule(session=session, schedule_id=schedule_id, actor=CLI_ACTOR, now=ctx.clock.now())
    except CountersignError as exc:
        fail(exc)
        return
    click.echo(f"schedule {schedule_id} removed")
