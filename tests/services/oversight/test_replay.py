"""Eval replay against a fake OpenAI API (respx, in process): agreement per outcome on a known set of decided
drafts, the JSONL report, the figures on the pending version's card, Countersign's own spend counted, and exit 2
without an API key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from sqlmodel import select

from services.drafts import flows as drafts
from services.oversight.models import Change
from services.spend.models import INTERNAL_AGENT_ID, UsageEvent
from tests.harness import ALICE, OWNER, Harness
from tests.services.cli.run import cli
from tests.services.drafts.helpers import new_draft
from tests.web.helpers import signed_in

BASE = "http://fake-openai.test/v1"
PROMPT = "You quote freight lanes in EUR, all in."
# input -> what the new version answers, chosen so each outcome's agreement is known.
ANSWERS = {"lane A": "Quote A: EUR 100",  # approved, reproduced: agrees
           "lane B": "Quote B: EUR 200 all in, fuel included",  # edited, the person's edit: agrees
           "lane C": "Quote C: EUR 1",  # rejected, made again: disagrees
           "lane D": "Sorry, I cannot quote this lane."}  # approved, not reproduced: disagrees


def _answer(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)
    assert sent["messages"][0] == {"role": "system", "content": PROMPT}
    text = ANSWERS[sent["messages"][1]["content"]]
    return httpx.Response(200, json={
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1767600000, "model": sent["model"],
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}})


@pytest.fixture
def quiet(sqlite_url: str) -> Iterator[Harness]:
    with Harness(sqlite_url, jobs=[], run_background=False) as h:
        yield h


def _history(h: Harness) -> None:
    key = h.register()["api_key"]
    assert h.client.post("/v1/prompts", headers=h.bearer(key), json={
        "action": "quote_freight_lane", "version": "v2", "text": PROMPT}).status_code == 201

    def decided(body: str, lane: str | None, verdict: str, **extra: str) -> None:
        draft = new_draft(h, key, body=body, model="gpt-4o-mini", context={"input": lane} if lane else {})
        drafts.decide(ctx=h.ctx, draft_id=draft["id"], user_id=ALICE, verdict=verdict, **extra)  # type: ignore[arg-type]

    decided("Quote A: EUR 100", "lane A", "approve")
    decided("Quote B: EUR 200", "lane B", "edit", final_body="Quote B: EUR 200 all in, fuel included")
    decided("Quote C: EUR 1", "lane C", "reject", reason="far too low")
    decided("Quote D: EUR 400", "lane D", "approve")
    decided("Quote E: EUR 500", None, "approve")  # nothing to replay


def test_replay_reports_agreement_per_outcome_and_attaches_it(quiet: Harness, tmp_path: Path) -> None:
    _history(quiet)
    out = tmp_path / "replay.jsonl"
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{BASE}/chat/completions").mock(side_effect=_answer)
        result = cli("evals", "replay", "--agent", "quoter", "--action", "quote_freight_lane", "--prompt-version",
                     "v2", "--out", str(out), url=quiet.settings.database_url, OPENAI_API_KEY="sk-test",
                     OPENAI_BASE_URL=BASE)
    assert result.exit_code == 0, result.output
    assert route.call_count == 4
    lines = result.stdout.splitlines()
    assert "approved unedited  1/2 agree (50%)" in lines[1] and "edited             1/1 agree (100%)" in lines[2]
    assert "rejected           0/1 agree (0%)" in lines[3] and "overall            50%" in lines[4]
    assert "1 without context.input" in lines[0] and "attached to the prompt-change card" in result.stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["input"], r["outcome"], r["agrees"]) for r in rows) == [
        ("lane A", "approved", True), ("lane B", "edited", True), ("lane C", "rejected", False),
        ("lane D", "approved", False)]
    with quiet.ctx.read() as session:
        change = session.exec(Change.__table__.select()).first()  # type: ignore[attr-defined]
        own = session.exec(select(UsageEvent).where(UsageEvent.agent_id == INTERNAL_AGENT_ID)).all()
    assert change.replay["agreement"] == 0.5 and change.replay["outcomes"]["edited"] == {
        "drafts": 1, "agreed": 1, "rate": 1.0}
    assert [(u.model, u.input_tokens, u.output_tokens) for u in own] == [("gpt-4o-mini", 200, 40)]
    page = signed_in(quiet, OWNER).get(f"/app/prompts/{change.id}").text
    assert "Eval replay" in page and "agrees with people 50% overall" in page and "edited: 1 of 1" in page


def test_without_an_api_key_replay_says_so_and_exits_2(quiet: Harness) -> None:
    _history(quiet)
    result = cli("evals", "replay", "--agent", "quoter", "--action", "quote_freight_lane", "--prompt-version", "v2",
                 url=quiet.settings.database_url)
    assert result.exit_code == 2 and "OPENAI_API_KEY is not set" in result.output
