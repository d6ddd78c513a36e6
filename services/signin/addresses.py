"""Where people reach the service: the one rule behind every link Countersign prints or sends.

COUNTERSIGN_PUBLIC_URL when set; else the address the newest running `countersign serve` on this database bound
(so `serve --port 18201` in one terminal and `web login-link` in another agree); else
COUNTERSIGN_HOST:COUNTERSIGN_PORT. The bound address is kept in the database rather than in a file: the database
is the one thing the CLI and the server are known to share (the CLI says so when they differ), on SQLite and on
PostgreSQL alike. `serve` removes its row when it stops; a row left by a killed server is replaced by the next
`serve` on the same address and outranked by any newer one.
"""

from __future__ import annotations

import ipaddress

from sqlmodel import Session, col, delete, select

from services.config import Settings
from services.context import AppContext
from services.signin.models import ListenAddress

_ANY = ("0.0.0.0", "::", "")


def bind_url(host: str, port: int) -> str:
    """The URL a person on this machine opens for a server bound to host:port (all interfaces: loopback)."""
    host = "127.0.0.1" if host in _ANY else host
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:  # a host name
        pass
    return f"http://{host}:{port}"


def base_url(*, session: Session, settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    newest = session.exec(select(ListenAddress).order_by(col(ListenAddress.started_at).desc())).first()
    return newest.url if newest is not None else bind_url(settings.host, settings.port)


def web_base_url(*, ctx: AppContext) -> str:
    with ctx.read() as session:
        return base_url(session=session, settings=ctx.settings)


def record_listening(*, ctx: AppContext, url: str) -> None:
    with ctx.uow() as session:
        session.exec(delete(ListenAddress).where(col(ListenAddress.url) == url))  # type: ignore[call-overload]
        session.add(ListenAddress(url=url, started_at=ctx.clock.now()))


def forget_listening(*, ctx: AppContext, url: str) -> None:
    with ctx.uow() as session:
        session.exec(delete(ListenAddress).where(col(ListenAddress.url) == url))  # type: ignore[call-overload]
