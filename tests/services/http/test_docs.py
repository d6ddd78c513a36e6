"""/docs and /redoc work with no internet: every script, style and icon they name is served by Countersign, and
their Content-Security-Policy allows nothing from elsewhere."""

from __future__ import annotations

import re

import pytest

from tests.harness import Harness

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_reference_pages_load_only_same_origin_assets(sqlite_url: str, page: str) -> None:
    """Each asset the page names is a same-origin path that answers 200 with content; the CSP names no host."""
    with Harness(sqlite_url, run_background=False) as h:
        answer = h.client.get(page)
        assert answer.status_code == 200
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "http" not in policy and "unsafe-eval" not in policy
        assets = ASSET.findall(answer.text)
        assert any(a.endswith(".js") for a in assets)
        for asset in assets:
            assert asset.startswith("/") and not asset.startswith("//"), asset
            served = h.client.get(asset)
            assert served.status_code == 200 and len(served.content) > 100, asset
            if asset.endswith(".js"):
                assert served.headers["content-type"].startswith(("text/javascript", "application/javascript"))
        spec = "/openapi.json"
        assert spec in answer.text or spec in h.client.get("/docs-assets/swagger-start.js").text
        assert h.client.get(spec).status_code == 200
