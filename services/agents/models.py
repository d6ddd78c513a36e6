"""Agents and their accountable owners: the registration schema, the table and the public view."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator
from sqlalchemy import JSON, Column
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.db import UTCDateTime
from services.outbox.urls import validate_callback_url_text
from services.spend.public import BudgetStatePublic

SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"
USER_ID = r"^[UW][A-Z0-9]{2,20}$"
CHANNEL_ID = r"^[CGD][A-Z0-9]{2,20}$"
GROUP_ID = r"^S[A-Z0-9]{2,20}$"
# What a person needs instead of a regex when an id is refused (errors show these, in the API and the CLI).
ID_HINTS = {
    USER_ID: "must be a Slack user id like U012AB3CD (U or W, then capital letters and digits), not a name or "
             "@handle; in Slack open the person's profile, click ⋮ (More) and choose Copy member ID",
    CHANNEL_ID: "must be a Slack channel id like C056REVIEW (C, G or D, then capital letters and digits), not "
                "#name; in Slack open the channel, click its name, and the id is at the bottom of About",
    GROUP_ID: "must be a Slack user group id like S090LEADS (S, then capital letters and digits), not @handle; "
              "open the group under People > User groups: the id is the last part of its page's address",
}

UserId = Annotated[str, Field(pattern=USER_ID, description="Slack user id, e.g. U012OWNER")]
ChannelId = Annotated[str, Field(pattern=CHANNEL_ID, description="Slack channel id, e.g. C056REVIEW")]
GroupId = Annotated[str, Field(pattern=GROUP_ID, description="Slack user group id, e.g. S090LEADS")]
Money = Annotated[float, Field(ge=0, le=1_000_000)]
# Requests per second for the agent's key (burst: twice this); None: COUNTERSIGN_RATE_LIMIT_PER_S.
RatePerSecond = Annotated[float, Field(gt=0, le=100_000)]
# Canaries (known-bad test drafts, services.oversight) posted per real draft: at most one in five.
CanaryRate = Annotated[float, Field(ge=0, le=0.2, description="canaries per real draft, 0 to 0.2")]


class Strict(BaseModel):
    """Unknown fields are refused by name rather than silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _check_callback_url(value: str | None) -> str | None:
    if value is None:
        return None
    return validate_callback_url_text(value)


