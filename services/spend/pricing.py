"""What a call cost: the agent's own figure, else a configured override, else genai-prices, else unknown.

Token convention (OpenAI's and genai-prices'): `input_tokens` counts every prompt token, cached ones included;
`cached_tokens` says how many of those were read from the cache and are priced at the cached rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from genai_prices import Usage, calc_price
from sqlmodel import Session

from services.spend.models import PriceOverride

MTOK = Decimal(1_000_000)


@dataclass(frozen=True)
class Priced:
    cost_usd: float | None
    source: str  # agent | override | genai-prices | unknown
    price: dict[str, Any] | None  # the rates applied, stored on the event


def price_call(
    *, session: Session, model: str, provider: str | None, input_tokens: int, output_tokens: int,
    cached_tokens: int, cost_usd: float | None,
) -> Priced:
    if cost_usd is not None:
        return Priced(cost_usd, "agent", None)
    override = session.get(PriceOverride, model)
    if override is not None:
        return from_override(override, input_tokens, output_tokens, cached_tokens)
    return from_genai_prices(model, provider, input_tokens, output_tokens, cached_tokens)


def from_override(row: PriceOverride, input_tokens: int, output_tokens: int, cached_tokens: int) -> Priced:
    cached_rate = row.cached_input_per_mtok if row.cached_input_per_mtok is not None else row.input_per_mtok
    cost = (Decimal(input_tokens - cached_tokens) * Decimal(str(row.input_per_mtok))
            + Decimal(cached_tokens) * Decimal(str(cached_rate))
            + Decimal(output_tokens) * Decimal(str(row.output_per_mtok))) / MTOK
    price = {"input_per_mtok": row.input_per_mtok, "cached_input_per_mtok": cached_rate,
             "output_per_mtok": row.output_per_mtok}
    return Priced(float(cost), "override", price)


@lru_cache(maxsize=4096)  # a pure lookup in genai-prices' bundled table, and ingest's costliest step
def from_genai_prices(model: str, provider: str | None, input_tokens: int, output_tokens: int,
                       cached_tokens: int) -> Priced:
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cached_tokens)
    try:
        calc = calc_price(usage, model_ref=model, provider_id=provider or None)
    except LookupError:
        return Priced(None, "unknown", None)
    rates = calc.model_price
    price = {"input_per_mtok": _rate(getattr(rates, "input_mtok", None)),
             "cached_input_per_mtok": _rate(getattr(rates, "cache_read_mtok", None)),
             "output_per_mtok": _rate(getattr(rates, "output_mtok", None)),
             "model": calc.model.id, "provider": calc.provider.id}
    return Priced(float(calc.total_price), "genai-prices", price)


def _rate(value: Any) -> float | None:
    """Flat rates as numbers; tiered rates (a few long-context models) as their text form."""
    if value is None:
        return None
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    base = getattr(value, "base", None)
    return float(base) if isinstance(base, (int, float, Decimal)) else None
