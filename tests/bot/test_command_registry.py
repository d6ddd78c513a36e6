"""Subcommands are registered like every other listener kind: each module's register(commands), called in one
visible place; no global table filled as a side effect of an import."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.listeners.commands import subcommands
from bot.listeners.commands.registry import Subcommands


async def _nothing(ctx: object, command: dict, args: list[str]) -> str:
    return ""


def test_every_subcommand_is_registered_explicitly_and_listed_in_help() -> None:
    """Two builds are independent (nothing global), and help lists exactly what is registered."""
    first, second = subcommands(), subcommands()
    assert first is not second and first.get("help") is not None
    names = [c.name for c in first.all()]
    assert names == sorted({"autonomy", "budget", "digest", "help", "incidents", "owner", "pause", "pending",
                            "resume"} | set(names))
    assert [c.name for c in second.all()] == names


def test_a_name_registered_twice_is_an_error() -> None:
    """Two features claiming one subcommand is a bug to see at startup, not a silent overwrite."""
    commands = Subcommands()
    commands.add("x", "x", "first", _nothing)
    with pytest.raises(ValueError, match="registered twice"):
        commands.add("x", "x", "second", _nothing)


def test_no_listener_registers_itself_through_an_import() -> None:
    """The old `noqa: F401 (registers itself)` imports are gone from bot/."""
    root = Path(__file__).resolve().parents[2] / "bot"
    assert not [p for p in root.rglob("*.py") if "registers itself" in p.read_text()]
