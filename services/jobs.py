"""What a scheduled job is: a name, a plain function of the app context, and how often. Each domain lists its
own in its jobs.py as `JOBS`; services.scheduler gathers and runs them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    name: str  # "<domain>.<what it does>": the scheduler's id for it, and what its log lines say
    run: Callable[[Any], object]  # run(ctx: AppContext)
    every_s: float | None = None  # None: every tick (settings.tick_seconds)
