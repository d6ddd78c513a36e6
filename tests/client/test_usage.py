"""record_usage reads the openai package's own response and usage types (cached and reasoning tokens included)."""

from __future__ import annotations

from typing import Any

import pytest
from countersign_client import Countersign, usage_event
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion
from openai.types.responses import Response, ResponseUsage

from tests.client.conftest import Live

CHAT = {
    "id": "chatcmpl-abc123", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
    "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
              "prompt_tokens_details": {"cached_tokens": 1024}, "completion_tokens_details": {"reasoning_tokens": 128}},
}
RESPONSES = {
    "id": "resp_abc123", "object": "response", "created_at": 1700000000, "model": "o4-mini", "output": [],
    "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "status": "completed",
    "usage": {"input_tokens": 900, "output_tokens": 500, "total_tokens": 1400,
              "input_tokens_details": {"cached_tokens": 512, "cache_write_tokens": 0},
              "output_tokens_details": {"reasoning_tokens": 256}},
}


def test_chat_completions_response_and_usage_map_every_token_kind() -> None:
    """A ChatCompletion gives model and id too; its CompletionUsage alone needs model= and maps the same tokens."""
    completion = ChatCompletion.model_validate(CHAT)
    assert usage_event(completion) == {"input_tokens": 1200, "output_tokens": 300, "cached_tokens": 1024,
                                       "reasoning_tokens": 128, "model": "gpt-4o-2024-08-06", "provider": "openai",
                                       "request_id": "chatcmpl-abc123"}
    usage = CompletionUsage.model_validate(CHAT["usage"])
    assert usage_event(usage, model="gpt-4o") == {"input_tokens": 1200, "output_tokens": 300, "cached_tokens": 1024,
                                                  "reasoning_tokens": 128, "model": "gpt-4o"}


def test_responses_api_response_and_usage_map_every_token_kind() -> None:
    """A Responses API Response and its ResponseUsage: input/output details map to cached/reasoning tokens."""
    response = Response.model_validate(RESPONSES)
    event = usage_event(response, draft_id="drf_1")
    assert event == {"input_tokens": 900, "output_tokens": 500, "cached_tokens": 512, "reasoning_tokens": 256,
                     "model": "o4-mini", "provider": "openai", "request_id": "resp_abc123", "draft_id": "drf_1"}
    usage = ResponseUsage.model_validate(RESPONSES["usage"])
    assert usage_event(usage, model="o4-mini")["reasoning_tokens"] == 256


@pytest.mark.parametrize("bad", [object(), {"tokens": 3}])
def test_something_else_is_a_clear_type_error(bad: Any) -> None:
    """Not a usage object: said so at the call, instead of recording zero tokens."""
    with pytest.raises(TypeError, match="neither an OpenAI response nor a usage object"):
        usage_event(bad, model="m")


def test_record_usage_live_is_idempotent_per_response(live: Live, cs: Countersign) -> None:
    """The response id is the request_id: recording the same response twice counts it once on the server."""
    completion = ChatCompletion.model_validate({**CHAT, "id": f"chatcmpl-{live.server.port}-{id(cs)}"})
    first = cs.record_usage(completion)
    again = cs.record_usage(completion)
    assert first.cost_usd is not None and first.cost_usd > 0
    assert again.id == first.id and again.raw["request_id"] == completion.id
    responses = cs.record_usage(Response.model_validate(RESPONSES).usage, model="o4-mini")
    assert responses.raw["model"] == "o4-mini" and responses.id != first.id
