"""Checks on text people will read in chat: a link Slack can draw safely, a title that shows something, and
invisible characters drawn visibly.

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


# Characters that change what text appears to say without showing themselves: bidirectional overrides, embeddings,
# isolates and marks (`Refund $\u202e00001` reads as an amount reversed), zero-width spaces and joiners that split
# or hide words, invisible operators, the byte-order mark, and tag characters (invisible ASCII twins).
# ZWJ and ZWNJ (U+200D, U+200C) stay: emoji sequences and Persian or Indic spelling need them, and they
# reorder nothing.
_INVISIBLE = [0x061C, 0x115F, 0x1160, 0x180E, 0x200B, 0x200E, 0x200F, *range(0x202A, 0x202F),
              *range(0x2060, 0x2065), *range(0x2066, 0x206A), 0x3164, 0xFEFF, 0xFFA0, *range(0xE0000, 0xE0080)]
_SHOWN = {code: f"\u27e8U+{code:04X}\u27e9" for code in _INVISIBLE}


def visible(text: str) -> str:
    """`text` with each invisible or direction-changing character shown as `⟨U+202E⟩`: what every surface that
    people read (Slack cards, web pages, the CLI) draws, so a reviewer sees exactly what they are approving."""
    return text.translate(_SHOWN)
