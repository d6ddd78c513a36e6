"""A database each migration test builds from nothing: a SQLite file, and a fresh PostgreSQL database when
COUNTERSIGN_TEST_POSTGRES_URL is set (in CI it must be: pg_missing fails there)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.live import pg_database
from tests.postgres import PG_URL, pg_missing


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    if not PG_URL:
        pg_missing()
    with pg_database(PG_URL) as url:
        yield url
