"""What a decision must carry and who may make it: each rule once, for every surface (Slack, web, CLI).

Surfaces pass the person, the verdict, the text and the revision; the drafts flow asks the group directory
which of the draft's approver groups the person is in, and these rules settle the rest.
"""

from __future__ import annotations

import json
from typing import Literal

from services.agents.models import Agent
from services.drafts import stages
from services.drafts.models import Draft
from services.errors import Forbidden, field_error

Verdict = Literal["approve", "reject", "edit"]
VERDICTS = ("approve", "reject", "edit")
REASON_MAX = 2000  # what the reject modal allows, held on every path


def check_request(*, verdict: str, final_body: str | None, reason: str | None) -> str | None:
    """Refuse a decision that is malformed whoever makes it; returns the reason as kept (stripped, or None)."""
    if verdict not in VERDICTS:
        raise field_error("verdict", "must be approve, reject or edit")
    kept = (reason or "").strip() or None
    if verdict == "reject" and kept is None:
        raise field_error("reason", "please say why you reject it: the agent gets your reason")
    if kept is not None and len(kept) > REASON_MAX:
        raise field_error("reason", f"at most {REASON_MAX:,} characters")
    if verdict == "edit" and final_body is None:
        raise field_error("final_body", "an edit needs the edited text")
    return kept


def check_edit(*, text: str, is_json: bool) -> None:
    """An edit is not empty, and a JSON draft stays valid JSON (the agent parses what it gets back)."""
    if not text.strip():
        raise field_error("final_body", "the edited text must not be empty; to turn the draft down, reject it")
    if is_json:
        try:
            json.loads(text)
        except ValueError as exc:
            raise field_error("final_body", f"this draft is JSON and must stay valid JSON: {exc}") from None


def approver_groups(agent: Agent, draft: Draft) -> list[str]:
    """The user groups whose members decide one of the draft's stages: what the directory is asked about."""
    return stages.all_groups(agent, draft)


def named_decider(agent: Agent, draft: Draft, user_id: str) -> bool:
    """Named for the open stage (no directory question needed)."""
    return user_id in stages.deciders(agent, stages.open_stage(draft))[0]


def refusal(*, agent: Agent, draft: Draft, user_id: str, verdict: str, groups: frozenset[str]) -> Forbidden | None:
    """Why this person may not decide this draft's open stage (None: they may). `groups`: the approver groups
    they are in. The requester never approves; separation of duties is held by the votes' unique key."""
    people, stage_groups = stages.deciders(agent, stages.open_stage(draft))
    if user_id not in people and not groups.intersection(stage_groups):
        if len(stages.of(draft)) == 1:
            return Forbidden(f"you are not an approver for {agent.name}")
        return Forbidden(f"you are not an approver for the {stages.open_stage(draft)['name']} stage of "
                         f"{agent.name} ({stages.label(draft)})", extra={"stage": stages.open_stage(draft)["name"]})
    if verdict != "reject" and draft.requested_by and draft.requested_by == user_id:
        return Forbidden("you asked for this draft, so you can't approve it yourself; another approver must")
    return None


def may_decide(*, agent: Agent, draft: Draft, user_id: str, groups: frozenset[str]) -> bool:
    """Whether the person's page shows Approve: pending, and an approval of theirs would be counted."""
    return draft.status == "pending" and refusal(agent=agent, draft=draft, user_id=user_id, verdict="approve",
                                                 groups=groups) is None
