"""Spend messages: threshold warnings, the paused-for-budget card with the owner's buttons, the unknown-model
notice, and the `/countersign budget` answer. Pure builders returning dicts."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.blocks.common import actions, button, context, escape, escape_keeping_mentions, header, message, section
from services.spend.budgets import BudgetWarning

RAISE_PRESETS = (25, 50, 100)


def usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:,.2f}" if abs(value) >= 1 or value == 0 else f"${value:,.4f}"


def _bar(fraction: float, width: int = 10) -> str:
    fraction = min(max(fraction, 0.0), 1.0) if fraction == fraction else 0.0  # clamps inf; NaN draws empty
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)


def _warning_lines(w: BudgetWarning) -> list[str]:
    limit = w.rule.limit_usd
    share = w.spent_usd / limit if limit else 0.0
    lines = [f"*Spent:* {usd(w.spent_usd)} of {usd(limit)}  `{_bar(share)}` {share:.0%}",
             f"*Projected by period end:* {usd(w.projected_usd)}"
             f" ({w.period.start.isoformat()} – {w.period.end.isoformat()}, end exclusive)"]
    if w.top_spenders:
        what = "models" if w.rule.scope == "agent" else "agents"
        tops = ", ".join(f"{escape(name)} {usd(cost)}" for name, cost in w.top_spenders)
        lines.append(f"*Top {what}:* {tops}")
    return lines


def budget_warning(w: BudgetWarning) -> dict[str, Any]:
    """A threshold crossed: spend, budget, projection, top spenders."""
    icon = ":rotating_light:" if w.threshold >= 1 else ":warning:"
    title = f"{w.agent_name} reached {w.threshold:.0%} of its {w.rule.describe()}"
    blocks = [section(f"{icon} *{escape(title)}*"), section("\n".join(_warning_lines(w)))]
    if w.threshold >= 1:
        blocks.append(context("The budget is set to warn only; the agent keeps running."))
    return message(escape(title), blocks)


def budget_paused_card(w: BudgetWarning, ref_value: str) -> dict[str, Any]:
    """At 100 % of a pause budget: the agent is paused; the owner raises, resumes once or keeps it paused.

    `ref_value` is the button value prefix (decisions.CardRef.encode without the last part).
    """
    title = f"{w.agent_name} is paused: its {w.rule.describe()} is used up"
    buttons = [button(f"Raise budget by {p}%", f"{ids.SPEND_RAISE_PREFIX}{p}", ref_value + str(p),
                      style="primary" if p == RAISE_PRESETS[0] else None) for p in RAISE_PRESETS]
    buttons.append(button("Resume once", ids.SPEND_RESUME_ONCE, ref_value))
    buttons.append(button("Keep paused", ids.SPEND_KEEP_PAUSED, ref_value, style="danger"))
    blocks = [
        header(f"Paused for budget: {w.agent_name}"),
        section("\n".join(_warning_lines(w))),
        context("*Raise* lifts this budget and resumes the agent. *Resume once* lets it run past this budget "
                "until the period ends. Owner, backup owners and admins only."),
        actions(ids.SPEND_PAUSE_BLOCK, *buttons),
    ]
    return message(escape(title), blocks)


def budget_resolved(*, agent_name: str, outcome: str) -> dict[str, Any]:
    """The card after someone answered it: the buttons go, the answer stays. `outcome` is Countersign's own
    sentence; only the mentions in it stay live."""
    shown = escape_keeping_mentions(outcome)
    return message(f"{escape(agent_name)}: {shown}", [
        section(f":moneybag: *Budget pause for {escape(agent_name)}*"),
        section(shown),
    ])


def unknown_model_notice(*, agent_name: str, model: str) -> dict[str, Any]:
    text = (f":grey_question: *{escape(agent_name)}* reported usage of `{escape(model)}`, a model with no known price. "
            "Those calls are recorded as *cost unknown*, not $0. Send `cost_usd` with the usage, or set a price: "
            f"`countersign budgets price-override {escape(model)} --input … --output …`.")
    return message(escape(f"{agent_name}: unknown price for {model}"), [section(text),
                                                                context("You hear this once per model.")])


def budget_status(*, agent_name: str, status: str, budgets: list[dict[str, Any]],
                  today_usd: float, month_usd: float) -> dict[str, Any]:
    """The `/countersign budget` answer: spend and what is left, per budget (dicts shaped like
    BudgetState.public())."""
    lines = [f"*{escape(agent_name)}* ({escape(status)}): {usd(today_usd)} today, {usd(month_usd)} this month"]
    if not budgets:
        lines.append("No budget applies to this agent.")
    for b in budgets:
        share = b["spent_usd"] / b["limit_usd"] if b["limit_usd"] else 0.0
        scope = f"team {b.get('team')}" if b["scope"] == "team" else b["scope"]
        flags = (" *used up*" if b["exceeded"] else "") + (" _(waived this period)_" if b["waived"] else "")
        lines.append(f"• {escape(b['period'])} ({escape(scope)}): {usd(b['spent_usd'])} of {usd(b['limit_usd'])} "
                     f"`{_bar(share)}` {usd(b['remaining_usd'])} left{flags}")
    return message(escape(f"Budget for {agent_name}"), [section("\n".join(lines))])
