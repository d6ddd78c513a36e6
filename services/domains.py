"""The domains, and the one way to load a part of each (api, jobs, models) where it has one.

Wiring code (the app, the scheduler, the schema) asks here instead of importing every domain by
name, so adding a domain is adding its folder and its name below.
"""

from __future__ import annotations

import importlib
from types import ModuleType

DOMAINS = ("agents", "drafts", "incidents", "runs", "spend", "digests", "autonomy", "signin", "people")


def domain_modules(part: str) -> list[ModuleType]:
    """`services.<domain>.<part>` for every domain that has that part, in DOMAINS order."""
    modules = []
    for name in DOMAINS:
        try:
            modules.append(importlib.import_module(f"services.{name}.{part}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"services.{name}.{part}":  # a broken import inside the part must still fail loudly
                raise
    return modules
