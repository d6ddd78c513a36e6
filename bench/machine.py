"""The machine a figure was measured on, and how busy it was, for RESULTS.md."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

from services.db import normalize_url


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


class LoadSampler:
    """The 1-minute load average every few seconds while the benchmark runs: the machine is shared, so a figure
    is read against how busy it was (compare ratios measured in the same run, not absolutes, when it was)."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.every_s, self.samples = every_s, []  # type: ignore[var-annotated]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.samples.append(float(Path("/proc/loadavg").read_text().split()[0]))
            except (OSError, ValueError):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(1)

    def summary(self) -> str:
        if not self.samples:
            return "unknown"
        mean, peak, cpus = sum(self.samples) / len(self.samples), max(self.samples), os.cpu_count() or 1
        verdict = "quiet" if peak < cpus else f"BUSY (more runnable tasks than its {cpus} CPUs)"
        return f"mean {mean:.1f}, peak {peak:.1f} over {len(self.samples)} samples: {verdict}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def pg_version(url: str | None) -> str:
    if not url:
        return "not run (no --pg URL)"
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


def report(table: str, *, n: int, pg_url: str | None, load_before: str, minutes: float,
           load_during: str = "unknown") -> str:
    return "\n".join([
        "# Countersign benchmark results",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC with `python -m bench.run`; {n} requests per cell, "
        f"{minutes:.1f} minutes in all. Server, load driver, fake Slack and database share the machine.",
        "",
        f"- Machine: {os.cpu_count()} CPUs ({cpu_model()}), {ram()} RAM, {platform.system()} {platform.release()}",
        f"- Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, PostgreSQL {pg_version(pg_url)}",
        f"- Load average (1/5/15 min) before: {load_before}; after: {loadavg()}",
        f"- Load average (1 min) during the run: {load_during}",
        "",
        table,
        "",
    ])
