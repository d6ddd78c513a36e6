"""The digest message: cost per approved outcome first, then waste, spend by agent/team/model against budget
with the change from the previous period, approvals, incidents, paused agents. A pure builder."""

from __future__ import annotations

from typing import Any

from bot.blocks import oversight
from bot.blocks.common import clip, context, escape, header, message, section
from bot.blocks.spend import usd
from services.digests.service import Approvals, Digest, Incidents, SpendLine

MAX_LINES = 10  # per table; the rest is summarised so the section stays readable and under Slack's limits
NAME_MAX = 60


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def change(now: float | None, before: float | None) -> str:
    if now is None or not before:
        return "new" if now else "–"
    delta = (now - before) / before
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
    return f"{arrow}{abs(delta):.0%}"


def _table(title: str, lines: list[SpendLine]) -> str:
    rows = [f"*{title}*"]
    for line in lines[:MAX_LINES]:
        budget = f" of {usd(line.budget_usd)} ({line.spend_usd / line.budget_usd:.0%})" if line.budget_usd else ""
        unknown = f" · {line.unknown_events} cost unknown" if line.unknown_events else ""
        rows.append(f"• {escape(clip(line.name, NAME_MAX, '…'))}: {usd(line.spend_usd)}{budget} "
                    f"{change(line.spend_usd, line.previous_usd)}{unknown}")
    if len(lines) > MAX_LINES:
        rest = lines[MAX_LINES:]
        rows.append(f"• _…and {len(rest)} more: {usd(sum(x.spend_usd for x in rest))}_")
    if len(lines) == 0:
        rows.append("• no spend")
    return "\n".join(rows)


def digest_message(d: Digest, narrative: str) -> dict[str, Any]:
    cpa = usd(d.cost_per_approved_usd) if d.cost_per_approved_usd is not None else "n/a (no approved outcomes)"
    headline = (f":dart: *Cost per approved outcome: {cpa}* "
                f"{change(d.cost_per_approved_usd, d.previous_cost_per_approved_usd)}\n"
                f"{usd(d.total_usd)} spent for {d.approved_outcomes} approved outcome(s); "
                f"{change(d.total_usd, d.previous_usd)} spend vs the previous period")
    share = f" ({d.waste_usd / d.total_usd:.0%} of spend)" if d.total_usd else ""
    waste = f":wastebasket: *Waste:* {usd(d.waste_usd)}{share} on drafts that were rejected or expired"
    if d.unknown_cost_events:
        waste += f"\n:grey_question: {d.unknown_cost_events} usage event(s) with unknown cost are not in these totals"
    blocks = [
        header(f"Countersign digest: {d.period_label}"),
        section(headline),
        section(waste),
        section(f":memo: {escape(narrative)}"),
        section(_table("Spend by agent", d.by_agent)),
        section(_table("Spend by team", d.by_team)),
        section(_table("Spend by model", d.by_model)),
        section(_budgets(d)),
        section(_approvals(d.approvals)),
        section(_incidents(d.incidents)),
        section(_paused(d.paused)),
        *(oversight.digest_section(d.oversight, days=7) if d.period.kind == "week" else []),
        context(f"Period {d.period.start.isoformat()} to {d.period.end.isoformat()} (end exclusive), compared with "
                f"{d.previous.start.isoformat()} onward · Countersign's own LLM spend {usd(d.internal_usd)}"),
    ]
    return message(f"Countersign digest {escape(d.period_label)}: cost per approved outcome {cpa}, "
                   f"spend {usd(d.total_usd)}, waste {usd(d.waste_usd)}", blocks)


def _budgets(d: Digest) -> str:
    """Each budget: spent of limit, share used, and where it is heading by the end of its period."""
    if not d.budgets:
        return "*Budgets*\n• none set"
    rows = ["*Budgets*" + (" (as of now)" if d.so_far else "")]
    for line in d.budgets[:MAX_LINES]:
        mark = ":red_circle: " if line.share >= 1 else ":large_orange_circle: " if line.share >= 0.8 else ""
        ahead = (f"; {usd(line.projected_usd)} projected by {line.period.end.isoformat()}"
                 if not line.complete else "; period complete")
        over = " (over)" if not line.complete and line.projected_usd > line.limit_usd else ""
        rows.append(f"• {mark}{escape(clip(line.name, NAME_MAX, '…'))}: {usd(line.spent_usd)} of "
                    f"{usd(line.limit_usd)} ({line.share:.0%}){ahead}{over}")
    if len(d.budgets) > MAX_LINES:
        rows.append(f"• _…and {len(d.budgets) - MAX_LINES} more_")
    return "\n".join(rows)


def _approvals(a: Approvals) -> str:
    order = ["approved", "edited", "auto_approved", "rejected", "expired", "cancelled"]
    counts = ", ".join(f"{a.counts[s]} {s.replace('_', '-')}" for s in order if a.counts.get(s)) or "no decisions"
    oldest = (f"\n• oldest pending: {escape(a.oldest_pending or '')}, waiting {duration(a.oldest_pending_s)}"
              if a.oldest_pending_s is not None else "\n• nothing pending")
    return (f"*Approvals*\n• {counts}\n• time to decision: median {duration(a.median_s)}, p90 {duration(a.p90_s)}"
            f"{oldest}")


def _incidents(i: Incidents) -> str:
    return (f"*Incidents*\n• {i.opened} opened, {i.acknowledged} acknowledged; MTTA {duration(i.mtta_s)}, "
            f"MTTR {duration(i.mttr_s)}\n• {i.still_open} still open")


def _paused(paused: list[tuple[str, str | None, str | None]]) -> str:
    if not paused:
        return "*Agents paused*\n• none"
    lines = [f"• {escape(name)} by {escape(by or 'unknown')}" + (f": {escape(why)}" if why else "")
             for name, by, why in paused[:MAX_LINES]]
    if len(paused) > MAX_LINES:
        lines.append(f"• _…and {len(paused) - MAX_LINES} more_")
    return "*Agents paused*\n" + "\n".join(lines)
