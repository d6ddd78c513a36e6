"""Every table, imported in one place so Alembic and tests see the whole schema."""

from __future__ import annotations

from sqlmodel import SQLModel

from services import events as _events  # noqa: F401
from services.agents import models as _agents  # noqa: F401
from services.agents import secrets as _secrets  # noqa: F401
from services.audit import models as _audit  # noqa: F401
from services.domains import domain_modules
from services.http import idempotency as _idempotency  # noqa: F401
from services.http import ratelimit as _ratelimit  # noqa: F401
from services.outbox import models as _outbox  # noqa: F401

domain_modules("models")

metadata = SQLModel.metadata
