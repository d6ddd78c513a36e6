"""A digest as plain text and as JSON, for reading where Slack isn't: `countersign digest show` and the web app.
Pure functions of a computed Digest: the same figures and order as the Slack message, in plain words."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from services.digests.budgets import BudgetLine
from services.digests.service import Approvals, Digest, Incidents, SpendLine
from services.spend.periods import Period

DECISION_ORDER = ("approved", "edited", "auto_approved", "rejected", "expired", "cancelled")
DECISION_WORDS = {"edited": "approved with edits", "auto_approved": "auto-approved"}


def usd(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"${value:,.2f}" if value == 0 or abs(value) >= 0.01 else f"${value:.4f}"


def span(seconds: float | None) -> str:
    """A wait or a time to fix, short: 45s, 12m, 3.5h, 2.0d."""
    if seconds is None:
        return "–"
    for limit, unit, size, digits in ((90, "s", 1, 0), (5400, "m", 60, 0), (2 * 86400, "h", 3600, 1)):
        if seconds < limit:
            return f"{seconds / size:.{digits}f}{unit}"
    return f"{seconds / 86400:.1f}d"


def trend(now: float | None, before: float | None) -> str:
    """The change from the previous period: ▲12%, ▼3%, = , new, or – when there is nothing to compare."""
    if now is None or not before:
        return "new" if now else "–"
    delta = (now - before) / before
    return f"{'▲' if delta > 0 else '▼' if delta < 0 else '='}{abs(delta):.0%}"


def spend_rows(lines: list[SpendLine]) -> list[str]:
    rows = []
    for line in lines:
        budget = f" of {usd(line.budget_usd)} ({line.spend_usd / line.budget_usd:.0%})" if line.budget_usd else ""
        unknown = f", {line.unknown_events} cost unknown" if line.unknown_events else ""
        rows.append(f"{line.name}: {usd(line.spend_usd)}{budget} {trend(line.spend_usd, line.previous_usd)}{unknown}")
    return rows or ["no spend"]


def budget_row(line: BudgetLine) -> str:
    ahead = "period complete" if line.complete else f"{usd(line.projected_usd)} projected by {line.period.end}"
    over = " (over)" if not line.complete and line.projected_usd > line.limit_usd else ""
    return f"{line.name}: {usd(line.spent_usd)} of {usd(line.limit_usd)} ({line.share:.0%}); {ahead}{over}"


def approval_rows(a: Approvals) -> list[str]:
    counts = ", ".join(f"{a.counts[s]} {DECISION_WORDS.get(s, s)}" for s in DECISION_ORDER if a.counts.get(s))
    oldest = (f"oldest pending: {a.oldest_pending}, waiting {span(a.oldest_pending_s)}"
              if a.oldest_pending_s is not None else "nothing pending")
    return [counts or "no decisions", f"time to decision: median {span(a.median_s)}, p90 {span(a.p90_s)}", oldest]


def incident_rows(i: Incidents) -> list[str]:
    return [f"{i.opened} opened, {i.acknowledged} acknowledged; MTTA {span(i.mtta_s)}, MTTR {span(i.mttr_s)}",
            f"{i.still_open} still open"]


def paused_rows(paused: list[tuple[str, str | None, str | None]]) -> list[str]:
    return [f"{name} by {by or 'unknown'}" + (f": {why}" if why else "") for name, by, why in paused] or ["none"]


def headline(d: Digest) -> list[str]:
    cpa = usd(d.cost_per_approved_usd) if d.cost_per_approved_usd is not None else "n/a (no approved outcomes)"
    cpa_trend, spend_trend = trend(d.cost_per_approved_usd, d.previous_cost_per_approved_usd), \
        trend(d.total_usd, d.previous_usd)
    share = f" ({d.waste_usd / d.total_usd:.0%} of spend)" if d.total_usd else ""
    compared = ("nothing spent in the previous period either" if spend_trend == "–"
                else f"{spend_trend} spend vs the previous period")
    lines = [f"Cost per approved outcome: {cpa}" + ("" if cpa_trend == "–" else f" {cpa_trend}"),
             f"{usd(d.total_usd)} spent for {d.approved_outcomes} approved outcome(s); {compared}",
             f"Waste: {usd(d.waste_usd)}{share} on drafts that were rejected or expired"]
    if d.unknown_cost_events:
        lines.append(f"{d.unknown_cost_events} usage event(s) with unknown cost are not in these totals")
    return lines


def footnote(d: Digest) -> str:
    return (f"Period {d.period.start} to {d.period.end} (end exclusive), compared with {d.previous.start} onward; "
            f"Countersign's own LLM spend {usd(d.internal_usd)}")


def sections(d: Digest) -> list[tuple[str, list[str]]]:
    """The digest's sections after its headline and narrative, each a title and its lines, in the Slack order."""
    return [("Spend by agent", spend_rows(d.by_agent)), ("Spend by team", spend_rows(d.by_team)),
            ("Spend by model", spend_rows(d.by_model)),
            ("Budgets" + (" (as of now)" if d.so_far else ""), [budget_row(b) for b in d.budgets] or ["none set"]),
            ("Approvals", approval_rows(d.approvals)), ("Incidents", incident_rows(d.incidents)),
            ("Agents paused", paused_rows(d.paused))]


def title(d: Digest, agent: str | None = None) -> str:
    return f"Countersign digest: {d.period_label}" + (f", agent {agent}" if agent else "")


def render_text(d: Digest, narrative: str, *, agent: str | None = None) -> str:
    out = [title(d, agent), "", *headline(d), "", narrative]
    for name, rows in sections(d):
        out += ["", name, *(f"  {row}" for row in rows)]
    return "\n".join([*out, "", footnote(d)]) + "\n"


def _period(p: Period) -> dict[str, str]:
    return {"kind": p.kind, "start": p.start.isoformat(), "end": p.end.isoformat()}


def as_json(d: Digest, narrative: str, *, narrative_source: str, agent: str | None = None) -> dict[str, Any]:
    """Every figure of the digest, machine-readable (dates as ISO strings, money as USD floats)."""
    return {
        "period": {**_period(d.period), "label": d.period_label}, "previous": _period(d.previous), "agent": agent,
        "generated_at": d.generated_at.isoformat(), "so_far": d.so_far, "so_far_until": d.so_far_until,
        "total_usd": d.total_usd, "previous_usd": d.previous_usd, "approved_outcomes": d.approved_outcomes,
        "cost_per_approved_usd": d.cost_per_approved_usd,
        "previous_cost_per_approved_usd": d.previous_cost_per_approved_usd, "waste_usd": d.waste_usd,
        "unknown_cost_events": d.unknown_cost_events, "internal_usd": d.internal_usd,
        "by_agent": [asdict(x) for x in d.by_agent], "by_team": [asdict(x) for x in d.by_team],
        "by_model": [asdict(x) for x in d.by_model], "budgets": [b.public() for b in d.budgets],
        "approvals": asdict(d.approvals), "incidents": asdict(d.incidents),
        "paused": [{"agent": name, "paused_by": by, "reason": why} for name, by, why in d.paused],
        "daily": {"days": [day.isoformat() for day in d.chart_days], "spend_usd": d.daily,
                  "daily_budget_usd": d.daily_budget},
        "narrative": {"text": narrative, "source": narrative_source},
    }
