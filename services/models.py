"""Every table, imported in one place so Alembic and tests see the whole schema."""

from __future__ import annotations

import importlib

from sqlmodel import SQLModel

from services.agents import models as _agents  # noqa: F401
from services.agents import secrets as _secrets  # noqa: F401
from services.audit import models as _audit  # noqa: F401
from services.http import idempotency as _idempotency  # noqa: F401
from services.outbox import models as _outbox  # noqa: F401

for _domain in ("drafts", "incidents", "runs", "spend", "digests", "autonomy"):
    try:
        importlib.import_module(f"services.{_domain}.models")
    except ModuleNotFoundError as exc:
        if exc.name not in (f"services.{_domain}", f"services.{_domain}.models"):
            raise

metadata = SQLModel.metadata
