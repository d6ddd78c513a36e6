"""One exception hierarchy for everything the client raises.

    CountersignError                 .status, .type, .title, .detail, .errors
    ├── APIConnectionError           no answer from the server, after the retries
    ├── ValidationError              400 / 413 / 422: the request was refused as given (.errors names the fields)
    ├── Unauthorized                 401: missing or wrong API key
    ├── Denied                       403: policy says no (e.g. an action the agent may not take)
    ├── NotFound                     404
    ├── Conflict                     409: e.g. an Idempotency-Key reused with another body, or already decided
    ├── AgentPaused                  423: the agent is paused; writes are refused until a person resumes it
    ├── RateLimited                  429: .retry_after in seconds
    ├── ServerError                  5xx
    ├── NotApproved                  a person's (or the clock's) answer was "do not act": .draft, .reason
    │   ├── Rejected                 rejected by a reviewer (or an edit that does not fit the function)
    │   ├── Expired                  nobody decided in time: denied, do not retry
    │   └── ApprovalTimeout          the caller stopped waiting; the draft was withdrawn
    └── InvalidSignature             a webhook whose signature does not verify
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from countersign_client.types import Draft


class CountersignError(Exception):
    """Base of every error the client raises. HTTP errors carry the problem+json fields."""

    def __init__(self, message: str, *, status: int | None = None, type: str | None = None,
                 title: str | None = None, detail: str | None = None, errors: list[dict[str, Any]] | None = None,
                 body: Any = None, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.errors: list[dict[str, Any]] = list(errors or [])
        self.body = body
        self.response = response


class APIConnectionError(CountersignError):
    """The server could not be reached (or the connection broke) on every attempt."""


class ValidationError(CountersignError):
    """400, 413 or 422: fix the request; `.errors` is a list of {"field", "message"}."""


class Unauthorized(CountersignError):
    """401: the API key is missing or wrong."""


class Denied(CountersignError):
    """403: refused by policy (e.g. the action's autonomy is "deny")."""


class NotFound(CountersignError):
    """404: no such object for this agent."""


class Conflict(CountersignError):
    """409: the request conflicts with the object's state, or an Idempotency-Key was reused with another body."""


class AgentPaused(CountersignError):
    """423: the agent is paused; its writes are refused until a person resumes it."""


class RateLimited(CountersignError):
    """429: over the agent's request rate; `.retry_after` says how long to wait (seconds)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(CountersignError):
    """5xx after the retries."""


class NotApproved(CountersignError):
    """The answer to an approval request was "do not act"."""

    def __init__(self, message: str, *, draft: Draft | None = None, reason: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.draft = draft
        self.reason = reason


class Rejected(NotApproved):
    """A reviewer rejected the draft (`.reason` says why), or edited it into something the function can't take."""


class Expired(NotApproved):
    """Nobody decided before the draft expired: treat it as denied and do not retry."""


class ApprovalTimeout(NotApproved):
    """The caller's own timeout passed before a decision; the draft was cancelled so nobody approves it later."""


class InvalidSignature(CountersignError):
    """A webhook's signature (either scheme) does not match, is missing, or is too old."""


class DuplicateWebhook(InvalidSignature):
    """A correctly signed webhook whose webhook-id is already in the `seen=` store: a replay, or Countersign
    delivering again after a crash. Don't act on it twice; answer 2xx so a genuine redelivery stops."""

    def __init__(self, message: str, webhook_id: str) -> None:
        super().__init__(message)
        self.webhook_id = webhook_id


_BY_STATUS: dict[int, type[CountersignError]] = {
    400: ValidationError, 413: ValidationError, 422: ValidationError, 401: Unauthorized, 403: Denied,
    404: NotFound, 409: Conflict, 423: AgentPaused, 429: RateLimited,
}


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare for an API; the client's own backoff applies


def from_response(response: httpx.Response) -> CountersignError:
    """The exception for a non-2xx answer, built from its problem+json body when there is one."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    problem = body if isinstance(body, dict) else {}
    status = response.status_code
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else CountersignError)
    title = problem.get("title") or response.reason_phrase
    detail = problem.get("detail")
    message = f"{status} {title}" + (f": {detail}" if detail else "")
    kw: dict[str, Any] = {"status": status, "type": problem.get("type"), "title": title, "detail": detail,
                          "errors": problem.get("errors"), "body": body, "response": response}
    if cls is RateLimited:
        return RateLimited(message, retry_after=retry_after_seconds(response), **kw)
    return cls(message, **kw)
