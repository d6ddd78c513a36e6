"""Shared CLI plumbing: the root group and a context built from settings, without the web server.

The CLI says which database it uses whenever that is not the one `countersign serve` started in the same
directory (from another terminal, so without this shell's exported variables) would use, and only commands that
create something may create a database: a read-only command against a missing SQLite file says so and exits 3.
A write command creates one only when the database was named (`--database URL`, DATABASE_URL) or the person
confirmed with `--create-database`: run from the wrong folder, it would otherwise make a fresh database there and
hand out an API key the running server has never heard of.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from services.config import Settings
    from services.context import AppContext
    from services.errors import CountersignError

T = TypeVar("T")
NO_DATABASE = 3  # exit status of a command that needs an existing database and found none
DEFAULT_DATABASE_URL = "sqlite:///./countersign.db"

# Each command's module and one-line help: `countersign --help` lists them without importing any (the domain
# modules pull in SQLAlchemy, FastAPI and friends), and a command's module loads only when it runs.
COMMANDS = {
    "agents": ("agents", "Register and manage agents."),
    "audit": ("audit", "The append-only audit log."),
    "budgets": ("budgets", "Team and global budgets, and per-model prices."),
    "db": ("db", "Database schema."),
    "digest": ("digest", "Cost and approvals digests."),
    "drafts": ("drafts", "List drafts and decide them without Slack, as a Slack user, under the rules of a click."),
    "evals": ("evals", "Evaluation sets built from real human decisions."),
    "people": ("people", "People away: who stands in for whom, until when."),
    "outbox": ("outbox", "What waits to be sent (Slack messages and agent callbacks), per destination, oldest first, "
                         "with the next attempt and the last error."),
    "serve": ("serve", "Migrate the database, then run the HTTP server, the Slack app and the scheduler."),
    "web": ("web", "The review web app at /app/."),
    "demo": ("demo", "Try Countersign without Slack: a throwaway database, a demo agent, and the web app."),
    "runs": ("runs", "Runs of critical processes: list them, show one, and answer a halted one (resume, abort, "
                     "hand over) without Slack."),
}


def available() -> list[str]:
    """The commands whose module is installed (a domain left out of a build leaves its command out)."""
    return [name for name, (module, _) in COMMANDS.items()
            if importlib.util.find_spec(f"services.cli.{module}") is not None]


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(available()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module = f"services.cli.{COMMANDS[name][0]}"
            try:
                importlib.import_module(module)  # attaches the command to this group
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is not None:
                rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Options about the database are kept in the context's meta (shared by the group and its command), where
    make_context finds them; no command's signature carries them."""
    if value:
        ctx.meta[f"countersign.{param.name}"] = value


def _option(name: str) -> Any:
    ctx = click.get_current_context(silent=True)
    return None if ctx is None else ctx.meta.get(f"countersign.{name}")


DATABASE_HELP = "The database to use (overrides DATABASE_URL), e.g. sqlite:////abs/path/countersign.db."
database_option = click.option("--database", metavar="URL", expose_value=False, callback=_remember,
                               help=DATABASE_HELP)
create_database_option = click.option(
    "--create-database", is_flag=True, expose_value=False, callback=_remember,
    help="Create the database if it does not exist yet (otherwise a missing database is an error).")


def database_options(command: Callable[..., T]) -> Callable[..., T]:
    """`--database URL` and `--create-database`, for a command that writes (and so may create the database)."""
    return database_option(create_database_option(command))


@click.group(cls=LazyGroup, help="Countersign: human checkpoints, accountable owners and budgets for AI agents.")
@database_option
def cli() -> None:
    pass


