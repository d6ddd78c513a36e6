"""Errors a first-time user meets say what to do: a missing JSON Content-Type, a Slack id in the wrong form."""

from __future__ import annotations

import json

from tests.harness import Harness


def test_post_without_json_content_type_names_the_header(harness: Harness) -> None:
    """curl -d without -H 'Content-Type: application/json' gets a 415 naming the header, not 'invalid dict'."""
    h = harness
    body = json.dumps({"name": "quoter", "owner": "U012OWNER"}).encode()
    for headers in ({}, {"Content-Type": "application/x-www-form-urlencoded"}, {"Content-Type": "text/plain"}):
        response = h.client.post("/v1/agents", content=body, headers={**h.admin, **headers})
        assert response.status_code == 415, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "Content-Type: application/json" in response.json()["detail"]
    good = h.client.post("/v1/agents", content=body, headers={**h.admin, "Content-Type": "application/json"})
    assert good.status_code == 201


def test_slack_ids_are_explained_not_shown_as_a_regex(harness: Harness) -> None:
    """A name where a user, channel or group id belongs says what the id looks like and where to find it."""
    h = harness
    response = h.client.post("/v1/agents", headers=h.admin, json={
        "name": "quoter", "owner": "bob", "review_channel": "#review", "approver_groups": ["@leads"]})
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "U012AB3CD" in errors["owner"] and "Copy member ID" in errors["owner"]
    assert "C056REVIEW" in errors["review_channel"] and "About" in errors["review_channel"]
    assert "S090LEADS" in errors["approver_groups[0]"]
    assert "^[" not in response.json()["detail"]
