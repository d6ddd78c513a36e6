"""The digest's short narrative: written by OpenAI when a key is set and Countersign's own LLM budget allows,
otherwise a template. Countersign's own spend is recorded as usage of the internal agent (id 0)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from services import llm
from services.context import AppContext
from services.digests.models import DigestRun
from services.digests.service import Digest
from services.spend import service as spend
from services.spend.models import INTERNAL_AGENT_ID, UsageCreate
from services.spend.periods import current_period

log = logging.getLogger("countersign.digests")
CALLED = ("openai", "template-error")  # the narrative sources that cost an OpenAI request

SYSTEM = ("You write a three-sentence summary of an AI agents' cost and approvals digest for busy managers. "
          "Lead with cost per approved outcome, then waste, then anything unusual. Plain words, no headings, "
          "no numbers that are not in the data.")


@dataclass(frozen=True)
class Narrative:
    text: str
    source: str  # openai | template | template-over-budget | template-over-rate | template-error
    completion: llm.Completion | None = None


def template(d: Digest) -> str:
    cpa = (f"${d.cost_per_approved_usd:,.2f} per approved outcome ({d.approved_outcomes} approved)"
           if d.cost_per_approved_usd is not None else "no approved outcomes")
    change = ""
    if d.previous_usd:
        delta = (d.total_usd - d.previous_usd) / d.previous_usd
        change = f", {'up' if delta >= 0 else 'down'} {abs(delta):.0%} on the previous period"
    waste = f"${d.waste_usd:,.2f} went on drafts that were rejected or expired" if d.waste_usd else "no waste"
    top = f" The biggest spender was {d.by_agent[0].name} (${d.by_agent[0].spend_usd:,.2f})." if d.by_agent else ""
    open_ = f" {d.incidents.still_open} incident(s) still open." if d.incidents.still_open else ""
    return f"Spend was ${d.total_usd:,.2f}{change}: {cpa}; {waste}.{top}{open_}"


def facts(d: Digest) -> str:
    cpa = d.cost_per_approved_usd
    lines = [f"period {d.period_label}", f"total spend ${d.total_usd:.2f} (previous ${d.previous_usd:.2f})",
             f"approved outcomes {d.approved_outcomes}",
             f"cost per approved outcome {'n/a' if cpa is None else f'${cpa:.2f}'}",
             f"waste ${d.waste_usd:.2f}", f"cost-unknown events {d.unknown_cost_events}"]
    lines += [f"agent {a.name}: ${a.spend_usd:.2f} (previous ${a.previous_usd:.2f})" for a in d.by_agent[:10]]
    lines.append(f"incidents opened {d.incidents.opened}, still open {d.incidents.still_open}")
    lines += [f"paused: {name}" for name, _, _ in d.paused]
    return "\n".join(lines)


def write(*, ctx: AppContext, digest: Digest) -> Narrative:
    fallback = template(digest)
    client = ctx.llm
    if client is None:
        return Narrative(fallback, "template")
    now, tz = ctx.clock.now(), ctx.settings.tz
    month = current_period("month", now, tz)
    with ctx.read() as session:
        spent = spend.spend_between(session=session, start=month.start, end=month.end, agent_ids=[INTERNAL_AGENT_ID])
        called = calls_since(session=session, since=now - timedelta(hours=1))
    if spent >= ctx.settings.llm_budget_usd:
        return Narrative(fallback, "template-over-budget")
    if called >= ctx.settings.llm_calls_per_hour:
        return Narrative(fallback, "template-over-rate")
    from openai import OpenAIError

    try:
        completion = llm.complete(client, model=ctx.settings.digest_model, system=SYSTEM, user=facts(digest))
    except OpenAIError as exc:  # the digest goes out regardless; the template says the same facts
        log.warning("digest narrative failed, using the template: %s", type(exc).__name__)
        return Narrative(fallback, "template-error")
    return Narrative(completion.text or fallback, "openai", completion)


def calls_since(*, session: Session, since: datetime) -> int:
    """Digests whose narrative went to OpenAI (answered or failed) since `since`, on every replica."""
    return session.exec(select(func.count()).select_from(DigestRun).where(
        col(DigestRun.narrative_source).in_(CALLED), col(DigestRun.posted_at) >= since)).one()


def record_own_spend(*, session: object, ctx: AppContext, narrative: Narrative, request_id: str) -> None:
    """Countersign's own call, counted like any agent's (priced by genai-prices) under the internal agent."""
    c = narrative.completion
    if c is None:
        return
    data = UsageCreate(model=c.model[:128], provider="openai", input_tokens=c.input_tokens,
                       output_tokens=c.output_tokens, cached_tokens=min(c.cached_tokens, c.input_tokens),
                       request_id=request_id[:128])
    spend.record_usage(session=session, agent_id=INTERNAL_AGENT_ID, data=data, now=ctx.clock.now(),  # type: ignore[arg-type]
                       tz=ctx.settings.tz)
