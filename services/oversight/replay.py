"""Eval replay: past decided drafts' `context.input` run through a prompt version's text, each output compared
with what a person decided.

Agreement, per outcome (similarity is 1 - the normalised edit distance of services.autonomy.stats):
- approved unedited: the output is close to the approved text (similarity >= CLOSE);
- edited: the output is closer to the person's edited text than to the agent's original draft;
- rejected: the output is not close to the rejected draft (the version would not make it again).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from services.autonomy.stats import edit_distance
from services.drafts.models import Draft
from services.llm import complete
from services.oversight.models import PROMPT, Change

CLOSE = 0.8
OUTCOMES = ("approved", "edited", "rejected")
DEFAULT_MODEL = "gpt-4o-mini"
MAX_OUTPUT_TOKENS = 1200


def similarity(a: str, b: str) -> float:
    return round(1.0 - edit_distance(a, b), 4)


def agrees(outcome: str, output: str, *, draft: str, final: str | None) -> tuple[bool, float, float | None]:
    """(agrees with the person, similarity to the agent's draft, similarity to the approved text if any)."""
    to_draft = similarity(output, draft)
    to_final = similarity(output, final) if final is not None else None
    if outcome == "approved":
        return (to_final or 0.0) >= CLOSE, to_draft, to_final
    if outcome == "edited":
        return (to_final or 0.0) > to_draft, to_draft, to_final
    return to_draft < CLOSE, to_draft, to_final


@dataclass
class Summary:
    model: str
    failed: int = 0
    skipped: int = 0  # decided drafts with no context.input to replay
    agreed: Counter[str] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)  # input, output, cached: Countersign's own spend

    def as_dict(self) -> dict[str, Any]:
        compared = sum(self.seen.values())
        return {"model": self.model, "drafts": compared, "failed": self.failed, "skipped": self.skipped,
                "agreement": round(sum(self.agreed.values()) / compared, 4) if compared else None,
                "outcomes": {o: {"drafts": self.seen[o], "agreed": self.agreed[o],
                                 "rate": round(self.agreed[o] / self.seen[o], 4) if self.seen[o] else None}
                             for o in OUTCOMES}}


def prompt_text(*, session: Session, agent_id: int, action: str, version: str) -> Change | None:
    return session.exec(select(Change).where(Change.agent_id == agent_id, Change.action == action,
                                             Change.kind == PROMPT, Change.version == version)).first()


def decided(*, session: Session, agent_id: int, action: str, limit: int) -> list[Draft]:
    """The newest drafts people decided (canaries are tests, not history)."""
    return list(session.exec(select(Draft).where(
        Draft.agent_id == agent_id, Draft.action == action, col(Draft.status).in_(OUTCOMES),
        col(Draft.is_canary).is_(False)).order_by(col(Draft.decided_at).desc(), col(Draft.id)).limit(limit)))


def as_input(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def pick_model(model: str | None, drafts: list[Draft]) -> str:
    """The model asked for, else the one the drafts were made with most, else a small default."""
    if model:
        return model
    used = Counter(d.model for d in drafts if d.model)
    return used.most_common(1)[0][0] if used else DEFAULT_MODEL


def run(client: Any, *, text: str, drafts: list[Draft], model: str | None, error_types: tuple[type[Exception], ...],
        ) -> tuple[Summary, list[dict[str, Any]]]:
    """Replay each draft; returns the figures and one report row per draft. An API failure on one draft is
    counted and reported, and the rest go on."""
    chosen = pick_model(model, drafts)
    summary, rows = Summary(model=chosen), []
    for draft in drafts:
        given = (draft.context or {}).get("input")
        if given is None:
            summary.skipped += 1
            continue
        row: dict[str, Any] = {"draft_id": draft.id, "outcome": draft.status, "input": given}
        try:
            answer = complete(client, model=chosen, system=text, user=as_input(given), max_tokens=MAX_OUTPUT_TOKENS)
        except error_types as exc:
            summary.failed += 1
            rows.append({**row, "error": f"{type(exc).__name__}: {exc}"[:500]})
            continue
        output = answer.text
        summary.tokens.update(input=answer.input_tokens, output=answer.output_tokens, cached=answer.cached_tokens)
        final = draft.current_text if draft.status in ("approved", "edited") else None
        agreed, to_draft, to_final = agrees(draft.status, output, draft=draft.body, final=final)
        summary.seen[draft.status] += 1
        summary.agreed[draft.status] += agreed
        rows.append({**row, "output": output, "agrees": agreed, "similarity_to_draft": to_draft,
                     "similarity_to_final": to_final, "final": final})
    return summary, rows
