"""The PostgreSQL half may skip on a laptop but must fail in CI, so a CI run without it cannot pass quietly."""

from __future__ import annotations

import pytest

from tests.postgres import pg_missing


def test_missing_postgres_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run in CI"):
        pg_missing()


def test_missing_postgres_skips_on_a_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        pg_missing()
