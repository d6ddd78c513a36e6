"""Drafts awaiting a human decision: the request schema, the tables, and the public JSON shape."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.agents.models import SLUG, Strict
from services.db import UTCDateTime
from services.drafts import stages
from services.drafts.stages import StagePublic, Timestamp
from services.text import has_visible, link_url_problem


class DraftStatus(StrEnum):
    """A draft's status: the one list (the table stores the value, the API and the CLI offer these)."""

    pending = "pending"
    approved = "approved"
    edited = "edited"  # approved with edits
    rejected = "rejected"
    expired = "expired"
    auto_approved = "auto_approved"
    cancelled = "cancelled"


PENDING = DraftStatus.pending
FINAL_STATUSES = tuple(status for status in DraftStatus if status is not PENDING)
APPROVED_STATUSES = (DraftStatus.approved, DraftStatus.edited, DraftStatus.auto_approved)
EXPIRED_REASON = "denied: timed out, do not retry"
MIN_EXPIRY_S, MAX_EXPIRY_S = 60, 30 * 86400


def new_draft_id() -> str:
    return "drf_" + uuid.uuid4().hex


def draft_key(draft_id: str) -> str:
    """The draft's name in the audit log, the outbox (its card) and callbacks' ordering: one spelling."""
    return f"draft:{draft_id}"


def stage_card_key(draft_id: str, stage: int) -> str:
    """The outbox key of a stage's card: the first stage's is the draft's own card."""
    return draft_key(draft_id) if stage == 0 else f"{draft_key(draft_id)}:stage:{stage}"



class DraftCreate(Strict):
    action: str = Field(pattern=SLUG, description="the decision type, e.g. quote_freight_lane")
    title: str = Field(min_length=1, max_length=300)
    body: str | dict[str, Any] | list[Any] = Field(description="the draft: text, or any JSON value")
    context: dict[str, Any] = Field(default_factory=dict, description="input, links, trace_url…")
    requested_by: str | None = Field(None, min_length=1, max_length=64,
                                     description="Slack user id of the person the agent acts for")
    expires_in_s: int | None = Field(None, ge=MIN_EXPIRY_S, le=MAX_EXPIRY_S)
    cost_usd: float | None = Field(None, ge=0, le=1_000_000)
    model: str | None = Field(None, max_length=200)
    prompt_version: str | None = Field(None, max_length=200)
    confidence: float | None = Field(None, ge=0, le=1)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        if not has_visible(value):
            raise ValueError("must show something: it holds only invisible characters")
        return value

    @field_validator("context")
    @classmethod
    def _trace_url(cls, value: dict[str, Any]) -> dict[str, Any]:
        """The one URL field a card draws as a link by name; held to what a Slack link can carry."""
        url = value.get("trace_url")
        problem = None if url is None else link_url_problem(url) if isinstance(url, str) else "must be a string"
        if problem:
            raise ValueError(f"trace_url {problem}")
        return value

    @field_validator("body")
    @classmethod
    def _body_not_empty(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    def body_text(self) -> tuple[str, bool]:
        """The body as stored: text as given, JSON as its compact text plus a flag."""
        if isinstance(self.body, str):
            return self.body, False
        return json.dumps(self.body, ensure_ascii=False, indent=2), True


class CancelRequest(Strict):
    reason: str | None = Field(None, max_length=500)


class Draft(SQLModel, table=True):
    __tablename__ = "drafts"
    __table_args__ = (
        Index("ix_drafts_agent_status", "agent_id", "status"),
        Index("ix_drafts_status_expires", "status", "expires_at"),
        Index("ix_drafts_status_remind", "status", "remind_at"),
        Index("ix_drafts_status_escalate", "status", "escalate_at"),
    )

    id: str = SQLField(default_factory=new_draft_id, primary_key=True, max_length=40)
    agent_id: int
    action: str = SQLField(max_length=63)
    title: str = SQLField(max_length=300)
    body: str = SQLField(sa_column=Column(Text, nullable=False))
    body_is_json: bool = False
    context: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    requested_by: str | None = SQLField(default=None, max_length=64)
    status: str = SQLField(default=PENDING, max_length=16)
    # The latest reviewer's edit, null if nobody changed the text: under quorum it waits here for the remaining
    # approvers, and once approved it is the text approved. The API's final_body is derived (current_text).
    edited_body: str | None = SQLField(default=None, sa_column=Column(Text, nullable=True))
    edited_by: str | None = SQLField(default=None, max_length=32)
    decided_by: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    reason: str | None = SQLField(default=None, max_length=2000)
    decided_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    expires_at: datetime = SQLField(sa_type=UTCDateTime)
    remind_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    reminded: bool = False
    cost_usd: float | None = None
    model: str | None = SQLField(default=None, max_length=200)
    prompt_version: str | None = SQLField(default=None, max_length=200)
    confidence: float | None = None
    meta: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    approvals_required: int = 1
    approvals: int = 0  # counter moved only by conditional UPDATEs; the votes table says who
    revision: int = 0  # bumped by each edit, so an approval of text nobody has seen is refused
    high_risk: bool = False
    review_reasons: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Oversight: a known-bad test draft (services.oversight.canaries). It reaches no agent (no callback), no
    # reaction to draft.decided (evidence, spend, streaks), no eval row and no agent's list.
    is_canary: bool = False
    # The approval workflow, copied from the action's policy at creation (services.drafts.stages), so changing
    # the policy leaves open drafts as they started. `approvals`/`approvals_required` count the open stage.
    stages: list[dict[str, Any]] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    stage_index: int = 0
    on_timeout: str = SQLField(default="deny", max_length=16)
    claimed_by: str | None = SQLField(default=None, max_length=32)
    claimed_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    escalate_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)  # the open stage's SLA timer
    escalation_step: int = 0  # where the open stage is on the agent's escalation chain

    @property
    def card_key(self) -> str:
        return draft_key(self.id)

    @property
    def current_text(self) -> str:
        """The text under review now: the latest edit if any, else the agent's draft."""
        return self.edited_body if self.edited_body is not None else self.body


