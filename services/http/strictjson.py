"""Strict JSON in: NaN, Infinity, -Infinity and numbers that overflow a double (1e309) are not JSON, and arrays
or objects nested deeper than MAX_DEPTH are refused. Both are a 422 naming the field, answered before any route
runs, so nothing is stored, no card is posted and an Idempotency-Key retry gets the same 422.

A NUL (\u0000) in any string, value or key, is refused the same way: PostgreSQL cannot store it in text or
JSONB (a 500 there) and SQLite would keep a string that most readers cut short at it.

Python's json module accepts those constants and turns 1e309 into inf; the database, the callback and the
response encoders then choke (a 500 after the draft was stored) or emit a literal NaN, which no strict parser
reads. Responses leave through Starlette's JSONResponse, which already encodes with allow_nan=False.
"""

from __future__ import annotations

import json
import math
from itertools import chain
from typing import Any

from services.http.limits import replaying
from services.http.problems import problem_body, send_problem

MAX_DEPTH = 64
NUL_MESSAGE = "must not contain a NUL character (\\u0000)"
Scope = dict[str, Any]


class _NotANumber:
    """Stands where the parser met a non-finite number, so the walk can name its field."""

    def __init__(self, text: str) -> None:
        self.text = text


def _finite_float(text: str) -> float | _NotANumber:
    value = float(text)
    return value if math.isfinite(value) else _NotANumber(text)


def problems_in(document: Any, *, max_depth: int = MAX_DEPTH) -> list[dict[str, str]]:
    """Every non-finite number and NUL-bearing string (by its path) and the fields holding over-deep containers
    (by their name)."""
    found: list[dict[str, str]] = []
    stack: list[tuple[Any, str, str, int]] = [(document, "", "", 0)]  # value, path, top-level field, depth
    while stack and len(found) < 20:
        value, path, top, depth = stack.pop()
        if isinstance(value, _NotANumber):
            found.append({"field": path or "body",
                          "message": f"{value.text} is not a finite JSON number (NaN and Infinity are not JSON)"})
        elif isinstance(value, str):
            if "\x00" in value:
                found.append({"field": path or "body", "message": NUL_MESSAGE})
        elif isinstance(value, (dict, list)):
            if depth >= max_depth:  # the deep path itself is noise; the field it sits in is what to fix
                found.append({"field": top or "body", "message": f"nested deeper than {max_depth} levels"})
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in items:
                if isinstance(key, str) and "\x00" in key:
                    found.append({"field": path or "body", "message": f"a key {NUL_MESSAGE}"})
                    continue
                child_path = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
                stack.append((child, child_path, top or child_path, depth + 1))
    return found


def _too_deep(document: Any, max_depth: int) -> bool:
    """Only the nesting, one level at a time (no paths are built): the cheap pass every clean body takes. A level's
    values are typed in one C-level pass, and only containers go down a level: a 1,000-event batch is 5,000
    leaves, and looking at each from Python was a fifth of its request's CPU."""
    level = [document]
    for _ in range(max_depth):
        values = list(chain.from_iterable([v.values() if type(v) is dict else v for v in level]))
        kinds = set(map(type, values))
        level = [v for v in values if type(v) in _CONTAINERS] if dict in kinds or list in kinds else []
        if not level:
            return False
    return True


_CONTAINERS = (dict, list)


def parse_strict(raw: bytes) -> list[dict[str, str]] | None:
    """Problems in a JSON body; None when it isn't JSON at all (the route then answers 400 as usual)."""
    return strict_parse(raw)[0]


def strict_parse(raw: bytes) -> tuple[list[dict[str, str]] | None, Any]:
    """(problems, document): the problems as parse_strict says them, and the parsed body (None when not JSON;
    a non-finite number stands in it as a placeholder)."""
    odd: list[str] = []  # the parser met NaN, Infinity or an overflowing number

    def constant(text: str) -> _NotANumber:
        odd.append(text)
        return _NotANumber(text)

    def number(text: str) -> float | _NotANumber:
        value = _finite_float(text)
        if isinstance(value, _NotANumber):
            odd.append(text)
        return value

    try:
        document = json.loads(raw, parse_constant=constant, parse_float=number)
    except RecursionError:
        return [{"field": "body", "message": f"nested deeper than {MAX_DEPTH} levels"}], None
    except ValueError:  # not JSON (or not UTF-8): the route's own parser says so
        return None, None
    # A NUL can only arrive escaped (a raw one is not JSON); a body with none of the three is clean once its
    # nesting is checked, and only a body with a problem pays for the walk that names the fields.
    if odd or b"\\u0000" in raw or (isinstance(document, (dict, list)) and _too_deep(document, MAX_DEPTH)):
        return problems_in(document), document
    return [], document


PARSED = "countersign.strict_json"  # scope key: (body, problems, document), so a body is parsed once


def strict_parse_once(scope: Scope, raw: bytes) -> tuple[list[dict[str, str]] | None, Any]:
    """strict_parse, kept in the request's scope: the rate limiter (which counts a batch's events) and the
    strict check below read the same body, and parsing 1,000 events twice was a tenth of a batch's CPU."""
    kept = scope.get(PARSED)
    if kept is not None and (kept[0] is raw or kept[0] == raw):
        return kept[1], kept[2]
    problems, document = strict_parse(raw)
    scope[PARSED] = (raw, problems, document)
    return problems, document


def strict_dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps that refuses NaN and Infinity instead of writing something that is not JSON."""
    return json.dumps(value, allow_nan=False, **kwargs)


def _is_json(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return not content_type or content_type == b"application/json" or content_type.endswith(b"+json")


def _nul_in_address(scope: Scope) -> bool:
    """A NUL in an API path or query string (the web app under /app answers those with its own pages)."""
    path = scope["path"]
    return not path.startswith("/app") and ("\x00" in path or b"%00" in scope.get("query_string", b""))


class StrictJSONMiddleware:
    """Runs inside BodyLimitMiddleware, so the body it reads is already bounded."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _nul_in_address(scope):
            where = "path" if "\x00" in scope["path"] else "query"
            await _refuse(send, [{"field": where, "message": NUL_MESSAGE}])
            return
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH") or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        errors = strict_parse_once(scope, body)[0] if body else None
        if errors:
            await _refuse(send, errors)
            return
        await self.app(scope, replaying(body, receive), send)


async def _refuse(send: Any, errors: list[dict[str, str]]) -> None:
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    await send_problem(send, problem_body(422, "Validation failed", detail, slug="validation-failed", errors=errors))
