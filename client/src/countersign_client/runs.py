"""`cs.run(...)`: a run of a critical process that beats in the background while the block runs, and finishes
"succeeded", or "failed" when the block raises. A failed beat is logged and retried at the next tick: the
server's deadline, not this process, decides when silence means the run halted."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from countersign_client.errors import CountersignError
from countersign_client.types import Run

log = logging.getLogger("countersign_client")


def _beat_interval(heartbeat_every_s: float) -> float:
    """Twice per expected interval, so one slow or lost beat does not run into the grace period."""
    return max(0.2, heartbeat_every_s / 2)


def _finish_fields(exc: BaseException | None) -> dict[str, Any]:
    if exc is None:
        return {"status": "succeeded"}
    return {"status": "failed", "note": f"{type(exc).__name__}: {exc}"[:1000]}


class _Scope:
    def __init__(self, client: Any, start: dict[str, Any]) -> None:
        self._client, self._start = client, start
        self._interval = _beat_interval(start["heartbeat_every_s"])
        self._step: str | None = start.get("step")
        self.run: Run | None = None
        self.beats = 0
        self.last_error: Exception | None = None

    @property
    def run_id(self) -> str:
        if self.run is None:
            raise RuntimeError("the run has not started")
        return self.run.run_id

    def _record(self, exc: Exception) -> None:
        self.last_error = exc
        log.warning("countersign: heartbeat for run %s failed: %s", self.run_id, exc)


class RunScope(_Scope):
    """Returned by `Countersign.run(...)`; use as `with cs.run(...) as run: run.step("...")`."""

    def __init__(self, client: Any, start: dict[str, Any]) -> None:
        super().__init__(client, start)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self, step: str) -> None:
        """Say what the run is doing now; the next beat (sent right away, in the background) carries it."""
        self._step = step
        self._wake.set()

    def _beat_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._client.runs.heartbeat(self.run_id, step=self._step)
                self.beats += 1
            except CountersignError as exc:
                self._record(exc)

    def __enter__(self) -> RunScope:
        self.run = self._client.runs.start(**self._start)
        self._thread = threading.Thread(target=self._beat_loop, name=f"countersign-run-{self.run_id}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self.run = self._client.runs.finish(self.run_id, step=self._step, **_finish_fields(exc))


class AsyncRunScope(_Scope):
    """Returned by `AsyncCountersign.run(...)`; use as `async with acs.run(...) as run: run.step("...")`."""

    def __init__(self, client: Any, start: dict[str, Any]) -> None:
        super().__init__(client, start)
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def step(self, step: str) -> None:
        self._step = step
        if self._wake is not None:
            self._wake.set()

    async def _beat_loop(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self._interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._client.runs.heartbeat(self.run_id, step=self._step)
                self.beats += 1
            except CountersignError as exc:
                self._record(exc)

    async def __aenter__(self) -> AsyncRunScope:
        self.run = await self._client.runs.start(**self._start)
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._beat_loop(), name=f"countersign-run-{self.run_id}")
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.run = await self._client.runs.finish(self.run_id, step=self._step, **_finish_fields(exc))
