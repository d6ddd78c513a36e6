"""A DNS resolver the test controls: handed to the app (create_app(resolver=...)) in place of the system's."""

from __future__ import annotations

import threading

from services.outbox.urls import HostUnresolved


class FakeResolver:
    """Names known only to this resolver: each name answers its queued answers in turn and keeps the last one; an
    unknown name does not resolve. `asked` records every lookup, so a test can count them."""

    def __init__(self) -> None:
        self._answers: dict[str, list[list[str]]] = {}
        self._lock = threading.Lock()  # the app resolves in worker threads
        self.asked: list[str] = []

    def add(self, host: str, *addresses: str) -> None:
        """Queue one answer for `host` (several calls: successive answers, as a rebinding server gives)."""
        with self._lock:
            self._answers.setdefault(host.lower(), []).append(list(addresses))

    def resolve(self, host: str, port: int) -> list[str]:
        with self._lock:
            self.asked.append(host)
            queue = self._answers.get(host.lower())
            if not queue:
                raise HostUnresolved(f"cannot resolve {host}: unknown name")
            return queue.pop(0) if len(queue) > 1 else list(queue[0])
