"""`Countersign` and `AsyncCountersign`: the same flows (see _core) driven by httpx.Client or httpx.AsyncClient;
the methods come from _resources.py and its generated twin _async_resources.py."""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from countersign_client._async_resources import AsyncApiMethods
from countersign_client._core import Config, Flow, Send, Sleep, drop_none
from countersign_client._flows import checkpoint_flow
from countersign_client._resources import ApiMethods
from countersign_client.approval import Checkpoint, Outcome
from countersign_client.runs import AsyncRunScope, RunScope

F = TypeVar("F", bound=Callable[..., Any])


class _Common:
    """The decorator's shared half; each client wraps the function its own way (`_wrap`)."""

    _cfg: Config

    @property
    def base_url(self) -> str:
        return self._cfg.base_url

    def require_approval(self, action: str | None = None, title: str | None = None, *,
                         timeout: float | None = None, **fields: Any) -> Callable[[F], F]:
        """Decorator: each call becomes a draft (body = the arguments as JSON, title = `title` formatted with the
        arguments) and runs only once approved, with the arguments as the reviewer edited them. Raises Rejected
        (also for an edit that does not fit the signature), Expired, or ApprovalTimeout (the draft is withdrawn)."""

        def decorate(fn: F) -> F:
            checkpoint = Checkpoint(fn, action, title)
            return self._wrap(fn, checkpoint, timeout, fields)

        return decorate

    def _wrap(self, fn: Any, checkpoint: Checkpoint, timeout: float | None, fields: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _checkpoint(self, checkpoint: Checkpoint, args: tuple[Any, ...], kwargs: dict[str, Any],
                    timeout: float | None, fields: dict[str, Any]) -> tuple[Flow[Outcome], inspect.BoundArguments]:
        bound = checkpoint.arguments(args, kwargs)
        payload = {**drop_none(**fields), **checkpoint.draft_fields(bound)}
        return checkpoint_flow(self._cfg, payload, timeout, None), bound


def _run_fields(name: str | None, heartbeat_every_s: int, grace_s: int, fields: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "heartbeat_every_s": heartbeat_every_s, "grace_s": grace_s, **fields}


class Countersign(_Common, ApiMethods):
    """The blocking client. `Countersign()` reads COUNTERSIGN_URL and COUNTERSIGN_API_KEY; pass `transport=`
    (e.g. httpx.MockTransport) or a ready `http_client=` to change how requests travel."""

    def run(self, name: str | None = None, *, heartbeat_every_s: int = 60, grace_s: int = 30,
            **fields: Any) -> RunScope:
        """`with cs.run(...) as run:` beats from a background thread while the block runs, then finishes
        "succeeded", or "failed" if the block raises. Extra fields: run_id, max_duration_s, metadata, step,
        halt_policy."""
        return RunScope(self, _run_fields(name, heartbeat_every_s, grace_s, fields))

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *, timeout: float = 30.0,
                 max_retries: int = 3, backoff_s: float = 0.5, headers: dict[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None, http_client: httpx.Client | None = None) -> None:
        self._cfg = Config.resolve(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries,
                                   backoff_s=backoff_s, headers=headers)
        self._attach()
        self._http = http_client or httpx.Client(transport=transport, timeout=self._cfg.timeout)
        self._owns_http = http_client is None

    def _run(self, flow: Flow[Any]) -> Any:
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                op = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as done:
                return done.value
            result, error = None, None
            if isinstance(op, Sleep):
                time.sleep(op.seconds)
                continue
            try:
                result = self._http.request(**_request_kwargs(self._cfg, op))
            except httpx.TransportError as exc:
                error = exc

    def _wrap(self, fn: Any, checkpoint: Checkpoint, timeout: float | None, fields: dict[str, Any]) -> Any:
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
                flow, bound = self._checkpoint(checkpoint, args, kwargs, timeout, fields)
                outcome = await asyncio.to_thread(self._run, flow)  # blocking client: wait off the event loop
                call_args, call_kwargs = checkpoint.call_for(outcome, bound)
                return await fn(*call_args, **call_kwargs)

            return wrapped_async

        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            flow, bound = self._checkpoint(checkpoint, args, kwargs, timeout, fields)
            call_args, call_kwargs = checkpoint.call_for(self._run(flow), bound)
            return fn(*call_args, **call_kwargs)

        return wrapped

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Countersign:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncCountersign(_Common, AsyncApiMethods):
    """The asyncio client: the same methods as `Countersign`, awaited."""

    def run(self, name: str | None = None, *, heartbeat_every_s: int = 60, grace_s: int = 30,
            **fields: Any) -> AsyncRunScope:
        """`async with acs.run(...) as run:` beats from a task while the block runs, then finishes "succeeded",
        or "failed" if the block raises."""
        return AsyncRunScope(self, _run_fields(name, heartbeat_every_s, grace_s, fields))

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *, timeout: float = 30.0,
                 max_retries: int = 3, backoff_s: float = 0.5, headers: dict[str, str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 http_client: httpx.AsyncClient | None = None) -> None:
        self._cfg = Config.resolve(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries,
                                   backoff_s=backoff_s, headers=headers)
        self._attach()
        self._http = http_client or httpx.AsyncClient(transport=transport, timeout=self._cfg.timeout)
        self._owns_http = http_client is None

    async def _run(self, flow: Flow[Any]) -> Any:  # type: ignore[override]
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                op = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as done:
                return done.value
            result, error = None, None
            if isinstance(op, Sleep):
                await asyncio.sleep(op.seconds)
                continue
            try:
                result = await self._http.request(**_request_kwargs(self._cfg, op))
            except httpx.TransportError as exc:
                error = exc

    def _wrap(self, fn: Any, checkpoint: Checkpoint, timeout: float | None, fields: dict[str, Any]) -> Any:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"AsyncCountersign.require_approval needs an async function; {fn.__name__} is not "
                            "(use Countersign for blocking functions)")

        @functools.wraps(fn)
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            flow, bound = self._checkpoint(checkpoint, args, kwargs, timeout, fields)
            call_args, call_kwargs = checkpoint.call_for(await self._run(flow), bound)
            return await fn(*call_args, **call_kwargs)

        return wrapped

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncCountersign:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _request_kwargs(cfg: Config, op: Send) -> dict[str, Any]:
    # Absolute URL and auth on every request, so an http_client handed in needs no configuration of its own.
    kwargs: dict[str, Any] = {"method": op.method, "url": cfg.base_url + op.path, "params": op.params,
                              "headers": {**cfg.default_headers(), **op.headers}}
    if op.json is not None:
        kwargs["json"] = op.json
    if op.timeout is not None:
        kwargs["timeout"] = httpx.Timeout(cfg.timeout, read=op.timeout)
    return kwargs
