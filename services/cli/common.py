"""Shared CLI plumbing: the root group and a context built from settings, without the web server."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from services.clock import SystemClock
from services.config import get_settings
from services.context import AppContext
from services.db import make_engine
from services.errors import CountersignError

T = TypeVar("T")


@click.group(help="Countersign: human checkpoints, accountable owners and budgets for AI agents.")
def cli() -> None:
    pass


def make_context(*, migrate: bool = True) -> AppContext:
    from services import migrations
    from services.main import default_notifier

    settings = get_settings()
    engine = make_engine(settings.database_url)
    if migrate:
        migrations.upgrade(engine)
    return AppContext(settings=settings, engine=engine, clock=SystemClock(), notifier=default_notifier())


def emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, allow_nan=False))


def attempt(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Call a flow; a domain refusal becomes its message on stderr and exit code 2."""
    try:
        return fn(**kwargs)
    except CountersignError as exc:
        fail(exc)
        raise  # not reached: fail() exits


def fail(error: CountersignError) -> NoReturn:
    click.echo(f"error: {error.detail}", err=True)
    for item in error.errors:
        click.echo(f"  {item.field}: {item.message}", err=True)
    sys.exit(2)
