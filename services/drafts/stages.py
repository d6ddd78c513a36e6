"""A draft's approval stages: the snapshot taken from the action's policy at creation, who decides the open
stage, and the shape every surface shows (`stage`, `stages`).

A single-stage action has one stage named `review` whose deciders are the agent's (as configured when a click
comes); a staged action's deciders are the stage's own, as they were when the draft was created.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainSerializer, field_serializer

from services.agents.models import ActionPolicy, Agent, StageSpec

REVIEW = "review"
StageStatus = Literal["waiting", "open", "passed", "rejected"]
# isoformat ("+00:00"), as the API has always written its times, rather than pydantic's "Z".
Timestamp = Annotated[datetime, PlainSerializer(lambda when: when.isoformat(), return_type=str, when_used="json")]


class StagePublic(BaseModel):
    """One stage of a draft's approval workflow as every surface shows it."""

    name: str
    status: StageStatus
    approvals_required: int
    approved_by: list[str]
    opened_at: datetime | None
    passed_at: datetime | None
    escalated_to: list[str] = Field(description="people the stage was escalated to, who may then decide it")
    channel: str | None = None
    sla_s: int | None = None

    @field_serializer("opened_at", "passed_at", when_used="json")
    def _iso(self, when: datetime | None) -> str | None:
        return when.isoformat() if when else None  # as every other time of the API ("+00:00")




def snapshot(*, agent: Agent, policy: ActionPolicy, now: datetime) -> list[dict[str, Any]]:
    """The stages a new draft keeps for its whole life, the first one open."""
    specs = policy.stages or [StageSpec(name=REVIEW, sla_s=policy.review_sla_s,
                                        approvals_required=policy.approvals_required or agent.approvals_required)]
    return [{"name": spec.name, "approvers": list(spec.approvers or []),
             "approver_groups": list(spec.approver_groups or []), "approvals_required": spec.approvals_required,
             "channel": spec.channel, "sla_s": spec.sla_s, "status": "open" if at == 0 else "waiting",
             "opened_at": now.isoformat() if at == 0 else None, "passed_at": None, "escalated_to": []}
            for at, spec in enumerate(specs)]


def first_due(stage: dict[str, Any], now: datetime) -> datetime | None:
    """When an opening stage first escalates (services.drafts.escalation): after its SLA; None without one."""
    return now + timedelta(seconds=stage["sla_s"]) if stage.get("sla_s") else None


def of(draft: Any) -> list[dict[str, Any]]:
    """The draft's stages; a draft stored before stages existed reads as one `review` stage."""
    if draft.stages:
        return [dict(stage) for stage in draft.stages]
    opened = draft.created_at.isoformat() if draft.created_at else None
    return [{"name": REVIEW, "approvers": [], "approver_groups": [], "approvals_required": draft.approvals_required,
             "channel": None, "sla_s": None, "status": "open", "opened_at": opened, "passed_at": None,
             "escalated_to": []}]


def open_stage(draft: Any) -> dict[str, Any]:
    found = of(draft)
    return found[min(draft.stage_index, len(found) - 1)]


def label(draft: Any) -> str:
    """"Stage 2 of 2: finance" (a single stage is just "review")."""
    return label_of([stage["name"] for stage in of(draft)], draft.stage_index)


def label_of(names: list[str], at: int) -> str:
    """The label of stage `at` of these: a stored draft's (`label`) and a DraftCard's alike."""
    if len(names) <= 1:
        return names[0] if names else REVIEW
    at = min(at, len(names) - 1)
    return f"Stage {at + 1} of {len(names)}: {names[at]}"


def deciders(agent: Agent, stage: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(people, user groups) who decide this stage: its own when it names any, else the agent's. People the
    stage was escalated to (owner, backups) may decide it too."""
    if stage.get("approvers") or stage.get("approver_groups"):
        people, groups = list(stage.get("approvers") or []), list(stage.get("approver_groups") or [])
    else:
        people, groups = agent.deciders(), list(agent.approver_groups or [])
    return people + [p for p in stage.get("escalated_to") or [] if p not in people], groups


def all_groups(agent: Agent, draft: Any) -> list[str]:
    """Every user group that decides one of the draft's stages: what the directory is asked about."""
    found: list[str] = []
    for stage in of(draft):
        found += [g for g in deciders(agent, stage)[1] if g not in found]
    return found


def advanced(draft: Any, now: datetime) -> list[dict[str, Any]]:
    """The stages after the open one passed: it is `passed`, the next `open`."""
    found = of(draft)
    at = draft.stage_index
    found[at] = {**found[at], "status": "passed", "passed_at": now.isoformat()}
    if at + 1 < len(found):
        found[at + 1] = {**found[at + 1], "status": "open", "opened_at": now.isoformat()}
    return found


def closed(draft: Any, *, passed: bool, now: datetime) -> list[dict[str, Any]]:
    """The stages once the draft is decided: the open one passed (approved) or rejected (anything else)."""
    found = of(draft)
    at = min(draft.stage_index, len(found) - 1)
    if found[at]["status"] == "open":
        found[at] = {**found[at], "status": "passed" if passed else "rejected",
                     "passed_at": now.isoformat() if passed else None}
    return found


def public(draft: Any, votes: list[tuple[str, int]]) -> list[StagePublic]:
    """`votes`: (user, stage) of each approval, in order."""
    return [StagePublic(name=s["name"], status=s["status"], approvals_required=s["approvals_required"],
                        approved_by=[user for user, at in votes if at == index],
                        opened_at=_when(s.get("opened_at")), passed_at=_when(s.get("passed_at")),
                        escalated_to=list(s.get("escalated_to") or []), channel=s.get("channel"),
                        sla_s=s.get("sla_s"))
            for index, s in enumerate(of(draft))]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
