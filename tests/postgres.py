"""The PostgreSQL half of the suite: where its URL comes from, and what its absence means."""

from __future__ import annotations

import os

import pytest

PG_URL = os.environ.get("COUNTERSIGN_TEST_POSTGRES_URL")


def pg_missing() -> None:
    """On a laptop the PostgreSQL half may skip; in CI (CI=true) it is meant to run, so its absence fails."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("CI=true but COUNTERSIGN_TEST_POSTGRES_URL is not set: the PostgreSQL tests must run in CI")
    pytest.skip("COUNTERSIGN_TEST_POSTGRES_URL is not set")
