"""Hypothesis strategies for a builder's parameters, derived from its type hints: any text, any length, any
unicode for strings; domain objects built field by field the same way."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

# Texts a reviewer could meet: empty, short, just over each Slack limit, huge; any unicode, mrkdwn and markup.
SPICY = st.sampled_from(["<!channel>", "<@U012OWNER>", "*bold*", "`code`", "&amp;", "\n", "\u200b", "🧨", "👩🏽‍🚀",
                         "\u202e", "\x00", "```", ">", "<https://evil.example|click>", "ﷺ", "𝕏"])
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(min_size=70, max_size=160),
    st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=8), st.integers(200, 6000)),
    st.lists(st.one_of(SPICY, st.text(max_size=10)), max_size=60).map("".join),
)
# Amounts and rates: zero, tiny fractions, up to ten million (never negative: the API refuses those).
MONEY = st.one_of(st.just(0.0), st.floats(0.01, 1e7), st.floats(0, 1))
AWARE = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc))


# Fields whose values come from a closed vocabulary in our own database, not from users: drawn from it.
VOCABULARY = {
    "scope": ["agent", "team", "global"], "period": ["day", "week", "month"], "on_exceed": ["alert", "pause"],
    "status": ["pending", "approved", "edited", "rejected", "expired", "auto_approved", "cancelled", "triggered",
               "acknowledged", "snoozed", "resolved", "active", "paused"],
    "severity": ["low", "high", "critical"], "level": ["review", "auto", "deny"],
}


class Unsupported(Exception):
    pass


def for_hint(hint: Any, depth: int = 0, name: str | None = None) -> st.SearchStrategy[Any]:
    if depth > 5:
        raise Unsupported(f"too deep at {hint!r}")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if name in VOCABULARY and (hint is str or str in args):
        vocabulary = st.sampled_from(VOCABULARY[name])
        return st.one_of(st.none(), vocabulary) if type(None) in args else vocabulary
    if hint is Any:
        return st.one_of(TEXT, st.integers(), st.none())
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(for_hint(arg, depth + 1, name) for arg in args))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is typing.Annotated:
        return for_hint(args[0], depth + 1)
    if origin in (list, tuple, set, frozenset, typing.Sequence, typing.Iterable) or hint in (list, tuple):
        item = for_hint(args[0], depth + 1) if args else TEXT
        items = st.lists(item, max_size=60)
        if origin is tuple and len(args) > 1 and args[1] is not Ellipsis:
            return st.tuples(*(for_hint(a, depth + 1) for a in args))
        return items.map(tuple) if origin is tuple else items
    if origin in (dict, typing.Mapping) or hint is dict:
        key, value = (args or (str, Any))
        return st.dictionaries(for_hint(key, depth + 1), for_hint(value, depth + 1), max_size=30)
    simple = {str: TEXT, int: st.integers(0, 10**9), bool: st.booleans(), type(None): st.none(),
              float: MONEY, datetime: AWARE,
              date: st.dates(), timedelta: st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))}
    if hint in simple:
        return simple[hint]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return model(hint, depth)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        fields = {f.name: for_hint(hints[f.name], depth + 1, f.name) for f in dataclasses.fields(hint) if f.init}
        return st.fixed_dictionaries(fields).map(lambda values: hint(**values))
    raise Unsupported(f"no strategy for {hint!r}")


def model(cls: type[BaseModel], depth: int = 0) -> st.SearchStrategy[Any]:
    """Any instance of a pydantic/SQLModel class: every field drawn from its hint (table models skip validation)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {name: for_hint(hints.get(name, info.annotation), depth + 1, name)
              for name, info in cls.model_fields.items()}
    return st.fixed_dictionaries(fields).map(lambda values: cls.model_construct(**values))


def for_function(fn: Any,
                 overrides: dict[str, st.SearchStrategy[Any]] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for `fn`; raises Unsupported when a parameter's type can't be drawn."""
    hints = typing.get_type_hints(fn, include_extras=True)
    overrides = overrides or {}
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name in overrides:
            kwargs[name] = overrides[name]
        elif name in hints:
            kwargs[name] = for_hint(hints[name], 0, name)
        elif param.default is not param.empty:
            continue
        else:
            raise Unsupported(f"{name} has no type hint")
    return st.fixed_dictionaries(kwargs)
