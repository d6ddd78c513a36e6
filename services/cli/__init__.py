"""The `countersign` console script. Subcommand groups live beside this file, one per domain, and load only when
they run (see COMMANDS in common.py): `countersign --help` imports click and nothing heavy."""

from __future__ import annotations

import click

from services.cli.common import cli


def main() -> None:
    cli(prog_name="countersign")


__all__ = ["cli", "click", "main"]
