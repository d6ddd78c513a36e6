"""Every error leaves as application/problem+json; validation errors name the field."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.agents.models import ID_HINTS
from services.errors import CountersignError, TooManyRequests

log = logging.getLogger("countersign.http")
PROBLEM = "application/problem+json"
# Errors listed in one answer; past this the answer says how many more (1,000 bad events are not an 83 KB body).
MAX_ERRORS = 20
TYPE_BASE = "https://countersign.dev/problems/"


def problem_body(status: int, title: str, detail: str, *, slug: str, errors: list[dict[str, str]] | None = None,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def error_body(exc: CountersignError) -> dict[str, Any]:
    """A domain error as its problem+json body: what the handler below sends, and what an idempotent create
    stores when its answer is a refusal (so a retry gets the same body)."""
    errors = [{"field": e.field, "message": e.message} for e in exc.errors] or None
    return problem_body(exc.status, exc.title, exc.detail, slug=exc.type_slug, errors=errors, extra=exc.extra)


def problem(status: int, title: str, detail: str, *, slug: str, errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> JSONResponse:
    body = problem_body(status, title, detail, slug=slug, errors=errors, extra=extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def send_problem(send: Any, body: dict[str, Any], *, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer with a problem straight over ASGI: for middleware that refuses before the app (and its exception
    handlers) ever runs. Strict JSON, as everything Countersign emits."""
    raw = json.dumps(body, allow_nan=False).encode()
    await send({"type": "http.response.start", "status": body["status"],
                "headers": [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(raw)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": raw})


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'budgets', 0, 'period') -> 'budgets[0].period'."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not isinstance(part, str) or part.startswith("function-") or part in ("list", "dict"):
            continue
        else:
            out += ("." if out else "") + part
    return out or "body"


def _clean_message(message: str) -> str:
    return message.removeprefix("Value error, ")


def explain(err: Any) -> str:
    """A pydantic error in words: Slack ids say what one looks like and where to find it, not their regex."""
    if err.get("type") == "string_pattern_mismatch":
        hint = ID_HINTS.get(str((err.get("ctx") or {}).get("pattern")))
        if hint:
            return hint
    return _clean_message(str(err.get("msg", "")))


def _body_not_json(request: Request, raw: Any) -> bool:
    """FastAPI reads a body as JSON only when the header says so; without it the body looks merely invalid."""
    content_type = request.headers.get("content-type", "").lower()
    if "json" in content_type:
        return False
    return any(tuple(err.get("loc", ()))[:1] == ("body",) for err in raw)


def install(app: FastAPI) -> None:
    @app.exception_handler(CountersignError)
    async def _domain(_: Request, exc: CountersignError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after_s)}
        return JSONResponse(error_body(exc), status_code=exc.status, media_type=PROBLEM, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = exc.errors()
        if _body_not_json(request, raw):
            return problem(415, "Unsupported media type",
                           "the request body must be JSON sent with the header `Content-Type: application/json` "
                           f"(got {request.headers.get('content-type') or 'no Content-Type'}); with curl, add "
                           "-H 'Content-Type: application/json'", slug="unsupported-media-type",
                           errors=[{"field": "Content-Type", "message": "must be application/json"}])
        if any(err.get("type") == "json_invalid" for err in raw):
            return problem(400, "Malformed JSON", "the request body is not valid JSON", slug="malformed-json",
                           errors=[{"field": "body", "message": "not valid JSON"}])
        errors = [{"field": field_path(err.get("loc", ())), "message": explain(err)} for err in raw[:MAX_ERRORS]]
        more = len(raw) - len(errors)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        if more > 0:
            detail += f"; and {more} more error{'s' if more > 1 else ''} not listed"
        return problem(422, "Validation failed", detail, slug="validation-failed", errors=errors,
                       extra={"more_errors": more} if more > 0 else None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        return problem(exc.status_code, title, str(exc.detail), slug=title.lower().replace(" ", "-"),
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        return problem(500, "Internal error", "something went wrong on our side; it has been logged",
                       slug="internal-error")
