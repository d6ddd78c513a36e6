"""Bad input to the oversight endpoints is a 4xx problem naming the field, on every database (a NUL included),
never a 500; a stranger's or a mistyped address is a plain refusal."""

from __future__ import annotations

from tests.harness import Harness
from tests.web.helpers import signed_in

CASES = [
    ("post", "/v1/prompts", {"action": "a", "version": "v\u0000", "text": "x"}, 422, "version"),
    ("post", "/v1/prompts", {"action": "a", "version": "v1", "text": "   "}, 422, "text"),
    ("post", "/v1/prompts", {"action": "Not a slug", "version": "v1", "text": "x"}, 422, "action"),
    ("post", "/v1/agents/quoter/canaries", {"action": "a", "title": "t\u0000", "body": "b", "why_bad": "w"}, 422,
     "title"),
    ("post", "/v1/agents/quoter/canaries", {"action": "a", "title": "t", "body": "b"}, 422, "why_bad"),
    ("post", "/v1/agents/nobody/canaries", {"action": "a", "title": "t", "body": "b", "why_bad": "w"}, 404, None),
    ("patch", "/v1/agents/quoter", {"canary_rate": None}, 422, "canary_rate"),
    ("patch", "/v1/agents/quoter", {"canary_rate": 0.5}, 422, "canary_rate"),
    ("get", "/v1/oversight?days=0", None, 422, "days"),
    ("get", "/v1/oversight?agent=nobody", None, 404, None),
]


def test_bad_input_is_named(any_h: Harness) -> None:
    key = any_h.register()["api_key"]
    for method, path, body, status, field in CASES:  # one app for every case: a start costs more than a request
        headers = any_h.bearer(key) if path == "/v1/prompts" else any_h.admin
        response = any_h.client.request(method.upper(), path, json=body, headers=headers)
        assert response.status_code == status, (path, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        if field:
            assert field in [e["field"] for e in response.json()["errors"]], (path, body, response.text)


def test_a_paused_agent_registers_no_prompt_and_odd_addresses_are_refused_politely(h: Harness) -> None:
    key = h.register()["api_key"]
    assert h.client.post("/v1/agents/quoter/pause", headers=h.admin, json={}).status_code == 200
    paused = h.client.post("/v1/prompts", headers=h.bearer(key), json={"action": "a", "version": "v1", "text": "x"})
    assert paused.status_code == 423
    browser = signed_in(h, "U012OWNER")
    for path in ("/app/prompts/abc", "/app/prompts/999", "/app/oversight?days=nine"):
        page = browser.get(path)
        assert page.status_code in (200, 404) and "Something went wrong" not in page.text
