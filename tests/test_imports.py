"""Every module of services/ and bot/ imports on its own: no import cycles, and none hidden inside functions.

Statically, the graph of module-level imports has no cycle (so any module can be imported first), and modules
import ours at the top, not inside functions, except where that is the point (services/main.py and
services/assembly.py wire bot/ in only where Slack is used; the CLI defers loading the whole service until a
command needs it). At run time, each module is imported first in an interpreter that has loaded none of ours: one
subprocess loads the third-party packages once, then forks a child per module, a few at a time (a fresh
interpreter per module would take a minute of start-ups). Importing `a.b.c` first starts by importing `a`, then
`a.b`: when importing `a.b` first already loaded `a.b.c`, importing `a.b.c` first is that very run, so it is not
run again (bot.listeners loads its two dozen listener modules).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("services", "bot", "web")
# Not importable on their own by design: a script's entry point (importing it runs the CLI) and Alembic's env
# script (it expects to run inside `alembic upgrade`, which sets alembic.context up first).
SCRIPTS = {"services.__main__", "services.migrations.env"}

CHILD = r"""
import gc, importlib, importlib.util, json, os, py_compile, sys, tempfile, traceback
modules, third_party = json.loads(sys.argv[1]), json.loads(sys.argv[2])
# Compile our modules to bytecode once, in a scratch folder, rather than in every child that imports them (under
# PYTHONDONTWRITEBYTECODE none of them would keep it). Reading bytecode is what a normal import does anyway.
sys.pycache_prefix = tempfile.mkdtemp(prefix="countersign-imports-pyc-")
for module in modules:
    spec = importlib.util.find_spec(module.split(".")[0])
    path = os.path.join(os.path.dirname(spec.origin), *module.split(".")[1:])
    path = os.path.join(path, "__init__.py") if os.path.isdir(path) else path + ".py"
    py_compile.compile(path, cfile=importlib.util.cache_from_source(path), doraise=True)
for name in third_party:
    try:
        importlib.import_module(name)
    except Exception:
        pass  # optional extras; a module that needs one fails below, where it should
ours = sorted(m for m in sys.modules if m.split(".")[0] in ("services", "bot", "web"))
assert not ours, f"the parent loaded our modules: {ours}"
# The children only import and exit: keep the cyclic collector off, and out of the parent's objects, so a child
# neither walks nor copies (copy-on-write) the whole inherited heap. Most of a child's cost was exactly that.
gc.disable()
gc.freeze()
failures, running, loaded_by = {}, {}, {}


def reap():
    pid, status = os.wait()
    module, read = running.pop(pid)
    with os.fdopen(read, "rb") as pipe:
        output = pipe.read().decode()
    if status != 0:
        failures[module] = output or f"exit status {status}"
    else:
        loaded_by[module] = set(json.loads(output))


def covered(module):  # importing an ancestor package first (run already) loaded it: then it is the same run
    parts = module.split(".")
    return any(module in loaded_by.get(".".join(parts[:i]), ()) for i in range(1, len(parts)))


# Shallow modules first, a depth at a time, so a package's run is known before its submodules are started.
for depth in sorted({m.count(".") for m in modules}):
    while running:
        reap()
    for module in [m for m in modules if m.count(".") == depth and not covered(m)]:
        while len(running) >= max(os.cpu_count() or 1, 2):
            reap()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                importlib.import_module(module)
                output, code = json.dumps([m for m in sys.modules if m.startswith(module + ".")]), 0
            except BaseException:
                output, code = traceback.format_exc()[-2000:], 1
            with os.fdopen(write, "wb") as pipe:  # a few kB at most, below a pipe's buffer: never blocks
                pipe.write(output.encode())
            os._exit(code)
        os.close(write)
        running[pid] = (module, read)
while running:
    reap()
print(json.dumps({"failures": failures, "ran": len(loaded_by) + len(failures)}))
"""


def our_modules() -> list[str]:
    found = []
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "versions" in parts:  # Alembic revisions are loaded by Alembic, not imported
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if name not in SCRIPTS:
                found.append(name)
    return found


def third_party(modules: list[str]) -> list[str]:
    """Everything else our modules import (at any depth, submodules too), to load once in the parent."""
    names: set[str] = set()
    for module in modules:
        for node in ast.walk(ast.parse(source_of(module).read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update(_targets(node))
    return sorted(n for n in names if n.split(".")[0] not in (*OURS, "__future__"))


def _top_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported (inside top-level if/try too, but not `if TYPE_CHECKING`)."""
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try)):
            yield from _top_level_imports(node.body)
            for handler in getattr(node, "handlers", []):
                yield from _top_level_imports(handler.body)
            yield from _top_level_imports(node.orelse)


def _targets(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level or not node.module:
        return []
    return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]


def source_of(module: str) -> Path:
    path = ROOT / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def import_graph(modules: list[str]) -> dict[str, set[str]]:
    """module -> our modules it imports at module level (a package imported on the way counts, except the
    importer's own ancestors, which Python has already started)."""
    known, graph = set(modules), {}
    for module in modules:
        edges = set()
        for node in _top_level_imports(ast.parse(source_of(module).read_text()).body):
            for target in _targets(node):
                parts = target.split(".")
                for i in range(1, len(parts) + 1):
                    name = ".".join(parts[:i])
                    if name in known and name != module and not module.startswith(name + "."):
                        edges.add(name)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, path = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_module_level_imports_have_no_cycle() -> None:
    """With no cycle among module-level imports, any of our modules can be imported first."""
    modules = our_modules()
    graph = import_graph(modules)
    assert graph["bot.notifiers.drafts"] and "services.drafts.models" in graph["services.drafts.flows"]
    assert cycles(graph) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    """The check above can fail: a two-module loop and a longer one are both reported."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": set()}
    assert cycles(graph) == [["a", "b", "a"], ["c", "d", "e", "c"]]


def test_our_modules_are_not_imported_inside_functions() -> None:
    """An import inside a function is how a cycle hides; only the app's Slack wiring and the CLI defer theirs."""
    deferred = []
    for module in our_modules():
        if module in ("services.main", "services.assembly") or module.startswith("services.cli"):
            continue
        tree = ast.parse(source_of(module).read_text())
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                            t.split(".")[0] in OURS for t in _targets(node)):
                        deferred.append(f"{module}:{node.lineno}")
    assert deferred == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
@pytest.mark.timeout(300)  # ~15 s alone; it starts beside the soak tests, on two cores shared by four workers
def test_every_module_imports_on_its_own() -> None:
    """A module that only imports when another of ours was imported first hides a cycle; none may."""
    modules = our_modules()
    assert len(modules) > 100 and "bot.notifiers.drafts" in modules and "services.drafts.flows" in modules
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(modules), json.dumps(third_party(modules))],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    failures = answer["failures"]
    assert failures == {}, "\n\n".join(f"{name}:\n{why}" for name, why in failures.items())
    assert 100 < answer["ran"] < len(modules)  # the listener modules bot.listeners loads ran once, as its run
