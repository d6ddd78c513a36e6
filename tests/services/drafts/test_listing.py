"""GET /v1/drafts: the agent's own drafts, newest first, filtered, a page at a time with an opaque cursor."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Harness
from tests.services.drafts.helpers import new_draft


def listed(h: Harness, key: str, **params: Any) -> Any:
    return h.client.get("/v1/drafts", params=params, headers=h.bearer(key))


@pytest.mark.postgres_too
def test_pages_cover_every_draft_once_newest_first(any_db_harness: Harness) -> None:
    """Walking next_cursor yields each of the agent's drafts once, newest first; another agent's never (on SQLite
    and PostgreSQL, whose timestamp comparisons the cursor relies on)."""
    h = any_db_harness
    key, other = h.register("quoter")["api_key"], h.register("other")["api_key"]
    made = [new_draft(h, key, title=f"Quote {i}", action="quote" if i % 2 else "refund")["id"] for i in range(7)]
    new_draft(h, other)
    seen: list[str] = []
    cursor = None
    while True:
        page = listed(h, key, limit=3, **({"cursor": cursor} if cursor else {})).json()
        assert len(page["data"]) <= 3 and all(d["agent"] == "quoter" for d in page["data"])
        seen += [d["id"] for d in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))


def test_filters_by_status_and_action(harness: Harness) -> None:
    """?status= and ?action= narrow the list; the shape is {"data", "next_cursor"} with each draft's public JSON."""
    h = harness
    key = h.register()["api_key"]
    first = new_draft(h, key, action="refund")
    new_draft(h, key, action="quote")
    assert h.client.post(f"/v1/drafts/{first['id']}/cancel", headers=h.bearer(key)).status_code == 200
    cancelled = listed(h, key, status="cancelled").json()
    assert [d["id"] for d in cancelled["data"]] == [first["id"]] and cancelled["next_cursor"] is None
    assert [d["action"] for d in listed(h, key, action="quote").json()["data"]] == ["quote"]
    assert listed(h, key, status="pending", action="refund").json()["data"] == []
    assert set(listed(h, key).json()["data"][0]) >= {"id", "status", "title", "body", "decided_by", "approved_by"}


def test_bad_parameters_are_named(harness: Harness) -> None:
    """An unknown status, a limit over 200 and a forged cursor are 422s naming the parameter."""
    h = harness
    key = h.register()["api_key"]
    for params, field in (({"status": "done"}, "status"), ({"limit": 201}, "limit"), ({"limit": 0}, "limit"),
                          ({"cursor": "not-a-cursor"}, "cursor"), ({"action": "Bad Action"}, "action")):
        response = listed(h, key, **params)
        assert response.status_code == 422, params
        assert response.json()["errors"][0]["field"] == field
    assert h.client.get("/v1/drafts").status_code == 401


def test_listing_does_not_wait_for_the_writer(harness: Harness) -> None:
    """While another transaction holds SQLite's writer lock, the list still answers at once."""
    h = harness
    key = h.register()["api_key"]
    new_draft(h, key)
    with h.ctx.uow() as session:
        session.connection()  # begins the transaction: BEGIN IMMEDIATE takes the writer lock now
        response = listed(h, key)
    assert response.status_code == 200 and len(response.json()["data"]) == 1
