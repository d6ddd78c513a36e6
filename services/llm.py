"""The OpenAI client, built from settings by services.assembly.build_context and kept on AppContext.llm. None when
OPENAI_API_KEY is unset: callers fall back to templates. Tests hand in a client over an httpx MockTransport."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.config import Settings


def build_client(settings: Settings) -> Any | None:
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        return None
    from openai import OpenAI

    return OpenAI(api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url,
                  max_retries=1, timeout=20.0)


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int


def complete(client: Any, *, model: str, system: str, user: str, max_tokens: int = 300) -> Completion:
    """One chat completion; raises openai.OpenAIError on failure (the caller chooses the fallback)."""
    response = client.chat.completions.create(
        model=model, max_tokens=max_tokens, temperature=0.2,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
    )
    usage = response.usage
    details = getattr(usage, "prompt_tokens_details", None) if usage else None
    return Completion(
        text=(response.choices[0].message.content or "").strip(),
        model=response.model or model,
        input_tokens=usage.prompt_tokens if usage else 0,
        output_tokens=usage.completion_tokens if usage else 0,
        cached_tokens=(getattr(details, "cached_tokens", 0) or 0) if details else 0,
    )
