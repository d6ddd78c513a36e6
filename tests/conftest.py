"""Shared fixtures: a migrated database (SQLite always, PostgreSQL when COUNTERSIGN_TEST_POSTGRES_URL is set),
the fake Slack over real HTTP, an agent's callback receiver, and a Harness that drives a whole app."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Python keeps the modules it compiles (ours, and the test modules pytest rewrites for assertions) as .pyc files only
# where bytecode may be written. Under PYTHONDONTWRITEBYTECODE every worker, and every server or CLI subprocess a
# test starts, would compile all of services/ again on every run (about a third of a worker's collection CPU for
# the test modules). Set before our first import below; the cache sits in the __pycache__ folders.
sys.dont_write_bytecode = False

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from services import migrations  # noqa: E402
from services.db import make_engine, normalize_url  # noqa: E402
from testkit.clock import FakeClock  # noqa: E402
from testkit.fakes.receiver import FakeAgentReceiver  # noqa: E402
from testkit.fakes.slack import FakeSlack  # noqa: E402
from tests.harness import Harness  # noqa: E402
from tests.postgres import PG_URL, pg_missing  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run the long soak tests")


# The longest tests (live servers, SIGKILLs, whole-spec fuzzing, a fresh interpreter per module) go first, so
# the xdist workers are not left waiting on one of them at the end of the run.
LONG_FIRST = ("tests/soak/", "tests/test_imports.py", "tests/hostile/test_schemathesis.py",
              "tests/hostile/test_fairness.py", "tests/services/test_cli.py", "tests/web/test_browser.py",
              "tests/client/", "tests/test_openapi.py",
              # then the files whose single tests run longest (seeded histories, fuzzed builders, CLI processes)
              "tests/services/autonomy/", "tests/hostile/test_blocks.py", "tests/hostile/test_budget_card.py",
              "tests/services/audit/", "tests/services/digests/")


# Tests that share one costly module- or session-wide fixture (a live server, a browser), or must not run beside
# each other (latency bounds), go to one xdist worker together, so the fixture starts once, not once per worker.
# (xdist's own `--dist loadgroup` no longer works with pytest 9, which ignores the node id it rewrites.)
SHARED_WORKER = {"tests/client/": "client-live-server", "tests/web/test_browser.py": "chromium",
                 "tests/test_openapi.py": "openapi-server", "tests/hostile/test_schemathesis.py": "schemathesis-server",
                 "tests/hostile/test_fairness.py": "latency"}
# The durable-engine tests spend most of their time waiting on their engine: as groups of their own (each with its
# own live server, the session fixture being per worker) they run beside the other client tests, not after them.
SHARED_WORKER.update({"tests/client/test_temporal_live.py": "temporal-live",
                      "tests/client/test_dbos_live.py": "dbos-live"})
# Files inside a group's folder that need none of its fixtures: balanced test by test like the rest.
NOT_SHARED = ("tests/client/test_approval.py", "tests/client/test_surface.py", "tests/client/test_transport.py",
              "tests/client/test_engine_bridges.py")


def shared_worker(nodeid: str) -> str | None:
    """The group of the longest SHARED_WORKER prefix the test falls under (a file inside a grouped folder may
    have a group of its own), or None."""
    if nodeid.startswith(NOT_SHARED):
        return None
    prefixes = [prefix for prefix in SHARED_WORKER if nodeid.startswith(prefix)]
    return SHARED_WORKER[max(prefixes, key=len)] if prefixes else None


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Load balancing test by test, except that each SHARED_WORKER group is one unit of work."""
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return shared_worker(nodeid) or nodeid

    return SharedFixtureScheduling(config, log)


def _long_rank(item: pytest.Item) -> int:
    path = item.nodeid
    return next((rank for rank, prefix in enumerate(LONG_FIRST) if path.startswith(prefix)), len(LONG_FIRST))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_long_rank)  # stable: within a rank, the files keep their order
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="long run: pass --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test copies the file, which is much faster than migrating again."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    admin = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"cs_tpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalize_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_copy(template: str) -> tuple[str, str]:
    admin = create_engine(normalize_url(PG_URL or ""), isolation_level="AUTOCOMMIT")
    name = f"cs_t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        # FILE_COPY: a few files copied, several times cheaper than WAL-logging every page of the template.
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY = FILE_COPY'))
    admin.dispose()
    return name, make_url(normalize_url(PG_URL or "")).set(database=name).render_as_string(hide_password=False)


def _pg_drop(name: str) -> None:
    admin = create_engine(normalize_url(PG_URL or ""), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_sqlite(tmp_path: Path, template: Path) -> str:
    path = tmp_path / "countersign.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@contextmanager
def _fresh_pg(template: str | None) -> Iterator[str]:
    if template is None:
        pg_missing()
    name, url = _pg_copy(template)
    try:
        yield url
    finally:
        _pg_drop(name)


# The rule: a test runs on PostgreSQL too only where its SQL or its concurrency differs there (mark it postgres_too).
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Claims with SKIP LOCKED, advisory locks, upserts, conditional updates, replicas, NUL and encoding checks and
    migrations run on both; a test whose PostgreSQL run would exercise the same SQL as SQLite's runs on SQLite."""
    if "db_url" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("postgres_too") is not None
        metafunc.parametrize("db_url", ["sqlite", "postgres"] if both else ["sqlite"], indirect=True)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path,
           pg_template: str | None) -> Iterator[str]:
    """A fresh, migrated database: SQLite, and PostgreSQL as well for a test marked postgres_too."""
    if request.param == "sqlite":
        yield _fresh_sqlite(tmp_path, sqlite_template)
        return
    with _fresh_pg(pg_template) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh SQLite database, for tests that need not run twice."""
    return _fresh_sqlite(tmp_path, sqlite_template)


@pytest.fixture
def pg_url(pg_template: str | None) -> Iterator[str]:
    """A fresh PostgreSQL database, for tests only PostgreSQL can run (several replicas)."""
    with _fresh_pg(pg_template) as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=None) as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[FakeAgentReceiver]:
    with FakeAgentReceiver() as fake:
        yield fake


@pytest.fixture
def harness(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> Iterator[Harness]:
    """A running app on SQLite with Slack pointed at the fake, background loops on, real clock."""
    with Harness(sqlite_url, slack=slack, receiver=receiver) as h:
        yield h


@pytest.fixture
def any_db_harness(db_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> Iterator[Harness]:
    """The same on db_url: on PostgreSQL too for a test marked postgres_too."""
    with Harness(db_url, slack=slack, receiver=receiver) as h:
        yield h


# A Harness whose clock only the test moves and whose jobs run only when the test calls run_jobs(): the
# incident, escalation and run tests drive time themselves.
@pytest.fixture
def h(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver, clock: FakeClock) -> Iterator[Harness]:
    """The app on SQLite; time moves only when the test advances the clock and calls run_jobs()."""
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as harness:
        yield harness


@pytest.fixture
def any_h(db_url: str, slack: FakeSlack, receiver: FakeAgentReceiver, clock: FakeClock) -> Iterator[Harness]:
    """The same on db_url (PostgreSQL too for a test marked postgres_too: locks, conditional updates)."""
    with Harness(db_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as harness:
        yield harness
