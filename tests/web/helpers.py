"""Helpers for the web app's tests: a browser-like client signed in as a person, its CSRF token, and forms."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from services.audit.models import AuditEntry
from services.audit.service import Actor
from services.signin import flows as signin
from tests.harness import Harness

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def link_token(h: Harness, user: str) -> str:
    return signin.issue_link(ctx=h.ctx, user_id=user, actor=Actor.system("test")).rsplit("/", 1)[1]


def browser(h: Harness) -> TestClient:
    """A client on a loopback address (so the session cookie is not Secure-only) that does not follow redirects."""
    return TestClient(h.app, base_url="http://127.0.0.1", follow_redirects=False, raise_server_exceptions=False)


def signed_in(h: Harness, user: str) -> TestClient:
    client = browser(h)
    response = client.post("/app/login", data={"token": link_token(h, user)})
    assert response.status_code == 303, response.text
    return client


def csrf(client: TestClient, path: str = "/app/") -> str:
    page = client.get(path)
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def submit(client: TestClient, path: str, **fields: Any) -> Any:
    """POST a form as the page would, with the session's CSRF token unless the test gives one."""
    fields.setdefault("csrf_token", csrf(client))
    return client.post(path, data=fields)


def audited(h: Harness, verb: str, *, actor: str | None = None) -> list[AuditEntry]:
    with h.ctx.read() as session:
        statement = select(AuditEntry).where(AuditEntry.verb == verb)
        if actor:
            statement = statement.where(AuditEntry.actor_id == actor)
        return list(session.exec(statement.order_by(col(AuditEntry.id))).all())
