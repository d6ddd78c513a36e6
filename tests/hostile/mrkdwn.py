"""mrkdwn_injections(message_or_view): every `<…>` control sequence in text Slack renders as mrkdwn that a builder
did not make on purpose. Builders may draw mentions of real ids, dates and links to safe URLs; anything else
(a `<!channel>`, a link to evil.example, a stray `<`) came from user input that was not escaped."""

from __future__ import annotations

import re
from typing import Any

TOKEN = re.compile(r"<[^>]*>?")
ALLOWED = [
    re.compile(r"^<@[UW][A-Z0-9]{2,20}>$"),
    re.compile(r"^<#[CG][A-Z0-9]{2,20}>$"),
    re.compile(r"^<!subteam\^S[A-Z0-9]{2,20}>$"),
    re.compile(r"^<!date\^\d+\^[^|<>]*\|[^<>|]*>$"),
    re.compile(r"^<https?://[^\s<>|]+\|[^<>|]*>$"),
]
# What the fuzzer's texts smuggle in (tests/hostile/strategies.SPICY): never drawn live, whatever else holds.
CANARIES = ("evil.example", "<@U012OWNER>", "<!channel>")


def _problems(text: str, where: str) -> list[str]:
    found = []
    for token in TOKEN.findall(text):
        if not any(p.match(token) for p in ALLOWED) or any(c in token for c in CANARIES):
            found.append(f"{where}: live mrkdwn {token[:80]!r}")
    return found


def _texts(obj: Any, where: str) -> list[tuple[str, str]]:
    """Every mrkdwn text object's text, with where it is."""
    if isinstance(obj, dict):
        found = [(obj["text"], where)] if obj.get("type") == "mrkdwn" and isinstance(obj.get("text"), str) else []
        for key, value in obj.items():
            found += _texts(value, f"{where}.{key}")
        return found
    if isinstance(obj, list):
        return [pair for i, item in enumerate(obj) for pair in _texts(item, f"{where}[{i}]")]
    return []


def mrkdwn_injections(payload: dict[str, Any]) -> list[str]:
    """The notification `text` (mrkdwn by default) and every mrkdwn text object in the blocks."""
    found = _problems(payload["text"], "text") if isinstance(payload.get("text"), str) else []
    for text, where in _texts(payload.get("blocks") or [], "blocks"):
        found += _problems(text, where)
    return found


def assert_no_mrkdwn_injection(payload: dict[str, Any]) -> None:
    found = mrkdwn_injections(payload)
    assert not found, "user text drawn as live mrkdwn:\n" + "\n".join(found[:10])
