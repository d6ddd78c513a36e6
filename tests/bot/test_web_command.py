"""`/countersign web`: the link arrives by DM (not unfurled), signs the typist in once, and help lists it."""

from __future__ import annotations

import re

from tests.harness import ALICE, Harness
from tests.web.helpers import browser


def test_slash_web_dms_a_link_that_signs_in(harness: Harness) -> None:
    """The ephemeral says where the link went; the DM carries it; it signs Alice in, and only once."""
    assert harness.slack is not None
    harness.command("web", user_id=ALICE, response_url=harness.slack.response_url("web"))
    said = harness.slack.wait_for_response("web")[0]
    assert "direct message" in said["text"]
    posted = harness.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == ALICE)[0]
    assert posted.args["unfurl_links"] in (False, "false", "0") and "10 minutes" in posted.args["text"]
    token = re.search(r"/app/login/([A-Za-z0-9_-]+)\|", posted.args["text"]).group(1)  # type: ignore[union-attr]
    client = browser(harness)
    assert client.post("/app/login", data={"token": token}).status_code == 303
    assert client.get("/app/").status_code == 200
    assert browser(harness).post("/app/login", data={"token": token}).status_code == 403
    assert "/countersign web" in str(harness.command("help").json()["blocks"])
