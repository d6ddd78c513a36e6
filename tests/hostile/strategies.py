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


# Collections: a few distinct entries, or many (past every per-list cap and block limit of a builder: 20 lines,
# 45 lines, 10 context elements, 50 blocks...) made of a few drawn entries repeated. Drawing many distinct
# entries, each a model with texts and collections of its own, cost seconds per example and yet, Hypothesis
# keeping its collections short on average, almost never crossed those caps; repeating a few is as hard on a
# builder's limits (texts vary by entry, counts by length) and costs next to nothing.
FEW, MANY = 6, 100
# A collection inside an entry of another (a card in a list, a step of a chain): a builder draws the entry as
# a line, seldom in full. Fewer entries, and long only past the small caps (10 fields or elements): many of
# many huge texts made one example cost seconds of escaping and nothing more.
INNER_FEW, INNER_MANY = 2, 12


def lists(item: st.SearchStrategy[Any], few: int = FEW, many: int = MANY) -> st.SearchStrategy[list[Any]]:
    return st.one_of(st.lists(item, max_size=few),
                     st.builds(_repeated, st.lists(item, min_size=1, max_size=3), st.integers(few + 1, many)))


def _repeated(items: list[Any], length: int) -> list[Any]:
    return (items * length)[:length]


def dictionaries(key: st.SearchStrategy[Any], value: st.SearchStrategy[Any], *, str_keys: bool,
                 few: int = FEW, many: int = MANY) -> st.SearchStrategy[dict[Any, Any]]:
    short = st.dictionaries(key, value, max_size=few)
    if not str_keys:
        return short
    long = st.builds(_numbered, st.lists(st.tuples(key, value), min_size=1, max_size=3), st.integers(few + 1, many))
    return st.one_of(short, long)


def _numbered(pairs: list[tuple[str, Any]], length: int) -> dict[str, Any]:
    """`length` entries from a few drawn pairs: the first keys as drawn, the repeats' keys told apart by a number."""
    return {(key if i < len(pairs) else f"{key}{i}"): value for i, (key, value) in enumerate(_repeated(pairs, length))}


class Unsupported(Exception):
    pass


def for_hint(hint: Any, depth: int = 0, name: str | None = None, *, inner: bool = False) -> st.SearchStrategy[Any]:
    """`inner`: drawn as an entry of a collection (a card in a list), whose own collections draw fewer entries."""
    if depth > 5:
        raise Unsupported(f"too deep at {hint!r}")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if name in VOCABULARY and (hint is str or str in args):
        vocabulary = st.sampled_from(VOCABULARY[name])
        return st.one_of(st.none(), vocabulary) if type(None) in args else vocabulary
    if hint is Any:
        return st.one_of(TEXT, st.integers(), st.none())
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(for_hint(arg, depth + 1, name, inner=inner) for arg in args))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is typing.Annotated:
        return for_hint(args[0], depth + 1, inner=inner)
    if origin in (list, tuple, set, frozenset, typing.Sequence, typing.Iterable) or hint in (list, tuple):
        if origin is tuple and len(args) > 1 and args[1] is not Ellipsis:
            return st.tuples(*(for_hint(a, depth + 1, inner=inner) for a in args))
        item = for_hint(args[0], depth + 1, inner=True) if args else TEXT
        items = lists(item, INNER_FEW, INNER_MANY) if inner else lists(item)
        return items.map(tuple) if origin is tuple else items
    if origin in (dict, typing.Mapping) or hint is dict:
        key, value = (args or (str, Any))
        sizes = (INNER_FEW, INNER_MANY) if inner else (FEW, MANY)
        return dictionaries(for_hint(key, depth + 1, inner=True), for_hint(value, depth + 1, inner=True),
                            str_keys=key is str, few=sizes[0], many=sizes[1])
    simple = {str: TEXT, int: st.integers(0, 10**9), bool: st.booleans(), type(None): st.none(),
              float: MONEY, datetime: AWARE,
              date: st.dates(), timedelta: st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))}
    if hint in simple:
        return simple[hint]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return model(hint, depth, inner=inner)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        fields = {f.name: for_hint(hints[f.name], depth + 1, f.name, inner=inner)
                  for f in dataclasses.fields(hint) if f.init}
        return st.fixed_dictionaries(fields).map(lambda values: hint(**values))
    raise Unsupported(f"no strategy for {hint!r}")


def model(cls: type[BaseModel], depth: int = 0, *, inner: bool = False) -> st.SearchStrategy[Any]:
    """Any instance of a pydantic/SQLModel class: every field drawn from its hint (table models skip validation)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {name: for_hint(hints.get(name, info.annotation), depth + 1, name, inner=inner)
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
