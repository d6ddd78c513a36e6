"""The domain's errors, one hierarchy. The HTTP layer maps them to problem+json; the Slack layer to a polite
ephemeral message. Each carries a human sentence (`detail`) safe to show to the caller."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class CountersignError(Exception):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(
        self, detail: str, *, errors: list[FieldError] | None = None, extra: dict[str, object] | None = None,
        people: tuple[str, ...] | list[str] = (),
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra  # more members for the problem body, e.g. who paused an agent
        # The user ids named in `detail` (written as plain ids): each surface draws a person its own way.
        self.people = tuple(dict.fromkeys(p for p in people if p))

    def rendered(self, person: Callable[[str], str]) -> str:
        """`detail` with each person it names drawn by `person` (a Slack mention, an @name on a page)."""
        if not self.people:
            return self.detail
        pattern = re.compile("|".join(rf"\b{re.escape(p)}\b" for p in sorted(self.people, key=len, reverse=True)))
        return pattern.sub(lambda found: person(found.group(0)), self.detail)


class ValidationFailed(CountersignError):
    status = 422
    title = "Validation failed"
    type_slug = "validation-failed"


class Unauthorized(CountersignError):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Forbidden(CountersignError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class NotFound(CountersignError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(CountersignError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class AlreadyDecided(Conflict):
    title = "Already decided"
    type_slug = "already-decided"


class PromptVersionRejected(Conflict):
    """The draft names a prompt version its owner rejected (services.oversight.changes)."""

    title = "Prompt version rejected"
    type_slug = "prompt-version-rejected"


class AgentPaused(CountersignError):
    status = 423
    title = "Agent paused"
    type_slug = "agent-paused"


class TooManyRequests(CountersignError):
    """Over a limit for now: the answer carries Retry-After (whole seconds) and the caller may come back."""

    status = 429
    title = "Too many requests"
    type_slug = "too-many-requests"

    def __init__(self, detail: str, *, retry_after_s: int, extra: dict[str, object] | None = None) -> None:
        super().__init__(detail, extra=extra)
        self.retry_after_s = max(1, int(retry_after_s))


class Unavailable(CountersignError):
    status = 503
    title = "Service unavailable"
    type_slug = "unavailable"


def field_error(field: str, message: str) -> ValidationFailed:
    """A validation failure naming one field, the common case."""
    return ValidationFailed(f"{field}: {message}", errors=[FieldError(field, message)])
