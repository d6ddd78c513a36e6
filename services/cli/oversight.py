"""`countersign oversight [--agent NAME] [--days 30] [--format text|json]`."""

from __future__ import annotations

import click

from services.cli.common import COMMANDS, attempt, cli, emit, make_context


def text_lines(report: dict) -> list[str]:  # type: ignore[type-arg]
    """The report as a person reads it in a terminal; `report` is Report.model_dump(mode="json")."""
    lines = [f"Oversight from {report['since'][:16]} to {report['until'][:16]} ({report['days']} days)"]
    if not report["rows"]:
        return [*lines, "no decisions by people in this window"]
    lines.append(f"{'agent':<16} {'action':<20} {'reviewer':<12} {'n':>4} {'appr':>5} {'edit':>5} "
                 f"{'p50 s':>7} {'p95 s':>7} {'canary':>7}  flag")
    for row in report["rows"]:
        timing = row["time_to_decision"]
        p50 = "-" if timing["p50_s"] is None else f"{timing['p50_s']:.1f}"
        p95 = "-" if timing["p95_s"] is None else f"{timing['p95_s']:.1f}"
        flag = "RUBBER STAMP" if row["rubber_stamp"] else ""
        lines.append(f"{row['agent'][:16]:<16} {row['action'][:20]:<20} {row['reviewer'][:12]:<12} "
                     f"{row['decisions']:>4} {row['approval_rate']:>5.0%} {row['edit_rate']:>5.0%} {p50:>7} {p95:>7} "
                     f"{row['canary_catches']:>3}/{row['canary_misses']:<3}  {flag}")
    for row in report["rows"]:
        if row["rubber_stamp"]:
            e = row["evidence"]
            lines.append(f"{row['reviewer']} on {row['agent']}/{row['action']}: approved {e['approved']} of "
                         f"{e['decisions']} with a median of {e['median_s']} s for {e['median_chars']} characters "
                         f"(under {e['fast_under_s']} s is too fast to have read it): {e['rule']}")
    lines.append("canary: caught/missed")
    return lines


@cli.command("oversight", help=COMMANDS["oversight"][1])
@click.option("--agent", "agent_name", help="Only this agent.")
@click.option("--days", default=30, show_default=True, type=int, help="How many days back from now.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def oversight(agent_name: str | None, days: int, fmt: str) -> None:
    from services.oversight.flows import oversight_report

    ctx = make_context()
    report = attempt(oversight_report, ctx=ctx, agent_name=agent_name, days=days).model_dump(mode="json")
    if fmt == "json":
        emit(report)
        return
    click.echo("\n".join(text_lines(report)))
