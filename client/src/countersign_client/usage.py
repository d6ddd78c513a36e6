"""OpenAI usage as it comes, mapped to a Countersign usage event.

Accepted: a Chat Completions response (`ChatCompletion`) or its `usage` (`CompletionUsage`: prompt_tokens,
completion_tokens, prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens); a Responses
API response (`Response`) or its `usage` (`ResponseUsage`: input_tokens, output_tokens,
input_tokens_details.cached_tokens, output_tokens_details.reasoning_tokens); or plain dicts of either shape.
Read by attribute or key, so the openai package is not needed here. OpenAI counts cached tokens inside the input
tokens and reasoning tokens inside the output tokens; Countersign uses the same convention.
"""

from __future__ import annotations

from typing import Any


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _usage_part(obj: Any) -> Any:
    """The usage object: the argument itself, or its `.usage` when given a whole response."""
    usage = _get(obj, "usage")
    return usage if usage is not None else obj


def usage_event(obj: Any = None, *, model: str | None = None, provider: str | None = None,
                request_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """The JSON body of `POST /v1/usage`; explicit keyword fields win over what is read from `obj`."""
    event: dict[str, Any] = {}
    if obj is not None:
        usage = _usage_part(obj)
        if _get(usage, "prompt_tokens") is not None or _get(usage, "completion_tokens") is not None:
            event["input_tokens"] = _int(_get(usage, "prompt_tokens"))
            event["output_tokens"] = _int(_get(usage, "completion_tokens"))
            event["cached_tokens"] = _int(_get(_get(usage, "prompt_tokens_details"), "cached_tokens"))
            event["reasoning_tokens"] = _int(_get(_get(usage, "completion_tokens_details"), "reasoning_tokens"))
        elif _get(usage, "input_tokens") is not None or _get(usage, "output_tokens") is not None:
            event["input_tokens"] = _int(_get(usage, "input_tokens"))
            event["output_tokens"] = _int(_get(usage, "output_tokens"))
            event["cached_tokens"] = _int(_get(_get(usage, "input_tokens_details"), "cached_tokens"))
            event["reasoning_tokens"] = _int(_get(_get(usage, "output_tokens_details"), "reasoning_tokens"))
        else:
            raise TypeError(f"record_usage: {type(obj).__name__} is neither an OpenAI response nor a usage object "
                            "(expected prompt_tokens/completion_tokens or input_tokens/output_tokens)")
        if usage is not obj:  # a whole response: its model and id are known
            model = model or _get(obj, "model")
            request_id = request_id or _get(obj, "id")
            if provider is None:
                provider = "openai"
    event.update({k: v for k, v in fields.items() if v is not None})
    if not model:
        raise ValueError("record_usage needs model= (it is read from a whole response, not from a usage object)")
    event["model"] = model
    if provider:
        event["provider"] = provider
    if request_id:
        event["request_id"] = str(request_id)
    return event