class DraftVote(SQLModel, table=True):
    """One approval per person per draft: the unique key is what makes a double click count once."""

    __tablename__ = "draft_votes"
    __table_args__ = (UniqueConstraint("draft_id", "user_id", name="uq_draft_votes_draft_user"),)

    id: int | None = SQLField(default=None, primary_key=True)
    draft_id: str = SQLField(max_length=40, index=True)
    user_id: str = SQLField(max_length=32)
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    stage: int = 0  # the stage the approval counted for (one person approves in one stage only)


def as_value(text: str | None, is_json: bool) -> Any:
    """JSON bodies go back out as JSON; an edited JSON body that no longer parses stays text."""
    if text is None or not is_json:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text




class DraftPublic(BaseModel):
    """The draft as the API, the callback, the Slack card and the web app all see it.

    Every field is required and unknown keys are refused, so a renamed key fails where it is built instead
    of quietly drawing a default on a card.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(examples=["drf_8c1f0e2b4a6d4f0e9b7a5c3d1e2f3a4b"])
    object: Literal["draft"]
    agent: str = Field(description="the agent's name")
    action: str
    title: str
    body: str | dict[str, Any] | list[Any] = Field(description="as the agent sent it: text, or a JSON value")
    context: dict[str, Any]
    requested_by: str | None
    # Inline in the schema (not a $ref), so generated clients keep the type they had.
    status: Annotated[DraftStatus, WithJsonSchema({"type": "string", "enum": [s.value for s in DraftStatus]})]
    final_body: Any = Field(description="once decided: the approved text (edited or not), JSON if the body was; "
                                        "null while pending and for rejected, expired or cancelled drafts")
    decided_by: list[str] = Field(description="Slack user ids of the people who decided")
    reason: str | None
    decided_at: Timestamp | None
    created_at: Timestamp
    expires_at: Timestamp
    cost_usd: float | None
    model: str | None
    prompt_version: str | None
    confidence: float | None
    metadata: dict[str, Any]
    approvals_required: int
    approved_by: list[str]
    edited_by: str | None
    revision: int = Field(description="bumped by each edit under quorum")
    high_risk: bool
    review_reasons: list[str] = Field(description="why a person must review it (guards that forced review)")
    stage: str | None = Field(None, description="the open stage's name; null once decided")
    stages: list[StagePublic] = Field(default_factory=list, description="the approval workflow, in order")
    claimed_by: str | None = Field(None, description="who said they are working on it (a signal, not a lock)")
    claimed_at: Timestamp | None = None


class DraftList(BaseModel):
    """One page of an agent's drafts, newest first; `next_cursor` fetches the next page."""

    object: Literal["list"] = "list"
    data: list[DraftPublic]
    next_cursor: str | None = Field(description="pass back as `cursor` for the next page; null on the last page")


