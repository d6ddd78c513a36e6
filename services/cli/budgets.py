"""`countersign budgets set|list|remove|show|price-override|prices|price-remove`: team and global budgets,
an agent's budget state, and per-model price overrides."""

from __future__ import annotations

from collections.abc import Callable

import click
from pydantic import BaseModel, ValidationError

from services.agents import service as agents
from services.audit.service import Actor
from services.cli.common import cli, database_options, emit, fail, make_context, validation_failed
from services.errors import CountersignError
from services.spend import admin, service
from services.spend.models import PriceOverrideIn, ScopedBudgetIn

CLI_ACTOR = Actor("admin", "cli")


def _parse(model: type[BaseModel], **fields: object) -> BaseModel:
    try:
        return model(**fields)
    except ValidationError as exc:
        validation_failed(exc)


@cli.group(help="Team and global budgets, and per-model prices.")
def budgets() -> None:
    pass


@budgets.command("set", help="Create or replace a team or global budget for one period.")
@click.option("--scope", type=click.Choice(["team", "global"]), required=True)
@click.option("--team", help="Team name (with --scope team).")
@click.option("--period", type=click.Choice(["day", "week", "month"]), required=True)
@click.option("--limit", "limit_usd", type=float, required=True, help="USD.")
@click.option("--on-exceed", type=click.Choice(["alert", "pause"]), default="alert", show_default=True)
@click.option("--threshold", "thresholds", type=float, multiple=True, help="Fraction, e.g. 0.8; repeatable.")
@database_options
def set_command(scope: str, team: str | None, period: str, limit_usd: float, on_exceed: str,
                thresholds: tuple[float, ...]) -> None:
    extra = {"thresholds": list(thresholds)} if thresholds else {}
    data = _parse(ScopedBudgetIn, scope=scope, team=team, period=period, limit_usd=limit_usd, on_exceed=on_exceed,
                  **extra)
    ctx = make_context(create=True)
    with ctx.uow() as session:
        budget, _ = admin.set_budget(session=session, data=data, actor=CLI_ACTOR, now=ctx.clock.now())  # type: ignore[arg-type]
    emit(budget)


@budgets.command("list", help="Team and global budgets, as JSON.")
def list_command() -> None:
    ctx = make_context()
    with ctx.read() as session:
        emit(admin.list_budgets(session=session))


def _delete(delete: Callable[..., None], done: str, **target: object) -> None:
    """Run one audited removal; a missing target is the error message and exit status 2."""
    ctx = make_context()
    try:
        with ctx.uow() as session:
            delete(session=session, actor=CLI_ACTOR, now=ctx.clock.now(), **target)
    except CountersignError as exc:
        fail(exc)
        return
    click.echo(done)


@budgets.command(help="Remove a team or global budget by id.")
@click.argument("budget_id", type=int)
def remove(budget_id: int) -> None:
    _delete(admin.delete_budget, f"budget {budget_id} removed", budget_id=budget_id)


@budgets.command(help="An agent's spend and every budget that applies to it, as JSON.")
@click.argument("name")
def show(name: str) -> None:
    ctx = make_context()
    try:
        with ctx.read() as session:
            agent = agents.require_agent(session=session, name=name)
            emit(service.spend_summary(session=session, agent=agent, now=ctx.clock.now(), tz=ctx.settings.tz))
    except CountersignError as exc:
        fail(exc)


@budgets.command("price-override", help="Set a model's price per million tokens (checked before genai-prices).")
@click.argument("model")
@click.option("--input", "input_per_mtok", type=float, required=True, help="USD per million input tokens.")
@click.option("--output", "output_per_mtok", type=float, required=True, help="USD per million output tokens.")
@click.option("--cached-input", "cached_input_per_mtok", type=float, help="USD per million cached input tokens.")
@database_options
def price_override(model: str, input_per_mtok: float, output_per_mtok: float,
                   cached_input_per_mtok: float | None) -> None:
    data = _parse(PriceOverrideIn, input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok,
                  cached_input_per_mtok=cached_input_per_mtok)
    ctx = make_context(create=True)
    with ctx.uow() as session:
        emit(admin.set_price(session=session, model=model[:128], data=data, actor=CLI_ACTOR, now=ctx.clock.now()))  # type: ignore[arg-type]


@budgets.command(help="Every price override, as JSON.")
def prices() -> None:
    ctx = make_context()
    with ctx.read() as session:
        emit(admin.list_prices(session=session))


@budgets.command("price-remove", help="Remove a model's price override.")
@click.argument("model")
def price_remove(model: str) -> None:
    _delete(admin.delete_price, f"price override for {model} removed", model=model)
