"""Sign-in by one-time link: single use, 10 minutes, session cookie flags, session expiry, sign-out."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.audit.refusals import write_due_refusals
from testkit.clock import FakeClock
from tests.harness import ALICE, Harness
from tests.web.helpers import audited, browser, csrf, link_token, signed_in


def test_link_signs_in_once_with_a_safe_cookie(any_db_harness: Harness) -> None:
    """GET only shows a button (prefetchers can't spend it); the POST signs in with HttpOnly, SameSite=Lax.
    On SQLite and PostgreSQL: using the link is a conditional UPDATE."""
    harness = any_db_harness
    client, token = browser(harness), link_token(harness, ALICE)
    shown = client.get(f"/app/login/{token}")
    assert shown.status_code == 200 and "Sign in" in shown.text
    answer = client.post("/app/login", data={"token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/app/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # loopback: no TLS
    assert client.get("/app/").status_code == 200
    again = browser(harness).post("/app/login", data={"token": token})
    assert again.status_code == 403 and "already used" in again.text
    assert audited(harness, "web.signed_in", actor=ALICE) and audited(harness, "web.refused", actor=ALICE)


def test_cookie_is_secure_off_loopback(harness: Harness) -> None:
    """Served on a real host name, the session cookie is Secure too."""
    client = TestClient(harness.app, base_url="https://countersign.example.com", follow_redirects=False)
    answer = client.post("/app/login", data={"token": link_token(harness, ALICE)})
    assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]


def test_expired_and_unknown_links_are_refused(sqlite_url: str, clock: FakeClock) -> None:
    """Eleven minutes later the link is dead; a made-up one never worked; both pages say what to do. Both are
    audited: the first at once, the second (same address, same minute) counted into the next minute's entry."""
    with Harness(sqlite_url, clock=clock, run_background=False) as h:
        token = link_token(h, ALICE)
        clock.advance(minutes=11)
        expired = browser(h).post("/app/login", data={"token": token})
        assert expired.status_code == 403 and "expired" in expired.text and "/countersign web" in expired.text
        unknown = browser(h).post("/app/login", data={"token": "made-up"})
        assert unknown.status_code == 403 and "not one we issued" in unknown.text
        assert [e.details["count"] for e in audited(h, "web.refused")] == [1]
        clock.advance(minutes=1)
        write_due_refusals(h.ctx)
        assert [e.details["count"] for e in audited(h, "web.refused")] == [1, 1]


def test_session_expires_and_sign_out_ends_it(sqlite_url: str, clock: FakeClock) -> None:
    """A session lasts 12 hours; signing out ends it at once and the old cookie no longer works."""
    with Harness(sqlite_url, clock=clock, run_background=False) as h:
        client = signed_in(h, ALICE)
        assert client.get("/app/").status_code == 200
        clock.advance(hours=12, seconds=1)
        late = client.get("/app/")
        assert late.status_code == 401 and "/countersign web" in late.text
        client = signed_in(h, ALICE)
        cookie = client.cookies.get("cs_session")
        out = client.post("/app/logout", data={"csrf_token": csrf(client)})
        assert out.status_code == 200 and "Signed out" in out.text
        stale = browser(h)
        stale.cookies.set("cs_session", cookie or "", domain="127.0.0.1", path="/app")
        assert stale.get("/app/").status_code == 401
        assert audited(h, "web.signed_out", actor=ALICE)


def test_pages_need_a_session(harness: Harness) -> None:
    """Every page refuses an anonymous visitor with a page saying how to sign in (never data, never a 500)."""
    client = browser(harness)
    for path in ("/app/", "/app/incidents", "/app/agents", "/app/spend", "/app/audit", "/app/drafts/drf_x",
                 "/app/live/inbox"):
        answer = client.get(path)
        assert answer.status_code == 401 and "text/html" in answer.headers["content-type"], path
        assert "countersign web login-link" in answer.text
