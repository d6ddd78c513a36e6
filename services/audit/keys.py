"""The key that signs each audit entry as the application writes it (its MAC).

A row written past the application (straight into the table) has no valid MAC, so the sealer refuses to link it
into the chain and `audit verify` names it. The key is derived from COUNTERSIGN_SECRET_KEY, which the database
does not hold; without it, from the server key kept in the database (that catches accidents and writers without
read access, not someone who can read the database, and `verify` says so).

Each engine has one key in this process, set when its AppContext is built (services.assembly); a session whose
engine was never given one (a bare script) uses the database's key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import weakref
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from services.agents.secrets import ServerKey

_keys: weakref.WeakKeyDictionary[Engine, tuple[bytes, str]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def derive(material: str) -> bytes:
    return hashlib.sha256(b"countersign-audit-entry\0" + material.encode()).digest()


def _root(bind: Any) -> Engine:
    """The engine itself: a read session is bound to a copy with other execution options (services.db.read_scope)
    that proxies the same engine and pool."""
    engine = getattr(bind, "engine", bind)
    while getattr(engine, "_proxied", None) is not None:  # SQLAlchemy's OptionEngine
        engine = engine._proxied
    return engine  # type: ignore[no-any-return]


def use_secret_key(engine: Engine, secret_key: str | None) -> None:
    """The deployment's key for entries written through this engine; None: the database's key, read on first use."""
    with _lock:
        if secret_key:
            _keys[_root(engine)] = (derive(secret_key), "env")
        else:
            _keys.pop(_root(engine), None)


def database_key(session: Session) -> bytes:
    """The key entries were signed with while COUNTERSIGN_SECRET_KEY was unset."""
    row = session.get(ServerKey, "webhook")  # created by the first migration
    if row is None:
        raise RuntimeError("server key missing: run `countersign db upgrade`")
    return derive(row.value)


def entry_key(session: Session) -> tuple[bytes, str]:
    """The key for this session's engine and where it came from ("env" or "database")."""
    engine = _root(session.get_bind())
    found = _keys.get(engine)
    if found is not None:
        return found
    found = (database_key(session), "database")
    with _lock:
        _keys.setdefault(engine, found)
    return found


def entry_mac(key: bytes, *, created_at: datetime, actor_type: str, actor_id: str, verb: str, subject: str,
              details: dict[str, Any]) -> str:
    """HMAC-SHA256 over what the entry says (not its place in the chain, which the sealer adds)."""
    material = json.dumps([created_at.astimezone(timezone.utc).isoformat(), actor_type, actor_id, verb, subject,
                           details], sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()
