"""The App Home: what waits for the person who opened it (drafts they may decide, open incidents of the agents
they own or back up) and the way into the web app. A pure builder returning a `home` view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.blocks.common import clip, context, escape, header, section
from bot.blocks.drafts import card_link
from bot.blocks.incidents import SEVERITY_ICON
from services.drafts.models import DraftCard
from services.incidents.models import IncidentPublic
from services.text import link_url_problem

LIST_MAX = 20  # per list; the web app has the rest
LINES_PER_SECTION = 5


def _titled(draft: DraftCard) -> str:
    url = card_link(draft)
    return _link(url, escape(clip(draft.title, 80))) if url else escape(clip(draft.title, 80))


def _link(url: str, label: str) -> str:
    return f"<{url}|{label}>" if len(url) <= 1500 and link_url_problem(url) is None else label


def _sections(lines: list[str], more: int, where: str) -> list[dict[str, Any]]:
    blocks = [section("\n".join(lines[i: i + LINES_PER_SECTION])) for i in range(0, len(lines), LINES_PER_SECTION)]
    if more > 0:
        blocks.append(context(f"_…and {more} more in {where}_"))
    return blocks


def home_view(*, pending: list[DraftCard], incidents: list[IncidentPublic], web_url: str,
              now: datetime, away: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`web_url` is the web app's base address (its pages are under /app/); `away`: the people-away section."""
    base = web_url.rstrip("/")
    inbox, incident_page = f"{base}/app/", f"{base}/app/incidents"
    blocks: list[dict[str, Any]] = [header("Countersign")]
    blocks.append(section(f"*Drafts waiting for you* ({len(pending)}) · {_link(inbox, 'open your inbox')}"))
    if pending:
        lines = [f"• {_titled(d)} · "
                 f"{escape(clip(d.agent, 40))} · {len(d.approved_by)} of {d.approvals_required} approvals"
                 for d in pending[:LIST_MAX]]
        blocks += _sections(lines, len(pending) - LIST_MAX, _link(inbox, "the inbox"))
    else:
        blocks.append(context(":sparkles: Nothing is waiting for your decision."))
    blocks.append({"type": "divider"})
    blocks.append(section(f"*Open incidents of your agents* ({len(incidents)}) · "
                          f"{_link(incident_page, 'see them all')}"))
    if incidents:
        lines = [f"{SEVERITY_ICON.get(i.severity, ':warning:')} *#{i.id}* {escape(clip(i.agent, 40))} · "
                 f"`{escape(clip(i.kind, 40))}` · {escape(i.status)} — {escape(clip(i.summary, 120))}"
                 for i in incidents[:LIST_MAX]]
        blocks += _sections(lines, len(incidents) - LIST_MAX, _link(incident_page, "the web app"))
    else:
        blocks.append(context("No open incidents for the agents you own or back up."))
    if away:
        blocks += [{"type": "divider"}, *away]
    blocks.append(context(f"Updated <!date^{int(now.timestamp())}^{{date_short_pretty}} {{time}}|"
                          f"{now:%Y-%m-%d %H:%M} UTC> · `/countersign help` lists the commands"))
    return {"type": "home", "blocks": blocks}
