"""`countersign audit verify`: read the chain without changing it; exit non-zero if it is broken, trimmed or
rewritten against a checkpoint, or if a checkpoint is forged. `countersign audit checkpoint` takes one now."""

from __future__ import annotations

import sys

import click

from services.audit.anchors import verify_anchors
from services.audit.flows import anchor
from services.audit.service import seal, verify
from services.cli.common import cli, make_context


@cli.group(help="The append-only audit log.")
def audit() -> None:
    pass


@audit.command("verify", help="Check the hash chain against its signed checkpoints; non-zero exit if broken. "
                              "Read-only: entries not sealed yet are reported, not sealed.")
@click.option("--anchor-file", default=None, metavar="PATH",
              help="checkpoints to compare with (default: COUNTERSIGN_AUDIT_ANCHOR_FILE, "
                   "countersign-audit-anchors.jsonl in the working directory)")
def verify_command(anchor_file: str | None) -> None:
    ctx = make_context()
    with ctx.read() as session:
        report = verify(session=session)
        anchors = verify_anchors(session=session, secret_key=ctx.secret_key,
                                 file_path=anchor_file or ctx.settings.audit_anchor_file)
    for warning in anchors.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.without_mac:
        click.echo(f"warning: the first {report.without_mac} sealed entries were written before entries carried a "
                   "MAC; the chain and the checkpoints still cover them", err=True)
    if report.older_key:
        click.echo(f"warning: {report.older_key} sealed entries were signed with the database's key, before "
                   "COUNTERSIGN_SECRET_KEY was set: they catch accidents, not someone who can read the database",
                   err=True)
    if report.unsealed:
        click.echo(f"{report.unsealed} entries are unsealed (not yet linked into the chain, so not covered by this "
                   "check); the scheduler seals them on its next tick", err=True)
    failures = [f"audit log: {line}" for line in report.problems]
    failures += [f"audit chain does not match its checkpoints: {problem}" for problem in anchors.problems]
    if failures:
        for line in failures:
            click.echo(line, err=True)
        if any("MAC" in line for line in report.problems):
            click.echo("(entry MACs are checked with COUNTERSIGN_SECRET_KEY: run verify with the server's value)",
                       err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {report.checked} sealed entries checked, {anchors.checked} checkpoints match"
               + (f", {report.unsealed} unsealed" if report.unsealed else ""))


@audit.command("checkpoint", help="Seal what has committed and take a signed checkpoint of the chain now.")
def checkpoint_command() -> None:
    ctx = make_context()
    with ctx.uow() as session:
        seal(session=session)
    taken = anchor(ctx, force=True)
    if taken is None:
        click.echo("nothing new to checkpoint: the last checkpoint already covers the chain's head")
        return
    click.echo(f"checkpoint taken at entry {taken.seq}: {taken.hash}")
