"""The house's layers, held by reading every module's imports: services/ reaches bot/ or web/ only in its
composition root (services/main.py and services/assembly.py); bot/ and web/ never import each other; the
client distribution imports nothing of the server. A new import across a line fails here, naming the file."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPOSITION_ROOT = frozenset({"services/main.py", "services/assembly.py"})
SERVER = ("services", "bot", "web", "testkit")


def imported(path: Path) -> Iterator[str]:
    """Every module a file imports, at any depth of the file (inside functions too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def crossings(folder: str, forbidden: tuple[str, ...], allowed: frozenset[str] = frozenset()) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        if where in allowed:
            continue
        found += [f"{where} imports {name}" for name in imported(path) if name.split(".")[0] in forbidden]
    return found


def test_the_domain_reaches_chat_and_html_only_in_the_composition_root() -> None:
    assert crossings("services", ("bot", "web"), COMPOSITION_ROOT) == []


def test_bot_and_web_never_import_each_other() -> None:
    assert crossings("bot", ("web",)) == [] and crossings("web", ("bot",)) == []


def test_the_client_imports_nothing_of_the_server() -> None:
    assert crossings("client/src", SERVER) == []
