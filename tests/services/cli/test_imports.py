"""`countersign --help` and commands that don't draw must not import matplotlib (it costs most of a second)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import sys
sys.argv = ["countersign", *sys.argv[1:]]
from services.cli import main
try:
    main()
except SystemExit:
    pass
print("MATPLOTLIB" if any(name.split(".")[0] == "matplotlib" for name in sys.modules) else "CLEAN")
"""


def run(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": "sqlite:///:memory:"}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=60)
    return done.stdout.strip().splitlines()[-1]


def test_help_and_plain_commands_do_not_load_matplotlib() -> None:
    """--help, a group's help and a command that reads the database leave matplotlib unimported."""
    assert run("--help") == "CLEAN"
    assert run("digest", "--help") == "CLEAN"
    assert run("agents", "list") == "CLEAN"


def test_help_lists_every_command_without_loading_any() -> None:
    """--help names each command with the same line its own help gives, yet imports neither SQLAlchemy nor
    a domain: the table in services.cli.common stays true to the commands."""
    probe = PROBE.replace('print("MATPLOTLIB" if', 'print("HEAVY" if any(n.split(".")[0] in ("sqlalchemy", "fastapi") '
                          'for n in sys.modules) else "LIGHT")\nprint("MATPLOTLIB" if')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe, "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-2] == "LIGHT"
    from services.cli.common import COMMANDS, available, cli

    for name in available():
        line = COMMANDS[name][1]
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.help == line, name
        assert name in done.stdout


def test_importing_the_cli_does_not_load_matplotlib() -> None:
    """`import services.cli` alone stays light too (the console script's entry point imports it)."""
    code = "import sys, services.cli; print(any(n.split('.')[0] == 'matplotlib' for n in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
