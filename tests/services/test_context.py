"""Nothing hides in the process: each app context has its own read caches, invalidation and write scopes."""

from __future__ import annotations

from datetime import datetime, timezone

from services.assembly import build_context
from services.context import AppContext
from services.db import make_engine
from services.spend import ingest
from services.spend.models import PriceOverride, UsageCreate
from tests.harness import make_settings


def _context(url: str) -> AppContext:
    return build_context(make_settings(url), engine=make_engine(url))


def _set_price(ctx: AppContext, rate: float) -> None:
    with ctx.uow() as session:
        session.merge(PriceOverride(model="house-model", input_per_mtok=rate, output_per_mtok=rate,
                                    updated_at=datetime.now(timezone.utc)))


def _price(ctx: AppContext) -> float | None:
    [priced] = ingest.price_all(ctx=ctx, events=[UsageCreate(model="house-model", input_tokens=1_000_000)])
    return priced.cost_usd


def test_two_apps_in_one_process_share_no_cache_and_no_invalidation(sqlite_url: str) -> None:
    """A price one app cached stays its own: the other app's write drops the other app's entry alone."""
    first, second = _context(sqlite_url), _context(sqlite_url)
    assert first.caches is not second.caches
    _set_price(first, 1.0)
    assert _price(first) == _price(second) == 1.0  # each loaded and cached it
    _set_price(second, 2.0)
    assert _price(second) == 2.0  # its own commit dropped its own entry at once
    assert _price(first) == 1.0  # the other app's entry is untouched (it expires by its TTL, like a replica's)
    _set_price(first, 3.0)
    assert _price(first) == 3.0
    first.engine.dispose()
    second.engine.dispose()


def test_a_write_that_changes_nothing_keeps_the_cache(sqlite_url: str) -> None:
    """Merging a row with its own values is no write: the cache loaded from its table is kept."""
    ctx = _context(sqlite_url)
    _set_price(ctx, 1.0)
    before = ctx.caches.generation(("price_overrides",))
    with ctx.uow() as session:
        row = session.get(PriceOverride, "house-model")
        assert row is not None
        row.input_per_mtok = row.input_per_mtok  # assigned, unchanged
        session.merge(row)
    assert ctx.caches.generation(("price_overrides",)) == before
    ctx.engine.dispose()