def sqlite_path(url: str) -> Path | None:
    """The absolute file behind a SQLite URL; None for other databases and in-memory ones."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


def describe(url: str) -> str:
    from sqlalchemy.engine import make_url

    path = sqlite_path(url)
    return f"SQLite at {path}" if path else make_url(url).render_as_string(hide_password=True)


def serve_database_url(env_file: Path = Path(".env")) -> str:
    """What a `countersign serve` started here in a fresh terminal would use: `.env` in this directory, else
    the default. (A variable exported only in this shell is not seen by a server started elsewhere.)"""
    if env_file.is_file():
        from dotenv import dotenv_values

        value = dotenv_values(env_file).get("DATABASE_URL")
        if value:
            return value
    return DEFAULT_DATABASE_URL


def _same_database(a: str, b: str) -> bool:
    from services.db import normalize_url

    path_a, path_b = sqlite_path(a), sqlite_path(b)
    if path_a or path_b:
        return path_a == path_b
    return normalize_url(a) == normalize_url(b)


def check_database(settings: Settings, *, create: bool, confirmed: bool = True) -> None:
    """Name the database when it differs from serve's; refuse to create one for a read-only command, and for a
    write command unless `confirmed` (the database was named, or --create-database given)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    url = settings.database_url
    try:
        make_url(url)
    except ArgumentError:
        click.echo(f"error: DATABASE_URL is not a database URL: {url!r} (e.g. sqlite:///./countersign.db or "
                   "postgresql://user:password@host:5432/countersign)", err=True)
        sys.exit(2)
    if not _same_database(url, serve_database_url()):
        click.echo(f"database: {describe(url)} (--database or DATABASE_URL; a `countersign serve` started "
                   f"here without it would use {describe(serve_database_url())})", err=True)
    path = sqlite_path(url)
    if path is None or path.exists():
        return
    if not create:
        click.echo(f"error: no database at {path}; nothing was created.\n"
                   "  Run this from the directory where `countersign serve` runs, or pass --database URL (or set "
                   "DATABASE_URL) naming the database it uses (for SQLite an absolute path: "
                   "sqlite:////path/to/countersign.db).", err=True)
        sys.exit(NO_DATABASE)
    if not confirmed:
        click.echo(f"error: no database at {path}; nothing was created.\n"
                   "  If `countersign serve` runs in another directory, run this there, or pass --database URL "
                   "(or set DATABASE_URL) naming the database it uses (for SQLite an absolute path: "
                   "sqlite:////path/to/countersign.db): an API key made in a new database is refused by that "
                   "server.\n  To create a new database here, add --create-database.", err=True)
        sys.exit(NO_DATABASE)
    click.echo(f"database: creating a new SQLite database at {path}", err=True)


def make_context(*, migrate: bool = True, create: bool = False) -> AppContext:
    """An AppContext for one command. `create`: this command may create the database (it writes something
    a person asked for); every other command needs an existing one."""
    from services import migrations
    from services.assembly import build_context
    from services.clock import SystemClock
    from services.config import get_settings
    from services.db import make_engine

    settings = get_settings()
    named = _option("database")
    if named:
        settings = settings.model_copy(update={"database_url": named})
    explicit = bool(named) or "database_url" in settings.model_fields_set
    check_database(settings, create=create, confirmed=explicit or bool(_option("create_database")))
    engine = make_engine(settings.database_url)
    if migrate:
        migrations.upgrade(engine)
    return build_context(settings, engine=engine, clock=SystemClock())


def emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, allow_nan=False))


def attempt(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Call a flow; a domain refusal becomes its message on stderr and exit code 2."""
    from services.errors import CountersignError

    try:
        return fn(**kwargs)
    except CountersignError as exc:
        fail(exc)


def fail(error: CountersignError) -> NoReturn:
    """One message per problem: a field error whose text the detail already says is not printed again."""
    click.echo(f"error: {error.detail}", err=True)
    for item in error.errors:
        if f"{item.field}: {item.message}" not in error.detail:
            click.echo(f"  {item.field}: {item.message}", err=True)
    sys.exit(2)


def validation_failed(exc: Any, *, default_field: str = "input") -> NoReturn:
    """A pydantic ValidationError from CLI options, one line per field, in the words the API uses."""
    from services.http.problems import explain

    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or default_field
        click.echo(f"error: {field}: {explain(err)}", err=True)
    sys.exit(2)
