"""The client's tests: the package from an install (`pip install ./client[...]`) or, when it is not installed, from
client/src; one live Countersign server with a fake Slack for the whole session, and a fresh agent per test."""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
if importlib.util.find_spec("countersign_client") is None:
    sys.path.insert(0, str(ROOT / "client" / "src"))

from countersign_client import AsyncCountersign, Countersign  # noqa: E402

from testkit.fakes.slack import FakeSlack  # noqa: E402
from testkit.live import ServerProcess, countersign_server, register_agent, sqlite_database  # noqa: E402
from tests.client.reviewer import Reviewer  # noqa: E402


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child process (an example, the MCP server, a beating run) that imports the client the
    same way this test process does: installed, or from client/src through sys.path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUNTERSIGN_", "OPENAI_"))}
    return {**env, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), **extra}


@dataclass
class Live:
    server: ServerProcess
    slack: FakeSlack
    reviewer: Reviewer
    db_url: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def agent(self, **fields: Any) -> dict[str, Any]:
        """A new agent with its own API key, so tests sharing the server never see each other's drafts."""
        return register_agent(self.base_url, f"client-{uuid.uuid4().hex[:10]}", **fields)

    def count_drafts(self, title: str) -> int:
        """Straight from the server's database: what exists, whatever any answer said."""
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM drafts WHERE title = :t"), {"t": title}).scalar())
        finally:
            engine.dispose()


@contextmanager
def live_server(name: str) -> Iterator[Live]:
    """A Countersign server process with its fake Slack and a person clicking in it."""
    with FakeSlack(token=None) as slack, sqlite_database() as db_url:
        with countersign_server(db_url, slack_url=slack.url, name=name) as server:
            reviewer = Reviewer(server.base_url, slack)
            try:
                yield Live(server, slack, reviewer, db_url)
            finally:
                reviewer.close()


@pytest.fixture(scope="session")
def live() -> Iterator[Live]:
    """One server process for every live client test (a start costs seconds; agents keep tests apart). A module
    that runs on a worker of its own (a SHARED_WORKER group) overrides it with a module-wide one, so its server
    stops with the module instead of idling (its scheduler ticking) until the worker's last test."""
    with live_server("client-tests") as server:
        yield server


@pytest.fixture
def agent(live: Live) -> dict[str, Any]:
    return live.agent()


@pytest.fixture
def cs(live: Live, agent: dict[str, Any]) -> Iterator[Countersign]:
    with Countersign(api_key=agent["api_key"], base_url=live.base_url) as client:
        yield client


@pytest.fixture
def acs_factory(live: Live, agent: dict[str, Any]) -> Any:
    """AsyncCountersign is built inside the test's own event loop (its connections belong to that loop)."""
    return lambda: AsyncCountersign(api_key=agent["api_key"], base_url=live.base_url)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed live test shows the tail of the shared server's log (gone with its temporary folder otherwise)."""
    outcome = yield
    report = outcome.get_result()
    live = getattr(item, "funcargs", {}).get("live")
    if report.failed and isinstance(live, Live):
        report.sections.append(("countersign server log (tail)", live.server.log_text()[-6000:]))
