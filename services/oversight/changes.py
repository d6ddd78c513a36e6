"""Prompt and model changes reviewed like the production changes they are.

The rules, in one place:
- An agent registers each prompt version's text (`POST /v1/prompts`). A new version is `pending` and its owner
  gets a card with the diff against the action's last approved version (the whole text for the first).
- While a registered version is pending, its drafts go to review whatever level was earned; once rejected, its
  drafts are refused (409 `prompt-version-rejected`). A version never registered keeps the autonomy rules alone.
- An earned level holds for the model it was earned on: the model of the last decision counted before the level
  was granted. A draft of an `auto` action with another model goes to review, saying so, and the owner gets the
  same kind of card for that model; approving it lets the level hold for that model too.
- Only the owner, a backup owner or an admin answers a card (or the delegate of one who is away); every refusal
  is audited.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.autonomy.models import AUTO, AutonomyEvidence, AutonomyState
from services.autonomy.service import version_key
from services.cache import Caches
from services.db import require_id
from services.errors import AlreadyDecided, Conflict, Forbidden, NotFound, PromptVersionRejected
from services.oversight.models import APPROVED, MODEL, PENDING, PROMPT, REJECTED, Change
from services.people import service as away


def get(*, session: Session, agent_id: int, action: str, kind: str, version: str) -> Change | None:
    return session.exec(select(Change).where(Change.agent_id == agent_id, Change.action == action,
                                             Change.kind == kind, Change.version == version)).first()


def require(*, session: Session, change_id: int) -> Change:
    change = session.get(Change, change_id, populate_existing=True)
    if change is None:
        raise NotFound(f"no prompt change #{change_id}")
    return change


def last_approved(*, session: Session, agent_id: int, action: str, kind: str = PROMPT) -> Change | None:
    return session.exec(select(Change).where(Change.agent_id == agent_id, Change.action == action,
                                             Change.kind == kind, Change.status == APPROVED)
                        .order_by(col(Change.decided_at).desc(), col(Change.id).desc()).limit(1)).first()


def diff_of(base: Change | None, action: str, version: str, text: str) -> str:
    before = base.text or "" if base else ""
    lines = difflib.unified_diff(before.splitlines(keepends=True), text.splitlines(keepends=True),
                                 fromfile=f"{action} {base.version}" if base else "(no approved version)",
                                 tofile=f"{action} {version}")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _insert_once(session: Session, change: Change) -> bool:
    try:
        with session.begin_nested():
            session.add(change)
        return True
    except IntegrityError:
        return False


def register_prompt(*, session: Session, agent: Agent, action: str, version: str, text: str,
                    now: datetime) -> tuple[Change, bool]:
    """The version's change and whether it is new. The same text again is the same version (idempotent); other
    text under a registered version is a 409: a version names one text for good."""
    found = get(session=session, agent_id=require_id(agent.id), action=action, kind=PROMPT, version=version)
    if found is None:
        base = last_approved(session=session, agent_id=require_id(agent.id), action=action)
        change = Change(agent_id=require_id(agent.id), action=action, kind=PROMPT, version=version, text=text,
                        base_version=base.version if base else None, diff=diff_of(base, action, version, text),
                        created_at=now)
        if _insert_once(session, change):
            return change, True
        found = get(session=session, agent_id=require_id(agent.id), action=action, kind=PROMPT, version=version)
    assert found is not None
    if found.text != text:
        raise Conflict(f"prompt version {version!r} of {action} is already registered with other text; "
                       "register the change under a new version")
    return found, False


def earned_model(*, session: Session, agent_id: int, action: str, prompt_version: str | None) -> str | None:
    """The model an `auto` level was earned on: that of the last decision counted before it was granted. None
    when the level is not auto, or was granted with no decision to go by (the admin's configuration)."""
    state = session.exec(select(AutonomyState).where(
        AutonomyState.agent_id == agent_id, AutonomyState.action == action,
        AutonomyState.prompt_version == version_key(prompt_version))).first()
    if state is None or state.level != AUTO or state.granted_at is None:
        return None
    model = session.exec(select(AutonomyEvidence.model).where(
        AutonomyEvidence.agent_id == agent_id, AutonomyEvidence.action == action,
        AutonomyEvidence.prompt_version == state.prompt_version, col(AutonomyEvidence.decided_at) <= state.granted_at,
    ).order_by(col(AutonomyEvidence.id).desc()).limit(1)).first()
    return model or None


def _status(session: Session, caches: Caches, agent: Agent, action: str, kind: str, version: str) -> str | None:
    return caches.cache("oversight.statuses", "oversight_changes").get(
        (agent.id, action, kind, version), lambda: session.exec(select(Change.status).where(
            Change.agent_id == agent.id, Change.action == action, Change.kind == kind,
            Change.version == version)).first())


def review_reasons(*, session: Session, caches: Caches, agent: Agent, request: Any, level: str | None) -> list[str]:
    """Why a new draft must go to a person because of its prompt version or model (reads only). A rejected
    prompt version raises PromptVersionRejected. `level`: the earned level, None when not known yet; `caches`:
    the app's (a version's status and the model a level was earned on change seldom, and drop on a write)."""
    reasons = []
    version = request.prompt_version
    if version:
        status = _status(session, caches, agent, request.action, PROMPT, version)
        if status == REJECTED:
            raise PromptVersionRejected(f"prompt version {version!r} of {request.action} was rejected by its owner; "
                                        "drafts made with it are refused", extra={"prompt_version": version})
        if status == PENDING:
            reasons.append(f"prompt version {version} is waiting for its owner's approval")
    if level == AUTO and request.model:
        reason = model_reason(session=session, caches=caches, agent=agent, action=request.action,
                              prompt_version=version,
                              model=request.model)
        if reason:
            reasons.append(reason)
    return reasons


def model_reason(*, session: Session, caches: Caches, agent: Agent, action: str, prompt_version: str | None,
                 model: str) -> str | None:
    # The model a level was earned on changes only with the level's grant (evidence after it is not looked at).
    earned = caches.cache("oversight.earned", "autonomy_states").get(
        (agent.id, action, prompt_version), lambda: earned_model(session=session, agent_id=require_id(agent.id),
                                                                  action=action, prompt_version=prompt_version))
    if earned is None or earned == model or _status(session, caches, agent, action, MODEL, model) == APPROVED:
        return None
    return f"model {model} differs from {earned}, the model {action}'s auto level was earned with"


def open_model_change(*, session: Session, agent: Agent, action: str, prompt_version: str | None, model: str,
                      now: datetime) -> Change | None:
    """The owner's card for a model the level was not earned on; once per (action, model). None: nothing new."""
    earned = earned_model(session=session, agent_id=require_id(agent.id), action=action, prompt_version=prompt_version)
    if earned is None or earned == model:
        return None
    if get(session=session, agent_id=require_id(agent.id), action=action, kind=MODEL, version=model) is not None:
        return None
    change = Change(agent_id=require_id(agent.id), action=action, kind=MODEL, version=model, text=None,
                    base_version=earned, diff=f"-model: {earned}\n+model: {model}\n", created_at=now)
    return change if _insert_once(session, change) else None


def answerers(*, agent: Agent, admins: list[str]) -> set[str]:
    return {agent.owner, *(agent.backup_owners or []), *admins}


def acting_as(*, session: Session, agent: Agent, user: str, admins: list[str], now: datetime) -> str | None:
    """Who this person answers as: themselves, or someone away they stand in for (services.people); None if
    nobody they may answer for."""
    allowed = answerers(agent=agent, admins=admins)
    if user in allowed:
        return user
    return next((absent for absent in away.stands_in_for(session=session, user_id=user, now=now)
                 if absent in allowed), None)


def answer(*, session: Session, change: Change, agent: Agent, user: str, approve: bool, admins: list[str],
           now: datetime) -> Change:
    """Approve or reject a pending change; the first answer stands. Raises Forbidden for anyone else."""
    if acting_as(session=session, agent=agent, user=user, admins=admins, now=now) is None:
        raise Forbidden(f"only {agent.name}'s owner <@{agent.owner}>, its backup owners or an admin can answer "
                        "a prompt change")
    moved = session.exec(update(Change).where(col(Change.id) == change.id, col(Change.status) == PENDING)  # type: ignore[call-overload]
                         .values(status=APPROVED if approve else REJECTED, decided_by=user, decided_at=now)).rowcount
    session.refresh(change)
    if not moved:
        raise AlreadyDecided(f"this {change.kind} change was already {change.status} by <@{change.decided_by}>")
    return change


def approved_versions(*, session: Session, agent_id: int) -> dict[str, str]:
    """Each action's last approved prompt version, for the autonomy table."""
    found: dict[str, str] = {}
    for change in session.exec(select(Change).where(Change.agent_id == agent_id, Change.kind == PROMPT,
                                                    Change.status == APPROVED)
                               .order_by(col(Change.decided_at), col(Change.id))):
        found[change.action] = change.version
    return found


def statuses(*, session: Session, agent_id: int) -> dict[tuple[str, str], str]:
    """(action, prompt version) -> pending | approved | rejected, for the versions registered."""
    return {(c.action, c.version): c.status for c in session.exec(
        select(Change).where(Change.agent_id == agent_id, Change.kind == PROMPT))}
