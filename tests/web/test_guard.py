"""What the web app takes on trust: the session cookie is Secure on https as the deployment declares it (public
URL, TLS, or a trusted proxy's X-Forwarded-Proto; a forged header from anyone else changes nothing); a foreign
Origin is refused even without Fetch Metadata; redirects never follow the Host header; / and /docs carry the
pages' protective headers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.harness import ALICE, Harness
from tests.web.helpers import audited, link_token, signed_in

PROXY = "10.0.0.2"


def sign_in(h: Harness, base_url: str = "http://countersign.internal", peer: str = "127.0.0.1",
            **headers: str) -> object:
    client = TestClient(h.app, base_url=base_url, client=(peer, 5000), follow_redirects=False)
    return client.post("/app/login", data={"token": link_token(h, ALICE)}, headers=headers)


def test_secure_cookie_follows_the_public_url_and_trusted_proxies_only(sqlite_url: str) -> None:
    with Harness(sqlite_url, run_background=False, COUNTERSIGN_TRUSTED_PROXIES="10.0.0.0/8") as h:
        plain = sign_in(h)
        forged = sign_in(h, **{"X-Forwarded-Proto": "https"})  # from a peer that is no trusted proxy
        proxied = sign_in(h, peer=PROXY, **{"X-Forwarded-Proto": "https"})
        proxied_http = sign_in(h, peer=PROXY, **{"X-Forwarded-Proto": "http"})
    assert plain.status_code == forged.status_code == proxied.status_code == 303
    assert "Secure" not in plain.headers["set-cookie"] and "Secure" not in forged.headers["set-cookie"]
    assert "Secure" in proxied.headers["set-cookie"] and "Secure" not in proxied_http.headers["set-cookie"]
    with Harness(sqlite_url, run_background=False, COUNTERSIGN_PUBLIC_URL="https://countersign.example.com") as h:
        behind_tls = sign_in(h)  # the proxy in front terminates TLS and says nothing
    assert "Secure" in behind_tls.headers["set-cookie"]


def test_a_foreign_origin_is_refused_without_fetch_metadata(harness: Harness) -> None:
    """A sign-in (login CSRF) or a change posted from another site is refused by its Origin alone."""
    base = "http://countersign.internal"
    foreign = sign_in(harness, base, Origin="https://evil.example")
    null = sign_in(harness, base, Origin="null")
    assert foreign.status_code == null.status_code == 403 and "cs_session" not in foreign.headers.get("set-cookie", "")
    assert sign_in(harness, base, Origin=base).status_code == 303
    # A browser's own form POST under the pages' no-referrer policy says `Origin: null` and same-origin.
    assert sign_in(harness, base, Origin="null", **{"Sec-Fetch-Site": "same-origin"}).status_code == 303
    assert sign_in(harness, base, Origin="null", **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert len(audited(harness, "web.refused")) >= 1
    client = signed_in(harness, ALICE)
    out = client.post("/app/logout", data={"csrf_token": "irrelevant"}, headers={"Origin": "https://evil.example"})
    assert out.status_code == 403


def test_redirects_never_name_the_host_header(harness: Harness) -> None:
    client = TestClient(harness.app, base_url="http://evil.example", follow_redirects=False)
    for path, target in [("/app", "/app/"), ("/app/agents/", "/app/agents"), ("/app/login/", "/app/login")]:
        answer = client.get(path)
        assert answer.is_redirect and answer.headers["location"] == target, (path, answer.headers.get("location"))


def test_home_and_docs_carry_the_pages_headers(harness: Harness) -> None:
    home, docs = harness.client.get("/"), harness.client.get("/docs")
    for answer in (home, docs):
        assert answer.status_code == 200
        assert answer.headers["x-frame-options"] == "DENY" and answer.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "script-src 'self';" in docs.headers["content-security-policy"]  # no inline script, no CDN
    assert int(docs.headers["content-length"]) == len(docs.content)
