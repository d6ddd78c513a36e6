"""Posting digests: the message with its chart upload, a failed upload not holding the message back, the
narrative from OpenAI (a client handed in, over a fake transport) or the template, and Countersign's own LLM
spend recorded and capped."""

from __future__ import annotations

import json

import httpx
import pytest
from openai import OpenAI
from sqlmodel import select

from services.digests.models import DigestRun
from services.spend.models import SpendRollup
from testkit.clock import FakeClock
from testkit.fakes.slack import FakeSlack
from tests.harness import Harness
from tests.services.digests.seed import seed

CHANNEL = "C0DIGEST"
OPENAI = "https://api.openai.com/v1/chat/completions"


class FakeOpenAI:
    """An OpenAI client handed to the app, answering from a script over httpx's MockTransport."""

    def __init__(self, answers: list[httpx.Response]) -> None:
        self.answers, self.requests = list(answers), []
        transport = httpx.MockTransport(self.answer)
        self.client = OpenAI(api_key="sk-test", max_retries=0, http_client=httpx.Client(transport=transport))

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)


def completion(text: str) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1767600000, "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
                      "prompt_tokens_details": {"cached_tokens": 0}}}


def send(h: Harness) -> dict:
    response = h.client.post("/v1/digests/send", json={"channel": CHANNEL}, headers=h.admin)
    assert response.status_code == 202, response.text
    h.drain()
    [message] = h.slack.messages_in(CHANNEL)
    return message


def run(h: Harness) -> DigestRun:
    with h.ctx.read() as session:
        return session.exec(select(DigestRun)).one()


def test_digest_posts_cost_per_outcome_first_with_chart_and_template(timed: Harness) -> None:
    """Without an OpenAI key the narrative is the template; the PNG chart goes up after the message."""
    seed(timed)
    message = send(timed)
    assert "Cost per approved outcome: $4.00" in message["blocks"][1]["text"]["text"]
    assert "Spend was $12.00" in str(message["blocks"]) and run(timed).narrative_source == "template"
    [png] = timed.slack.uploads.values()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    [upload] = timed.slack.files.values()
    assert upload["channel_id"] == CHANNEL and upload["completed"]


def test_digest_still_posts_when_the_upload_fails(timed: Harness) -> None:
    """A chart that can't be uploaded is given up; the digest message is there regardless."""
    seed(timed)
    timed.slack.fail_method("files.getUploadURLExternal", "not_allowed_token_type")
    message = send(timed)
    assert "Countersign digest" in message["text"] and timed.slack.uploads == {}


def test_narrative_from_openai_and_own_spend_recorded(sqlite_url: str, slack: FakeSlack, clock: FakeClock) -> None:
    """With a key, OpenAI writes the summary (small model, chat completions) and the call is counted as spend."""
    openai = FakeOpenAI([httpx.Response(200, json=completion("Cheaper per outcome."))])
    with Harness(sqlite_url, slack=slack, clock=clock, jobs=[], llm=openai.client) as h:
        seed(h)
        message = send(h)
        assert len(openai.requests) == 1
        assert "Cheaper per outcome." in str(message["blocks"]) and run(h).narrative_source == "openai"
        assert openai.requests[-1].url == OPENAI
        sent = json.loads(openai.requests[-1].content)
        assert sent["model"] == "gpt-4o-mini" and "cost per approved outcome $4.00" in sent["messages"][1]["content"]
        with h.ctx.read() as session:
            own = session.exec(select(SpendRollup).where(SpendRollup.agent_id == 0,
                                                         SpendRollup.model == "gpt-4o-mini-2024-07-18")).one()
        assert own.cost_usd == pytest.approx(1000 * 0.15e-6 + 100 * 0.6e-6)


def test_openai_failure_and_own_budget_fall_back_to_the_template(sqlite_url: str, slack: FakeSlack,
                                                                  clock: FakeClock) -> None:
    """An OpenAI error, or Countersign's own monthly LLM budget used up, still gets a digest with the template."""
    openai = FakeOpenAI([httpx.Response(400, json={"error": {"message": "bad"}}),
                         httpx.Response(200, json=completion("ok"))])
    with Harness(sqlite_url, slack=slack, clock=clock, jobs=[], llm=openai.client,
                 COUNTERSIGN_LLM_BUDGET_USD=0.0101) as h:
        seed(h)  # $0.01 of Countersign's own spend this month already
        for _ in range(3):
            assert h.client.post("/v1/digests/send", json={"channel": CHANNEL}, headers=h.admin).status_code == 202
        h.drain()
        with h.ctx.read() as session:
            sources = [r.narrative_source for r in session.exec(select(DigestRun).order_by(DigestRun.id))]
        assert sources == ["template-error", "openai", "template-over-budget"] and len(openai.requests) == 2
        assert len(h.slack.messages_in(CHANNEL)) == 3


def test_one_sending_to_several_channels_narrates_and_counts_its_spend_once(sqlite_url: str, slack: FakeSlack,
                                                                             clock: FakeClock) -> None:
    """Sent to every scheduled channel at once: each channel gets the digest, with one OpenAI call among them and
    that call's spend counted once."""
    openai = FakeOpenAI([httpx.Response(200, json=completion("Once for all."))] * 3)
    with Harness(sqlite_url, slack=slack, clock=clock, jobs=[], llm=openai.client) as h:
        seed(h)
        for channel in ("C0ONE", "C0TWO", "C0THREE"):
            created = h.client.post("/v1/digests/schedules", headers=h.admin,
                                    json={"channel": channel, "period": "day", "cron": "0 9 * * *"})
            assert created.status_code == 201, created.text
        assert h.client.post("/v1/digests/send", json={}, headers=h.admin).status_code == 202
        h.drain()
        for channel in ("C0ONE", "C0TWO", "C0THREE"):
            assert "Once for all." in str(h.slack.messages_in(channel)[0]["blocks"])
        assert len(openai.requests) == 1
        with h.ctx.read() as session:
            own = session.exec(select(SpendRollup).where(SpendRollup.agent_id == 0,
                                                         SpendRollup.model == "gpt-4o-mini-2024-07-18")).one()
        assert own.cost_usd == pytest.approx(1000 * 0.15e-6 + 100 * 0.6e-6)
