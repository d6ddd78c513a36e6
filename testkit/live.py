"""A real Countersign server as its own process (the way it runs in production), for benchmarks and for the
soak, crash and replica tests: start it on a free loopback port against a given database, wait for /readyz,
stop it politely or SIGKILL it, read its resident memory."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.db import normalize_url

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "bench-admin-token"
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
# Anything that could leak in from the caller's shell and change what we measure.
_SCRUBBED_PREFIXES = ("COUNTERSIGN_", "SLACK_", "OPENAI_", "DATABASE_URL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerExited(RuntimeError):
    """The server process ended before it was ready."""


class ServerProcess:
    """One server subprocess. Its output goes to a log file (a pipe nobody reads would fill and stall it)."""

    def __init__(self, argv: list[str], env: dict[str, str], *, port: int | None = None, name: str = "server",
                 ready_path: str = "/readyz", ready_status: str = "ready") -> None:
        self.argv, self.extra_env, self.name = argv, env, name
        # Ready means this JSON status at this path: another process that took the port between free_port() and
        # the server's bind (a fake Slack answers anything with 200) must not pass for the server.
        self.ready_path, self.ready_status = ready_path, ready_status
        self.own_port = port is None  # a port we picked may be taken by someone else first: pick another
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = False
        self.workdir = Path(tempfile.mkdtemp(prefix=f"cs-{name}-"))  # no stray .env is read from here
        self.log_path = self.workdir / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env["PYTHONUNBUFFERED"] = "1"
        env.update({k: str(v) for k, v in self.extra_env.items()})
        env["COUNTERSIGN_PORT"] = str(self.port)
        return env

    def start(self, timeout: float = 60.0) -> ServerProcess:
        for attempt in range(3):
            try:
                return self._start(timeout)
            except ServerExited:
                # Only a first start on a port we picked moves: a restart must come back where its clients are.
                if not self.own_port or self.started or attempt == 2:
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> ServerProcess:
        log = self.log_path.open("ab")
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        self.proc = subprocess.Popen(argv, env=self.env(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        self.wait_ready(timeout)
        self.started = True
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as http:  # one client: each new one costs ~20 ms of CPU for its TLS context
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise ServerExited(f"{self.name} exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
                try:
                    answer = http.get(f"{self.base_url}{self.ready_path}")
                    if answer.status_code == 200 and answer.json().get("status") == self.ready_status:
                        return
                except (httpx.HTTPError, ValueError, AttributeError):
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready within {timeout}s:\n{self.log_text()[-3000:]}")

    def rss_kib(self) -> int | None:
        """Resident memory from /proc (Linux), in KiB."""
        if self.proc is None:
            return None
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def cpu_seconds(self) -> float | None:
        """CPU time the server process has used so far (user + system, all its threads), from /proc (Linux)."""
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, as a process manager would; uvicorn runs the lifespan shutdown."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crashed or OOM-killed host."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def countersign_env(db_url: str, *, slack_url: str | None = None, **extra: Any) -> dict[str, str]:
    env = {
        "DATABASE_URL": db_url,
        "COUNTERSIGN_ADMIN_TOKEN": ADMIN_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "COUNTERSIGN_HOST": "127.0.0.1",
        "COUNTERSIGN_SLACK_CHANNEL_INTERVAL_S": "0",
        "COUNTERSIGN_TICK_SECONDS": "0.5",
        # Benchmarks and soaks drive one agent far past the production default (50/s); the limiter still runs
        # on every request. Tests of the limiter pass their own rate.
        "COUNTERSIGN_RATE_LIMIT_PER_S": "1000000",
    }
    if slack_url:
        env.update({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack_url})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def countersign_server(db_url: str, *, slack_url: str | None = None, port: int | None = None,
                       name: str = "countersign", **extra: Any) -> ServerProcess:
    """`countersign serve`, the production entry point: migrates, then serves HTTP, Slack and the scheduler."""
    argv = [sys.executable, "-c", "import sys; sys.argv[0] = 'countersign'; from services.cli import main; main()",
            "serve", "--host", "127.0.0.1", "--port", "{port}"]
    return ServerProcess(argv, countersign_env(db_url, slack_url=slack_url, **extra), port=port, name=name)


def bare_server(db_url: str, *, port: int | None = None) -> ServerProcess:
    argv = [sys.executable, "-m", "uvicorn", "bench.bare:create_app", "--factory", "--host", "127.0.0.1",
            "--port", "{port}", "--log-level", "warning", "--no-access-log"]
    return ServerProcess(argv, {"DATABASE_URL": db_url}, port=port, name="bare")


def register_agent(base_url: str, name: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "owner": "U012OWNER", "backup_owners": ["U034BACKUP"],
                            "review_channel": "C056REVIEW", "approvers": ["U078ALICE", "U079BOB"]}
    body.update(fields)
    response = httpx.post(f"{base_url}/v1/agents", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                          timeout=30)
    if response.status_code != 201:
        raise RuntimeError(f"registering {name} failed: {response.status_code} {response.text}")
    return response.json()


@contextmanager
def sqlite_database(directory: str | Path | None = None) -> Iterator[str]:
    """A fresh SQLite file; the server migrates it on start."""
    with tempfile.TemporaryDirectory(prefix="cs-db-", dir=directory) as tmp:
        yield f"sqlite:///{Path(tmp) / 'countersign.db'}"


@contextmanager
def pg_database(base_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database next to `base_url`, dropped afterwards."""
    admin = create_engine(normalize_url(base_url), isolation_level="AUTOCOMMIT")
    name = f"cs_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalize_url(base_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
