"""Domain events: one domain announces what happened; others react in the same transaction.

This keeps domains from importing each other in circles: drafts announces `draft.decided`, and incidents
(rejection streaks), spend (waste) and autonomy (evidence) each subscribe. Subscribers run synchronously in
the publisher's session, so their writes commit or roll back with the change that caused them. They are
registered by each domain's `subscribers.py`, loaded once by `load_subscribers()`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from services.domains import domain_modules

Subscriber = Callable[..., None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)
_loaded = False


def subscribe(event: str) -> Callable[[Subscriber], Subscriber]:
    def register(fn: Subscriber) -> Subscriber:
        if fn not in _subscribers[event]:
            _subscribers[event].append(fn)
        return fn

    return register


def publish(event: str, *, session: Session, ctx: Any, **payload: Any) -> None:
    """Call every subscriber of `event` with (session=, ctx=, **payload) inside the caller's transaction."""
    load_subscribers()
    for fn in list(_subscribers.get(event, ())):
        fn(session=session, ctx=ctx, **payload)


def load_subscribers() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    domain_modules("subscribers")