class EscalationStep(Strict):
    notify: str | None = None
    wait_s: int | None = Field(None, ge=1, le=7 * 86400)
    pause_agent: bool | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> EscalationStep:
        given = [k for k in ("notify", "wait_s", "pause_agent") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a step is exactly one of notify, wait_s or pause_agent")
        if self.notify is not None and self.notify not in ("owner", "backups", "channel"):
            if not re.match(r"^usergroup:S[A-Z0-9]{2,20}$", self.notify):
                raise ValueError("notify is owner, backups, channel or usergroup:<S… id>")
        if self.pause_agent is False:
            raise ValueError("pause_agent, when given, is true")
        return self


DEFAULT_ESCALATION_CHAIN: list[dict[str, Any]] = [
    {"notify": "owner"},
    {"wait_s": 600},
    {"notify": "backups"},
    {"wait_s": 900},
    {"notify": "channel"},
]


class BudgetSpec(Strict):
    period: Literal["day", "week", "month"]
    limit_usd: float = Field(gt=0, le=10_000_000)
    on_exceed: Literal["alert", "pause"] = "alert"
    thresholds: list[Annotated[float, Field(gt=0, le=1.0)]] = Field(default_factory=lambda: [0.5, 0.8, 1.0])

    @field_validator("thresholds")
    @classmethod
    def _sorted_unique(cls, value: list[float]) -> list[float]:
        if not value:
            raise ValueError("at least one threshold")
        return sorted(set(value))


class StageSpec(Strict):
    """One stage of an action's approval workflow: its own deciders (default: the agent's), quorum, channel
    (default: the review channel) and SLA (escalation when it stays open longer)."""

    name: str = Field(min_length=1, max_length=63)
    approvers: list[UserId] | None = Field(None, min_length=1, max_length=100)
    approver_groups: list[GroupId] | None = Field(None, min_length=1, max_length=20)
    channel: ChannelId | None = None
    sla_s: int | None = Field(None, ge=1, le=30 * 86400)
    approvals_required: int = Field(1, ge=1, le=10)

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a stage needs a name people recognise, e.g. finance")
        return value

    @field_validator("approvals_required")
    @classmethod
    def _reachable(cls, value: int, info: ValidationInfo) -> int:
        named = info.data.get("approvers")
        if named and not info.data.get("approver_groups") and value > len(set(named)):
            raise ValueError(f"{value} approvals can't be reached: the stage has {len(set(named))} possible "
                             "decider(s)")
        return value


class ActionPolicy(Strict):
    autonomy: Literal["review", "auto", "deny"] = "review"
    approvals_required: int | None = Field(None, ge=1, le=10)
    high_risk: bool = False
    confidence_floor: float | None = Field(None, ge=0, le=1)
    expiry_s: int | None = Field(None, ge=60, le=30 * 86400)
    stages: list[StageSpec] | None = Field(None, min_length=1, max_length=10,
                                           description="ordered; omitted: one stage named review")
    review_sla_s: int | None = Field(None, ge=1, le=30 * 86400, description="the SLA of a single-stage action")
    on_timeout: Literal["deny", "approve", "keep_waiting"] = Field(
        "deny", description="at expiry: deny (expired), approve (auto_approved by policy) or keep_waiting")

    @field_validator("stages")
    @classmethod
    def _distinct(cls, value: list[StageSpec] | None) -> list[StageSpec] | None:
        names = [stage.name for stage in value or []]
        if len(set(names)) != len(names):
            raise ValueError("each stage needs its own name")
        return value

    @field_validator("on_timeout")
    @classmethod
    def _safe_default(cls, value: str, info: ValidationInfo) -> str:
        if value == "approve" and info.data.get("high_risk"):
            raise ValueError("a high_risk action can't be approved by a timeout; use deny or keep_waiting")
        return value


class AutonomyRule(Strict):
    min_decisions: int = Field(50, ge=1, le=100_000)
    min_unedited_rate: float = Field(0.95, ge=0, le=1)
    clean_streak: int = Field(20, ge=0, le=10_000)
    audit_sample_rate: float = Field(0.1, ge=0, le=1)


class AgentFields(Strict):
    """Every registration field except name and owner; PATCH takes any subset of these."""

    backup_owners: list[UserId] = Field(default_factory=list, max_length=20)
    review_channel: ChannelId | None = None
    approvers: list[UserId] = Field(default_factory=list, max_length=100)
    approver_groups: list[GroupId] = Field(default_factory=list, max_length=20)
    approvals_required: int = Field(1, ge=1, le=10)
    callback_url: str | None = Field(None, max_length=2000)
    draft_expiry_s: int = Field(86400, ge=60, le=30 * 86400)
    escalation_chain: list[EscalationStep] | None = Field(None, max_length=50)
    escalation_repeat: int = Field(0, ge=0, le=9, description="passes after the first, as PagerDuty's num_loops: "
                                   "0 runs the chain once, 2 three times")
    max_cost_per_request_usd: Money | None = None
    budgets: list[BudgetSpec] = Field(default_factory=list, max_length=10)
    team: str | None = Field(None, pattern=SLUG)
    actions: dict[Annotated[str, Field(pattern=SLUG)], ActionPolicy] = Field(default_factory=dict, max_length=200)
    autonomy_rule: AutonomyRule = Field(default_factory=AutonomyRule)
    rate_limit_per_s: RatePerSecond | None = None
    canary_rate: CanaryRate = 0.0

    @field_validator("callback_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_callback_url(value)


class AgentCreate(AgentFields):
    name: str = Field(pattern=SLUG, description="unique slug")
    owner: UserId | None = None  # required; checked by hand for the "no owner, no agent" message


class AgentUpdate(Strict):
    owner: UserId | None = None
    backup_owners: list[UserId] | None = None
    review_channel: ChannelId | None = None
    approvers: list[UserId] | None = None
    approver_groups: list[GroupId] | None = None
    approvals_required: int | None = Field(None, ge=1, le=10)
    callback_url: str | None = Field(None, max_length=2000)
    draft_expiry_s: int | None = Field(None, ge=60, le=30 * 86400)
    escalation_chain: list[EscalationStep] | None = None
    escalation_repeat: int | None = Field(None, ge=0, le=9)
    max_cost_per_request_usd: Money | None = None
    budgets: list[BudgetSpec] | None = None
    team: str | None = Field(None, pattern=SLUG)
    actions: dict[Annotated[str, Field(pattern=SLUG)], ActionPolicy] | None = None
    autonomy_rule: AutonomyRule | None = None
    rate_limit_per_s: RatePerSecond | None = None  # null: back to the server's default
    canary_rate: CanaryRate | None = None

    @field_validator("canary_rate")
    @classmethod
    def _canary_rate_given(cls, value: float | None) -> float:
        if value is None:  # only an explicit null reaches here; leaving the field out changes nothing
            raise ValueError("must be a number from 0 to 0.2; 0 turns canaries off")
        return value

    @field_validator("callback_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_callback_url(value)


class PauseRequest(Strict):
    reason: str | None = Field(None, max_length=500)


class AgentRules:
    """What an agent's settings say, read alike from its row (Agent) and from a request's AgentSnapshot."""

    if TYPE_CHECKING:  # the fields the rules read; declared by each class that has them
        actions: dict[str, Any]
        escalation_chain: list[dict[str, Any]] | None
        approvers: list[str]
        approver_groups: list[str]
        owner: str
        backup_owners: list[str]
        name: str
        autonomy_rule: dict[str, Any]

    def policy_for(self, action: str) -> ActionPolicy:
        """The action's policy; unknown actions get the defaults."""
        raw = (self.actions or {}).get(action)
        return ActionPolicy.model_validate(raw) if raw else ActionPolicy()

    def chain(self) -> list[dict[str, Any]]:
        return list(self.escalation_chain) if self.escalation_chain else list(DEFAULT_ESCALATION_CHAIN)

    def deciders(self) -> list[str]:
        """Who decides drafts by name: the approvers; with neither approvers nor approver groups, the owner and
        backups (so a draft is never left to expire for want of anyone allowed to decide it)."""
        if self.approvers or self.approver_groups:
            return list(self.approvers)
        return [self.owner, *[u for u in self.backup_owners if u != self.owner]]

    def warnings(self) -> list[str]:
        """What a registration answer (and the CLI) should point out about this agent's set-up."""
        if self.approvers or self.approver_groups:
            return []
        backups = " and its backup owners" if self.backup_owners else ""
        return [f"no approvers or approver_groups: drafts of {self.name} are decided by its owner{backups}; "
                "add approvers to have others review them"]

    @property
    def rule(self) -> AutonomyRule:
        return AutonomyRule.model_validate(self.autonomy_rule or {})



class Agent(AgentRules, SQLModel, table=True):
    __tablename__ = "agents"

    id: int | None = SQLField(default=None, primary_key=True)
    name: str = SQLField(index=True, unique=True, max_length=63)
    owner: str = SQLField(max_length=32)
    backup_owners: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    review_channel: str | None = SQLField(default=None, max_length=32)
    approvers: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    approver_groups: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    approvals_required: int = 1
    callback_url: str | None = SQLField(default=None, max_length=2000)
    draft_expiry_s: int = 86400
    escalation_chain: list[dict[str, Any]] | None = SQLField(default=None, sa_column=Column(JSON, nullable=True))
    escalation_repeat: int = 0  # passes after the first (PagerDuty's num_loops)
    max_cost_per_request_usd: float | None = None
    budgets: list[dict[str, Any]] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    team: str | None = SQLField(default=None, max_length=63, index=True)
    actions: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    autonomy_rule: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    rate_limit_per_s: float | None = None
    canary_rate: float = 0.0  # services.oversight.canaries: known-bad drafts per real draft
    status: str = SQLField(default="active", max_length=16)
    paused_by: str | None = SQLField(default=None, max_length=64)
    paused_reason: str | None = SQLField(default=None, max_length=500)
    paused_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    api_key_hash: str = SQLField(index=True, unique=True, max_length=64)
    api_key_prefix: str = SQLField(max_length=16)
    webhook_secret_enc: str = SQLField(max_length=512)
    # After rotate-webhook-secret the old secret still signs (next to the new) until it expires: no missed call.
    previous_webhook_secret_enc: str | None = SQLField(default=None, max_length=512)
    previous_webhook_secret_expires_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    updated_at: datetime = SQLField(sa_type=UTCDateTime)


class AgentSnapshot(AgentRules, BaseModel):
    """An agent as every request that presents its key sees it: built once when the key's cache entry loads
    (services.agents.cache) and shared by those requests, so it is frozen: a field can't be set and it can't be
    added to a session. A write asks `agents.cache.in_session` for a row of its own. Its JSON fields (lists,
    dicts) are shared too: read them, never change them in place. Action policies are parsed once, here."""

    model_config = ConfigDict(frozen=True, from_attributes=True)
    _policies: dict[str, ActionPolicy] = PrivateAttr(default_factory=dict)

    id: int | None
    name: str
    owner: str
    backup_owners: list[str]
    review_channel: str | None
    approvers: list[str]
    approver_groups: list[str]
    approvals_required: int
    callback_url: str | None
    draft_expiry_s: int
    escalation_chain: list[dict[str, Any]] | None
    escalation_repeat: int
    max_cost_per_request_usd: float | None
    budgets: list[dict[str, Any]]
    team: str | None
    actions: dict[str, Any]
    autonomy_rule: dict[str, Any]
    rate_limit_per_s: float | None
    canary_rate: float
    status: str
    paused_by: str | None
    paused_reason: str | None
    paused_at: datetime | None
    api_key_hash: str
    api_key_prefix: str
    webhook_secret_enc: str
    previous_webhook_secret_enc: str | None
    previous_webhook_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, agent: Agent) -> AgentSnapshot:
        return cls.model_validate(agent, from_attributes=True)

    def policy_for(self, action: str) -> ActionPolicy:
        """The action's policy, parsed once per snapshot (a draft asks for it more than once)."""
        found = self._policies.get(action)
        if found is None:
            found = self._policies[action] = super().policy_for(action)
        return found


class AgentPublic(BaseModel):
    name: str
    owner: str
    backup_owners: list[str]
    review_channel: str | None
    approvers: list[str]
    approver_groups: list[str]
    approvals_required: int
    callback_url: str | None
    draft_expiry_s: int
    escalation_chain: list[dict[str, Any]]
    escalation_repeat: int
    max_cost_per_request_usd: float | None
    budgets: list[dict[str, Any]]
    team: str | None
    actions: dict[str, Any]
    autonomy_rule: dict[str, Any]
    rate_limit_per_s: float | None
    canary_rate: float = 0.0
    status: str
    paused_by: str | None
    paused_reason: str | None
    paused_at: datetime | None
    api_key_prefix: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, agent: Agent) -> AgentPublic:
        data = agent.model_dump()
        data["escalation_chain"] = agent.chain()
        data["autonomy_rule"] = agent.rule.model_dump()
        return cls.model_validate(data)


class AgentCreated(AgentPublic):
    api_key: str
    webhook_secret: str
    warnings: list[str] = Field(default_factory=list, description="set-up worth a second look, in words")


class AgentMe(AgentPublic):
    """GET /v1/agents/me: the agent as the server sees it, with every budget that applies and what is left."""

    budgets: list[BudgetStatePublic]


class KeyRotated(BaseModel):
    name: str
    api_key: str = Field(description="the new key, shown once; the old one stops working at once")


class WebhookSecretRotated(BaseModel):
    name: str
    webhook_secret: str = Field(description="the new secret (whsec_…), shown once")
    previous_valid_until: datetime = Field(description="until then callbacks are signed with the old and the new")
