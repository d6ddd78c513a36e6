"""The pieces of `require_approval` that do not depend on sync or async: the draft a call becomes, and the call
a decision becomes. An edit that does not fit the function's signature is a `Rejected`, decided here, before the
function is entered, so a reviewer's typo can never crash the function halfway."""

from __future__ import annotations

import inspect
import json
import re
import string
import types
import typing
from collections.abc import Callable
from typing import Any

from countersign_client.errors import ApprovalTimeout, Expired, Rejected
from countersign_client.types import Draft

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_SKIPPED = ("self", "cls")
Outcome = tuple[Draft, bool]  # the draft as last read, and whether the caller's own timeout withdrew it
_JSON_TYPES: dict[Any, tuple[type, ...]] = {str: (str,), int: (int,), float: (int, float), bool: (bool,),
                                            list: (list,), dict: (dict,), type(None): (type(None),)}


class Checkpoint:
    """What `require_approval` knows about one function."""

    def __init__(self, fn: Callable[..., Any], action: str | None, title: str | None) -> None:
        self.fn = fn
        self.signature = inspect.signature(fn)
        self.action = action or fn.__name__.lower()
        if not SLUG.match(self.action):
            raise ValueError(f"require_approval: action {self.action!r} must match {SLUG.pattern}; pass action=")
        self.title = title or f"{fn.__name__}({', '.join(self._names())})"
        for _, name, _, _ in string.Formatter().parse(self.title):
            root = re.split(r"[.\[]", name, maxsplit=1)[0] if name else None
            if root is not None and root not in self.signature.parameters:
                raise ValueError(f"require_approval: title {self.title!r} names {{{root}}}, which is not a "
                                 f"parameter of {fn.__name__}{self.signature}")
        try:
            self.hints = typing.get_type_hints(fn)
        except Exception:  # noqa: BLE001 - unresolvable forward references: skip the type check, keep the names
            self.hints = {}

    def _names(self) -> list[str]:
        return [n for n in self.signature.parameters if n not in _SKIPPED]

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return bound

    def draft_fields(self, bound: inspect.BoundArguments) -> dict[str, Any]:
        """The draft's title (the template filled from the arguments) and body (the arguments as JSON)."""
        body = {k: v for k, v in bound.arguments.items() if k not in _SKIPPED}
        try:
            json.dumps(body)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"require_approval: the arguments of {self.fn.__name__} must be JSON values so a "
                            f"person can read and edit them ({exc})") from exc
        return {"action": self.action, "title": self.title.format_map(body)[:300], "body": body}

    def call_for(self, outcome: Outcome, bound: inspect.BoundArguments) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The (args, kwargs) to run the function with, or the exception that says why it must not run."""
        draft, timed_out = outcome
        if draft.status == "expired":
            raise Expired(f"{self.action}: {draft.reason or 'expired without a decision'}", draft=draft,
                          reason=draft.reason)
        if timed_out or draft.pending:
            raise ApprovalTimeout(f"{self.action}: not decided in time; the draft was withdrawn", draft=draft,
                                  reason=draft.reason)
        if not draft.approved:
            who = ", ".join(draft.decided_by) or "the reviewer"
            raise Rejected(f"{self.action}: {draft.status} by {who}: {draft.reason or 'no reason given'}",
                           draft=draft, reason=draft.reason)
        if draft.final_body is None or draft.final_body == draft.body:
            return bound.args, bound.kwargs
        return self._edited(draft, bound)

    def _edited(self, draft: Draft, bound: inspect.BoundArguments) -> tuple[tuple[Any, ...], dict[str, Any]]:
        edited = draft.final_body
        problem = self._problem(edited)
        if problem:
            reason = f"the reviewer's edit does not fit {self.fn.__name__}{self.signature}: {problem}"
            raise Rejected(f"{self.action}: {reason}", draft=draft, reason=reason)
        values = dict(bound.arguments)
        values.update(edited)
        new = inspect.BoundArguments(self.signature, values)  # type: ignore[arg-type]
        return new.args, new.kwargs

    def _problem(self, edited: Any) -> str | None:
        if not isinstance(edited, dict):
            return f"expected a JSON object of arguments, got {type(edited).__name__}"
        names = self._names()
        unknown = sorted(set(edited) - set(names))
        if unknown:
            return f"unknown argument(s) {', '.join(unknown)}"
        for name in names:
            param = self.signature.parameters[name]
            if name not in edited:
                return f"argument {name} is missing"
            if param.kind in (param.VAR_POSITIONAL,) and not isinstance(edited[name], list):
                return f"*{name} must be a list"
            if param.kind in (param.VAR_KEYWORD,) and not isinstance(edited[name], dict):
                return f"**{name} must be an object"
            wrong = _type_problem(name, edited[name], self.hints.get(name))
            if wrong:
                return wrong
        return None


def _type_problem(name: str, value: Any, hint: Any) -> str | None:
    """A plain JSON type (str, int, float, bool, list, dict, optional or union of them) is checked; anything
    richer is left to the function, which receives the JSON value as the reviewer wrote it."""
    if hint is None or hint is Any:
        return None
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else (hint,)
    allowed: list[type] = []
    for option in options:
        origin = typing.get_origin(option) or option
        if origin not in _JSON_TYPES:
            return None
        allowed.extend(_JSON_TYPES[origin])
    if isinstance(value, bool) and bool not in allowed:
        return f"argument {name} must be {_describe(hint)}, got a boolean"
    if not isinstance(value, tuple(allowed)):
        return f"argument {name} must be {_describe(hint)}, got {json.dumps(value)[:60]}"
    return None


def _describe(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