class DraftCard(DraftPublic):
    """The public draft plus what only a reviewer's surface needs: the text under review now (an edit parked
    under quorum included), whether it is JSON, and a link to the posted card where there is one."""

    current_text: str
    body_is_json: bool
    stage_index: int = 0  # the open stage (earlier stages' cards say the draft moved on)
    card_channel: str | None = None  # where its card was posted (lists of drafts only), for the chat to link to
    card_ts: str | None = None
    link: str | None = None  # drawn by the chat layer from card_channel and card_ts

    def public(self) -> DraftPublic:
        """The draft without what only a reviewer's surface needs: what the API and the callback carry."""
        return DraftPublic(**self.model_dump(include=set(DraftPublic.model_fields)))

    @property
    def open_stage(self) -> StagePublic | None:
        """The stage under way (the last one once decided); None only for a card built without stages."""
        return self.stages[min(self.stage_index, len(self.stages) - 1)] if self.stages else None

    @property
    def stage_label(self) -> str:
        """"Stage 2 of 2: finance"; a single stage is just its name."""
        return stages.label_of([stage.name for stage in self.stages], self.stage_index)


Votes = list[tuple[str, int]]  # (user, stage) of each approval, in the order given


def public(draft: Draft, *, agent_name: str, votes: Votes) -> DraftPublic:
    """The draft as GET /v1/drafts/{id} shows it; the callback carries exactly this too."""
    return DraftPublic(**_public_fields(draft, agent_name, votes))


def card(draft: Draft, *, agent_name: str, votes: Votes, card_channel: str | None = None,
         card_ts: str | None = None) -> DraftCard:
    return DraftCard(**_public_fields(draft, agent_name, votes), current_text=draft.current_text,
                     body_is_json=draft.body_is_json, stage_index=draft.stage_index, card_channel=card_channel,
                     card_ts=card_ts)


def _public_fields(draft: Draft, agent_name: str, votes: Votes) -> dict[str, Any]:

    # The contract: a decided draft carries the text to act on. Approved as is, that is the agent's own body.
    final_text = draft.current_text if draft.status in APPROVED_STATUSES else None
    return {
        "id": draft.id,
        "object": "draft",
        "agent": agent_name,
        "action": draft.action,
        "title": draft.title,
        "body": as_value(draft.body, draft.body_is_json),
        "context": draft.context,
        "requested_by": draft.requested_by,
        "status": draft.status,
        "final_body": as_value(final_text, draft.body_is_json),
        "decided_by": list(draft.decided_by or []),
        "reason": draft.reason,
        "decided_at": draft.decided_at,
        "created_at": draft.created_at,
        "expires_at": draft.expires_at,
        "cost_usd": draft.cost_usd,
        "model": draft.model,
        "prompt_version": draft.prompt_version,
        "confidence": draft.confidence,
        "metadata": draft.meta,
        "approvals_required": draft.approvals_required,
        "approved_by": [user for user, _ in votes],
        "edited_by": draft.edited_by,
        "revision": draft.revision,
        "high_risk": draft.high_risk,
        "review_reasons": list(draft.review_reasons or []),
        "stage": stages.open_stage(draft)["name"] if draft.status == PENDING else None,
        "stages": stages.public(draft, votes),
        "claimed_by": draft.claimed_by,
        "claimed_at": draft.claimed_at,
    }
