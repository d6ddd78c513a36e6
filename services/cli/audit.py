"""`countersign audit verify`: exit non-zero, naming the first broken entry, if the chain does not hold."""

from __future__ import annotations

import sys

import click

from services.audit.service import seal, verify
from services.cli.common import cli, make_context


@cli.group(help="The append-only audit log.")
def audit() -> None:
    pass


@audit.command("verify", help="Check the hash chain; non-zero exit if broken.")
def verify_command() -> None:
    ctx = make_context()
    with ctx.uow() as session:  # seal what committed since the last tick, so everything so far is checked
        seal(session=session)
    with ctx.read() as session:
        report = verify(session=session)
    if report.ok:
        late = f"; {report.unsealed} committed since, sealed on the next tick" if report.unsealed else ""
        click.echo(f"audit chain intact: {report.checked} entries checked{late}")
        return
    click.echo(f"audit chain BROKEN at entry {report.broken_id}: {report.problem} "
               f"({report.checked} entries before it are intact)", err=True)
    sys.exit(1)
