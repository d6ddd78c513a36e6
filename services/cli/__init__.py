"""The `countersign` console script. Subcommand groups live beside this file, one per domain."""

from __future__ import annotations

import importlib

import click

from services.cli.common import cli


def main() -> None:
    for name in ("serve", "db", "agents", "drafts", "outbox", "audit", "digest", "evals", "budgets"):
        try:
            importlib.import_module(f"services.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.cli.{name}":
                raise
    cli(prog_name="countersign")


__all__ = ["cli", "click", "main"]
