"""`/countersign autonomy <agent>` over signed Slack requests: levels and evidence, and polite answers."""

from __future__ import annotations

import json

from bot import ids
from tests.harness import OWNER, Harness
from tests.services.autonomy.helpers import RULE, decide, proposals, wait_response


def test_autonomy_command_shows_levels_and_evidence(harness: Harness) -> None:
    """After a promotion on v1 and a draft on v2, the overview shows v1 auto, v2 review, the denied action."""
    h = harness
    key = h.register(autonomy_rule={**RULE, "audit_sample_rate": 0},
                     actions={"wire_money": {"autonomy": "deny"}})["api_key"]
    for _ in range(5):
        decide(h, key, prompt_version="v1")
    h.click(proposals(h)[0], ids.AUTONOMY_PROMOTE, user=OWNER)
    wait_response(h, "is now auto-approved")
    decide(h, key, prompt_version="v2")
    reply = h.command("autonomy quoter", user_id="U078ALICE").json()
    text = json.dumps(reply, ensure_ascii=False)
    assert reply["response_type"] == "ephemeral"
    assert "version *v1*: *auto*" in text and f"granted by <@{OWNER}>" in text
    assert "version *v2*: *review*" in text and "promotion rule not met yet" in text
    assert "*5* approved unedited (100.0%)" in text and "*wire_money*" in text and ":no_entry:" in text


def test_autonomy_command_answers_mistakes_politely(harness: Harness) -> None:
    """No agent named, or an unknown one: a sentence saying what to do, never an error page."""
    assert "Usage" in harness.command("autonomy").json()["text"]
    assert "no agent named 'ghost'" in harness.command("autonomy ghost").json()["text"]
    assert "/countersign autonomy <agent>" in json.dumps(harness.command("help").json())
