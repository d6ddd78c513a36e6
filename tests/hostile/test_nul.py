"""A NUL (\\u0000) in any text field is a 422 naming the field, on SQLite and on PostgreSQL (where it was a 500):
drafts, context, metadata keys, usage, incidents, query strings; a web form holding one changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import ALICE, Harness
from tests.web.helpers import signed_in, submit

pytestmark = pytest.mark.postgres_too  # see tests/conftest.py: which tests run on PostgreSQL

NUL = "\x00"
DRAFT = {"action": "send_reply", "title": "Reply to ticket 42", "body": "Hello"}
USAGE = {"model": "gpt-4o-mini", "provider": "openai", "input_tokens": 10, "output_tokens": 5}
INCIDENT = {"kind": "error", "severity": "high", "summary": "quotes came back negative"}

CASES = [
    ("/v1/drafts", {**DRAFT, "title": f"Refund{NUL}"}, "title"),
    ("/v1/drafts", {**DRAFT, "body": f"Hello{NUL}world"}, "body"),
    ("/v1/drafts", {**DRAFT, "context": {"input": ["ok", f"a{NUL}"]}}, "context.input[1]"),
    ("/v1/drafts", {**DRAFT, "metadata": {f"k{NUL}": "v"}}, "metadata"),
    ("/v1/usage", {**USAGE, "model": f"gpt{NUL}"}, "model"),
    ("/v1/usage/batch", {"events": [USAGE, {**USAGE, "request_id": f"r{NUL}"}]}, "events[1].request_id"),
    ("/v1/incidents", {**INCIDENT, "summary": f"broken{NUL}"}, "summary"),
]


@pytest.mark.parametrize(("path", "body", "field"), CASES, ids=[c[2] for c in CASES])
def test_a_nul_in_a_text_field_is_a_422_naming_it(any_db_harness: Harness, path: str, body: dict[str, Any],
                                                  field: str) -> None:
    h = any_db_harness
    key = h.register()["api_key"]
    answer = h.client.post(path, json=body, headers=h.bearer(key))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == field and "NUL" in answer.json()["errors"][0]["message"]


def test_a_nul_in_a_query_or_path_and_in_a_web_form(any_db_harness: Harness) -> None:
    """GET ?status=%00 and a %00 in a path are 422s too; a web edit holding one is refused with a page and the
    draft is left as it was."""
    h = any_db_harness
    key = h.register()["api_key"]
    assert h.client.get("/v1/drafts?status=%00", headers=h.bearer(key)).status_code == 422
    assert h.client.get("/v1/agents/a%00b", headers=h.admin).json()["errors"][0]["field"] == "path"
    draft = h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key)).json()
    client = signed_in(h, ALICE)
    edited = submit(client, f"/app/drafts/{draft['id']}/edit", text=f"Hi{NUL}")
    assert edited.status_code == 422 and "NUL" in edited.text and "text" in edited.text
    after = h.client.get(f"/v1/drafts/{draft['id']}", headers=h.bearer(key)).json()
    assert after["status"] == "pending" and after["body"] == "Hello"
