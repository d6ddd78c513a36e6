"""Checks on text people will read in chat: a link Slack can draw safely, a title that shows something.

Slack's mrkdwn writes a link as `<url|label>`, so a URL holding `<`, `>` or `|` can close the link early and
smuggle in `<!channel>` or a disguised link of its own; a space or a newline ends it. Such URLs are refused at
the API (422 naming the field) rather than drawn.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

URL_FORBIDDEN = set("<>|\"'`\\")
# Letters and symbols that draw nothing, though Unicode does not class them as spaces or format characters.
BLANK_LOOKING = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e"}


def link_url_problem(value: str) -> str | None:
    """Why `value` is not an absolute http(s) URL safe to draw as a link in Slack, or None when it is."""
    if any(ch in URL_FORBIDDEN or ch.isspace() or unicodedata.category(ch).startswith("C") for ch in value):
        return "must not contain spaces, control characters or any of < > | \" ' ` \\"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http:// or https:// URL"
    return None


def has_visible(text: str) -> bool:
    """True when `text` shows something: not only spaces, control or format characters (NUL, U+200B, U+2060,
    bidi marks…) or blank-looking letters."""
    for ch in text:
        if ch.isspace() or ch in BLANK_LOOKING:
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"):
            continue
        return True
    return False
