"""Jinja templates and the responses drawn from them: pages, error pages that say what to do, redirects."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from services.drafts.service import status_words
from services.text import visible

# The pages load only what Countersign serves; the login token is in a path, so no referrer ever leaves.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def money(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    return f"${value:,.2f}" if abs(value) >= 1 or value == 0 else f"${value:.{digits}f}".rstrip("0")


def when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def ago(value: datetime | str | None, now: datetime | None = None) -> str:
    """'3 min ago' / 'in 2 h': short, for lists."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    seconds = ((now or datetime.now(timezone.utc)) - value).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        text = f"{int(seconds)} s"
    elif seconds < 3600:
        text = f"{int(seconds // 60)} min"
    elif seconds < 86400:
        text = f"{seconds / 3600:.1f} h"
    else:
        text = f"{seconds / 86400:.1f} d"
    return f"in {text}" if future else f"{text} ago"


def people(text: str | None) -> str:
    """Domain sentences name people as Slack mentions (<@U…>); on a page they read as @U…."""
    return re.sub(r"<@([A-Z0-9]+)>", r"@\1", text or "")


def readable(value: Any) -> str:
    """An audit detail as a person reads it: lists joined, mappings as "key: value", no Python reprs."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        shown = [f"{str(k).replace('_', ' ')}: {readable(v)}" for k, v in value.items() if v not in (None, "", [], {})]
        return "(" + ", ".join(shown) + ")" if shown else "—"
    if isinstance(value, list | tuple):
        return ", ".join(readable(v) for v in value) or "—"
    if isinstance(value, float):
        return f"{value:g}"
    return people(str(value)) if value is not None else "—"


VIA = {"web": "in the web app", "cli": "from the CLI", "slack": "in Slack"}
ACTORS = {"slack_user": "person", "agent": "agent", "admin": "admin API", "system": "Countersign"}


def details_text(details: dict[str, Any] | None) -> str:
    """An entry's details, one "key: value" per detail; `via` is shown with who acted (actor_words)."""
    return "; ".join(f"{str(k).replace('_', ' ')}: {readable(v)}" for k, v in (details or {}).items()
                     if k != "via" and v not in (None, "", [], {}))


def actor_words(entry: Any) -> str:
    """What kind of actor, and where a person acted when the entry says (a web or CLI decision)."""
    kind = ACTORS.get(entry.actor_type, entry.actor_type)
    via = (entry.details or {}).get("via")
    return f"{kind}, {VIA.get(via, f'via {via}')}" if via else kind


def sla_left(opened: datetime | str, sla_s: int, now: datetime | None = None) -> str:
    """An open stage's SLA as time left ("in 25 min") or overdue ("overdue by 5 min")."""
    if isinstance(opened, str):
        opened = datetime.fromisoformat(opened)
    due = opened + timedelta(seconds=sla_s)
    left = ago(due, now)
    return f"due {left}" if left.startswith("in ") else f"overdue since {left}"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def shown(value: Any) -> Any:
    """Every value a template prints: invisible and direction-changing characters drawn visibly (`⟨U+202E⟩`,
    services.text.visible), HTML already made safe kept safe."""
    if isinstance(value, Markup):
        return Markup(visible(str(value)))
    return visible(value) if isinstance(value, str) else value


env = Environment(loader=PackageLoader("web", "templates"), autoescape=select_autoescape(["html"]),
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=shown)
env.filters.update(money=money, when=when, ago=ago, pretty_json=pretty_json, people=people, visible=visible,
                   status_words=status_words, details_text=details_text, actor_words=actor_words, sla_left=sla_left)


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("viewer", getattr(request.state, "viewer", None))
    context.setdefault("csrf", getattr(request.state, "csrf", ""))
    context.setdefault("nav", template.split("/")[0].removesuffix(".html"))
    html = env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def fragment(template: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(env.get_template(template).render(**context), headers=SECURITY_HEADERS)


def error_page(request: Request, status: int, title: str, detail: str, todo: str | None = None) -> HTMLResponse:
    """Every refusal and every bad input ends here: what happened, and what to do about it."""
    return page(request, "error.html", status=status, title=title, detail=detail, todo=todo, nav="")


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
