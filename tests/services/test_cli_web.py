"""`countersign web login-link U…` prints a link that signs that person in; a bad id is refused with exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

from services.signin import addresses
from tests.harness import ALICE, Harness
from tests.services.cli.run import cli
from tests.web.helpers import browser


def _cli(*args: str, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services", *args], capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": url, **env}, timeout=60)


def test_login_link_signs_the_person_in(sqlite_url: str) -> None:
    """The printed URL names COUNTERSIGN_PUBLIC_URL and its token opens a session as that user."""
    printed = _cli("web", "login-link", ALICE, url=sqlite_url, COUNTERSIGN_PUBLIC_URL="https://cs.example.com/")
    assert printed.returncode == 0, printed.stderr
    url = printed.stdout.strip()
    assert url.startswith("https://cs.example.com/app/login/") and "10 minutes" in printed.stderr
    with Harness(sqlite_url, run_background=False) as h:
        client = browser(h)
        assert client.post("/app/login", data={"token": url.rsplit("/", 1)[1]}).status_code == 303
        assert ALICE in client.get("/app/").text


def test_login_link_refuses_a_bad_user_id(sqlite_url: str) -> None:
    """Not a Slack user id: exit 2 with what one looks like."""
    refused = _cli("web", "login-link", "alice@example.com", url=sqlite_url)
    assert refused.returncode == 2 and "U012ABCDEF" in refused.stderr


def test_login_link_names_the_address_serve_bound(sqlite_url: str) -> None:
    """With no COUNTERSIGN_PUBLIC_URL, the link names the port a `serve` on this database bound (not the default
    8000); COUNTERSIGN_PUBLIC_URL still wins; once that serve stops, the settings' address is named again."""
    with Harness(sqlite_url, run_background=False) as h:
        addresses.record_listening(ctx=h.ctx, url="http://127.0.0.1:18201")
        printed = cli("web", "login-link", ALICE, url=sqlite_url, COUNTERSIGN_PUBLIC_URL=None)
        assert printed.exit_code == 0, printed.stderr
        assert printed.stdout.startswith("http://127.0.0.1:18201/app/login/")
        public = cli("web", "login-link", ALICE, url=sqlite_url, COUNTERSIGN_PUBLIC_URL="https://cs.example.com")
        assert public.stdout.startswith("https://cs.example.com/app/login/")
        addresses.forget_listening(ctx=h.ctx, url="http://127.0.0.1:18201")
        after = cli("web", "login-link", ALICE, url=sqlite_url, COUNTERSIGN_PUBLIC_URL=None, COUNTERSIGN_PORT="8123")
        assert after.stdout.startswith("http://127.0.0.1:8123/app/login/")
