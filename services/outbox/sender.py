"""The sender: delivers due outbox rows lane by lane.

Each lane (a Slack channel or DM target, an agent's callback URL) has its own worker, its own pace and its own
Retry-After, so a backlog or a 429 in one lane never delays another; lanes are started most urgent first (people
and callbacks before channel cards). A worker claims only what its lane can deliver in a few seconds and well
within the lease, fences each send on the claim's token (services.outbox.claims), and the claim is renewed by the
sender's heartbeat while it works (services.outbox.liveness).

At-least-once with a narrow window: a crash between a send and its settle is the only way a message goes twice;
callbacks carry a stable delivery id for that case.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from services.clock import Clock
from services.outbox import claims, liveness
from services.outbox.claims import Claim
from services.outbox.delivery import Deliverer, Outcome
from services.outbox.handoff import Handoff
from services.outbox.service import PRIORITY_PEOPLE
from services.outbox.transport import SlackTransport

log = logging.getLogger("countersign.outbox")

__all__ = ["OutboxSender", "Outcome"]
SETTLE_TRIES = 5
T = TypeVar("T")


# The sender's database work runs on threads of its own. Its lanes (up to twice max_lanes at once) each wait
# there for SQLite's writer lock under load; on the loop's default pool they filled every thread, and a person's
# click waited for a free one behind them.
_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="outbox")


async def _on_own_threads(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_THREADS, partial(fn, *args, **kwargs))


@dataclass
class OutboxSender:
    engine: Engine
    clock: Clock
    slack: SlackTransport | None
    http: httpx.AsyncClient
    secret_key: str | None = None
    deny_private: bool = False
    channel_interval_s: float = 1.0
    lease_s: float = 120.0
    batch: int = 100  # the most rows one claim takes
    heartbeat_s: float = 5.0
    max_lanes: int = 32  # lanes worked at once; lanes for people may go to twice this
    scan_gap_s: float = 0.05  # the least time between two looks for due lanes
    claim_window_s: float = 5.0  # a claim holds about this much work: new urgent rows in a busy lane wait no longer
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _lanes: dict[str, asyncio.Task[int]] = field(default_factory=dict)
    _claims: dict[str, Claim] = field(default_factory=dict)  # live claims by token: what the heartbeat renews
    _next_post_at: dict[str, float] = field(default_factory=dict)
    _paused_until: dict[str, float] = field(default_factory=dict)
    _row_s: dict[str, float] = field(default_factory=dict)  # observed seconds per row, per lane
    _registered: bool = False
    _handoff: Handoff | None = None  # attached once our beat is in: a card claimed for us is then freed if we die
    _watch: liveness.Watch = field(default_factory=liveness.Watch)
    _wake: asyncio.Event | None = None
    _starved: bool = False  # a due lane waited for room: look again as soon as a lane ends
    _passed_over: set[str] = field(default_factory=set)  # lanes a look skipped as worked here: look at their end
    _stop: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _releasing: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.deliverer = Deliverer(engine=self.engine, slack=self.slack, http=self.http, secret_key=self.secret_key,
                                   deny_private=self.deny_private, clock=self.clock)
        self.started_at = self.clock.now()

    @property
    def beat_s(self) -> float:
        return min(self.heartbeat_s, self.lease_s / 3)  # several renewals fit in a lease

    @property
    def kinds(self) -> list[str]:
        return ["callback"] + (["slack"] if self.slack is not None else [])

    async def run_forever(self, stop: asyncio.Event, wake: asyncio.Event, idle_s: float = 0.5,
                          handoff: Handoff | None = None) -> None:
        """Deliver until stopped; sleep when idle, but wake at once when a local transaction queued work, and
        take the cards a local transaction claimed for us (`handoff`) as it commits."""
        self._wake, self._stop, self._loop, self._handoff = wake, stop, asyncio.get_running_loop(), handoff
        try:
            await self._register()
        except Exception:  # the database may be down at start; the heartbeat keeps trying
            log.exception("outbox sender could not register")
        beats = asyncio.create_task(self._beat_forever(stop))
        loop, scanned = asyncio.get_running_loop(), 0.0
        try:
            while not stop.is_set():
                # Every commit wakes the sender; under a burst, one scan per gap is enough (lanes at work need none).
                gap = self.scan_gap_s - (loop.time() - scanned)
                if gap > 0:
                    await asyncio.sleep(gap)
                scanned = loop.time()
                wake.clear()
                try:
                    await self._dispatch(stop)
                except Exception:  # a database blip must not end deliveries; the rows stay pending
                    log.exception("outbox dispatch failed")
                waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
                await asyncio.wait(waiters, timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
        finally:
            self._handoff = None
            if handoff is not None:
                handoff.detach()
            beats.cancel()
            if self._lanes:  # each worker finishes the send in hand and hands back the rest
                _, stuck = await asyncio.wait(list(self._lanes.values()), timeout=3)
                for task in stuck:
                    task.cancel()
            try:
                await _on_own_threads(liveness.retire, self.engine, sender_id=self.id)
            except SQLAlchemyError:  # the database is gone too: the others free our claims when our beat stops
                log.warning("outbox sender could not hand back its claims on the way out", exc_info=True)

    def accepts(self, lane: str) -> bool:
        """Whether a card for `lane` may be claimed for us as it is written (services.outbox.handoff): we run,
        have room for one more lane (urgent lanes waiting for room go first), and the lane is neither worked here
        (its worker takes the card with its next claim; no need to look) nor resting. Asked from the request's
        thread: a moment's stale answer costs at most one lane over `max_lanes`, or one card left to the lane."""
        if self.slack is None or self._stop is None or self._stop.is_set() or self._loop is None:
            return False
        if lane in self._lanes or len(self._lanes) >= self.max_lanes:
            return False
        return self._paused_until.get(lane, 0.0) <= self._loop.time()

    def take(self, claim: Claim) -> None:
        """A claim a local transaction made for us has committed: work its lane from it, after the lane's
        current worker here (if any) has finished, so nothing it still sends is overtaken."""
        if self._stop is None or self._stop.is_set():  # stopping: hand the rows back for anyone
            task = asyncio.create_task(_on_own_threads(claims.release, self.engine,
                                                       ids=[r.id for r in claim.rows if r.id], token=claim.token))
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)
            return
        self._claims[claim.token] = claim  # renewed by the heartbeat from now on
        previous = self._lanes.get(claim.lane)
        self._lanes[claim.lane] = asyncio.create_task(
            self._work_lane(claim.lane, self._stop, first=claim, after=previous))

    async def run_once(self) -> int:
        """One pass over every due lane, one claim each; returns how many rows were attempted (tests drive this)."""
        await self._register()
        lanes = await _on_own_threads(claims.due_lanes, self.engine, now=self.clock.now(), kinds=self.kinds,
                                        exclude=set(), limit=self.max_lanes * 2)
        counts = await asyncio.gather(*(self._work_lane(lane, None, once=True) for lane, _ in lanes))
        return sum(counts)

    async def _register(self) -> None:
        if not self._registered:
            await self._beat()
            self._on_registered()

    def _on_registered(self) -> None:
        self._registered = True
        if self._handoff is not None and self._loop is not None and self._handoff.taker is not self:
            self._handoff.attach(self, self._loop)

    async def _beat(self) -> None:
        await _on_own_threads(liveness.beat, self.engine, sender_id=self.id, now=self.clock.now(),
                                beat_s=self.beat_s, lease_s=self.lease_s, started_at=self.started_at,
                                tokens=list(self._claims))
        freed = await _on_own_threads(liveness.reap, self.engine, sender_id=self.id, watch=self._watch,
                                        now_s=asyncio.get_running_loop().time())
        if freed:
            log.info("outbox: %d rows claimed by senders that are gone are due again", freed)
            if self._wake is not None:
                self._wake.set()

    async def _beat_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.beat_s)
            except TimeoutError:
                pass
            if stop.is_set():
                return
            try:
                await self._beat()
                self._on_registered()
            except Exception:  # a database blip: the next beat tries again, well within the lease
                log.exception("outbox heartbeat failed")

    async def _dispatch(self, stop: asyncio.Event) -> int:
        """Start a worker for each due lane not already worked here, most urgent first."""
        await self._register()
        now_loop = asyncio.get_running_loop().time()
        paused = {lane for lane, until in self._paused_until.items() if until > now_loop}
        self._passed_over.update(self._lanes)
        lanes = await _on_own_threads(claims.due_lanes, self.engine, now=self.clock.now(), kinds=self.kinds,
                                        exclude=set(self._lanes) | paused, limit=self.max_lanes * 2)
        started = 0
        for lane, priority in lanes:
            room = self.max_lanes * (2 if priority <= PRIORITY_PEOPLE else 1)
            if lane in self._lanes:
                continue
            if len(self._lanes) >= room:
                self._starved = True
                continue
            self._lanes[lane] = asyncio.create_task(self._work_lane(lane, stop))
            started += 1
        return started

    async def _work_lane(self, lane: str, stop: asyncio.Event | None, *, once: bool = False,
                         first: Claim | None = None, after: asyncio.Task[int] | None = None) -> int:
        """Claim and deliver this lane's rows until it has nothing due (or, `once`, for one claim). The claim
        after the first comes with the settle of the previous claim's last row (claims.settle_last). `first`:
        a claim handed over (services.outbox.handoff), worked once `after` (the lane's last worker) is done."""
        attempted, drained = 0, False
        try:
            if after is not None:
                await asyncio.wait([after])
            claim = first or await _on_own_threads(
                claims.claim_lane, self.engine, lane=lane, now=self.clock.now(), kinds=self.kinds,
                limit=self._capacity(lane), sender_id=self.id, lease_s=self.lease_s)
            while claim is not None and (stop is None or not stop.is_set()):
                self._claims[claim.token] = claim
                try:
                    done, following = await self._deliver_claim(claim, stop, then=not once)
                finally:
                    self._claims.pop(claim.token, None)
                drained = done == len(claim.rows) and following is None
                attempted, claim = attempted + done, following
            if claim is not None:  # stopped with a fresh claim in hand: its rows are due again for anyone
                await _on_own_threads(claims.release, self.engine, ids=[r.id for r in claim.rows if r.id],
                                        token=claim.token)
        except Exception:  # one lane's trouble (a database blip) must not end the others; its rows stay pending
            log.exception("outbox lane %s failed", lane)
        finally:
            if self._lanes.get(lane) is asyncio.current_task():
                del self._lanes[lane]
            passed_over = lane in self._passed_over and lane not in self._lanes
            if passed_over:
                self._passed_over.discard(lane)
            if self._wake is not None and (self._starved or not drained or passed_over):
                # A lane waits for room, a look skipped this lane while it was worked here (a row may have come
                # after its last claim), or it stopped short (a lost claim, a blip): look again now. A lane that
                # ran dry unseen needs no look: a new row wakes us, or comes handed over.
                self._starved = False
                self._wake.set()
        return attempted

    async def _deliver_claim(self, claim: Claim, stop: asyncio.Event | None, *,
                             then: bool) -> tuple[int, Claim | None]:
        """Deliver a claim's rows; returns how many were attempted and, with `then`, the lane's next claim
        (taken by the last row's settle), or None when the lane is done or must stop."""
        loop = asyncio.get_running_loop()
        rows, attempted, following_claim = claim.rows, 0, None
        try:
            # Each send is fenced: the first by the claim itself, committed a moment ago with a full lease (a
            # fence now would renew the same lease under the same token), every later one by the settle of the
            # one before it.
            for index, row in enumerate(rows):
                if stop is not None and stop.is_set():
                    break
                assert row.id is not None
                began = loop.time()
                outcome = await self.deliverer.deliver(row, lambda: self._pace(claim.lane))
                attempted += 1
                # A failed row holds back the rest of its order (a handed claim may carry a post and its thread
                # reply): those go back unsent and wait for it, as they would in any claim.
                limited = outcome.retry_after is not None
                halt = limited or (not outcome.ok and any(later.order_key == row.order_key
                                                          for later in rows[index + 1:]))
                last = index + 1 == len(rows)
                if last and then and not halt and (stop is None or not stop.is_set()):
                    self._observe(claim.lane, loop.time() - began)
                    following_claim = await self._settle_last(outcome, claim)
                    break
                following = rows[index + 1].id if not last and not halt else None
                still_ours = await self._settle(outcome, claim, following, claim.lane if limited else None)
                self._observe(claim.lane, loop.time() - began)
                if limited:
                    # Slack asked this lane to slow down: the lane rests (here and, through its rows, everywhere).
                    self._paused_until[claim.lane] = loop.time() + claims.backoff(1, outcome.retry_after)
                if halt:
                    break
                if not still_ours:
                    log.warning("outbox lane %s: claim lost; its remaining rows are another sender's", claim.lane)
                    break
        finally:
            # Whatever was not attempted goes back at once (the release is conditional on our token).
            rest = [r.id for r in rows[attempted:] if r.id is not None]
            if rest:
                await _on_own_threads(claims.release, self.engine, ids=rest, token=claim.token)
        return attempted, following_claim

    async def _settle(self, outcome: Outcome, claim: Claim, following: int | None, pause: str | None) -> bool:
        return bool(await self._recording(claims.settle, outcome, claim, next_id=following, pause_lane=pause))

    async def _settle_last(self, outcome: Outcome, claim: Claim) -> Claim | None:
        """`_settle` for a claim's last row, which also claims the lane's next rows."""
        then = claims.NextClaim(kinds=tuple(self.kinds), limit=self._capacity(claim.lane), sender_id=self.id)
        return await self._recording(claims.settle_last, outcome, claim, lane=claim.lane, then=then)  # type: ignore[no-any-return]

    async def _recording(self, settle: Callable[..., Any], outcome: Outcome, claim: Claim, **how: Any) -> Any:
        """Record an attempt; a transient database error is retried, since a delivery left unrecorded would be
        delivered again once its claim lapsed."""
        for attempt in range(SETTLE_TRIES):
            try:
                return await _on_own_threads(settle, self.engine, outcome=outcome, token=claim.token,
                                               now=self.clock.now(), lease_s=self.lease_s, **how)
            except OperationalError:
                if attempt == SETTLE_TRIES - 1:
                    raise
                log.warning("outbox row %s: recording the attempt failed; trying again", outcome.row_id)
                await asyncio.sleep(0.05 * 2**attempt)
        return None

    def _capacity(self, lane: str) -> int:
        """What this lane can deliver well within its lease (and within the claim window)."""
        paced = self.channel_interval_s if lane.startswith("slack:") else 0.0
        per_row = max(self._row_s.get(lane, paced), paced, 0.01)
        return max(1, min(self.batch, int(min(self.lease_s / 2, self.claim_window_s) / per_row)))

    def _observe(self, lane: str, seconds: float) -> None:
        previous = self._row_s.get(lane)
        self._row_s[lane] = seconds if previous is None else 0.7 * previous + 0.3 * seconds

    async def _pace(self, lane: str) -> None:
        loop = asyncio.get_running_loop()
        wait = self._next_post_at.get(lane, 0.0) - loop.time()
        self._next_post_at[lane] = max(loop.time(), self._next_post_at.get(lane, 0.0)) + self.channel_interval_s
        if wait > 0:
            await asyncio.sleep(wait)
