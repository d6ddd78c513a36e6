"""One Settings object, read from the environment and `.env`; nothing else reads os.environ."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from services.http.clientaddr import parse_networks


class Settings(BaseSettings):
    # An empty value (`X=` in .env, or compose's `${X:-}` for a variable the user left out) means "unset": the
    # default applies, so compose.yaml can pass every setting without restating its default.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      env_ignore_empty=True)

    database_url: str = Field("sqlite:///./countersign.db", alias="DATABASE_URL")
    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    admin_token: SecretStr | None = Field(None, alias="COUNTERSIGN_ADMIN_TOKEN")
    timezone: str = Field("UTC", alias="COUNTERSIGN_TIMEZONE")
    host: str = Field("127.0.0.1", alias="COUNTERSIGN_HOST")
    port: int = Field(8000, alias="COUNTERSIGN_PORT")
    callback_deny_private: bool = Field(False, alias="COUNTERSIGN_CALLBACK_DENY_PRIVATE")
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")

    # Additions beyond the contract (add, don't rename).
    # Key that encrypts webhook secrets at rest; when unset a key is generated and kept in the database.
    secret_key: SecretStr | None = Field(None, alias="COUNTERSIGN_SECRET_KEY")
    # Slack users allowed to pause, resume and hand over any agent.
    # Comma-separated (U0ADMIN,U0OTHER) or a JSON list; NoDecode: the value reaches the validator as written.
    admin_users: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="COUNTERSIGN_ADMIN_USERS")
    max_body_bytes: int = Field(256 * 1024, alias="COUNTERSIGN_MAX_BODY_BYTES")
    scheduler_enabled: bool = Field(True, alias="COUNTERSIGN_SCHEDULER")
    tick_seconds: float = Field(1.0, alias="COUNTERSIGN_TICK_SECONDS")
    digest_model: str = Field("gpt-4o-mini", alias="COUNTERSIGN_DIGEST_MODEL")
    # Monthly cap on Countersign's own OpenAI spend (digest narratives); over it, digests use the template.
    llm_budget_usd: float = Field(5.0, alias="COUNTERSIGN_LLM_BUDGET_USD")
    # Calls to OpenAI for digest narratives in any hour, on top of the monthly budget: `/countersign digest`
    # typed again and again must not spend the month's budget in an afternoon.
    llm_calls_per_hour: int = Field(12, ge=0, alias="COUNTERSIGN_LLM_CALLS_PER_HOUR")
    ack_remind_s: int = Field(3600, ge=1, alias="COUNTERSIGN_ACK_REMIND_S")  # acked, unresolved: remind after
    rejection_streak: int = Field(3, ge=1, alias="COUNTERSIGN_REJECTION_STREAK")  # consecutive rejections -> incident
    # An agent's new incident joins a storm (one card, one escalation) once it has this many open, unacknowledged
    # incidents opened within the window; 0 turns grouping off (services.incidents.storms).
    incident_storm_after: int = Field(3, ge=0, alias="COUNTERSIGN_INCIDENT_STORM_AFTER")
    incident_storm_window_s: int = Field(600, ge=1, alias="COUNTERSIGN_INCIDENT_STORM_WINDOW_S")
    # Share of a draft's expiry after which its reminder goes out; 0 = none.
    draft_reminder_at: float = Field(0.5, ge=0, le=1, alias="COUNTERSIGN_DRAFT_REMINDER_AT")
    claim_ttl_s: int = Field(900, ge=1, le=7 * 86400, alias="COUNTERSIGN_CLAIM_TTL_S")  # a draft's claim lapses
    # Pace of chat.postMessage per channel (Slack allows about 1/s); tests and benchmarks lower it.
    slack_channel_interval_s: float = Field(1.0, ge=0, alias="COUNTERSIGN_SLACK_CHANNEL_INTERVAL_S")
    # How long an outbox claim holds without renewal; a live sender renews its claims every heartbeat, so this
    # is a backstop: a dead sender's claims are freed once its heartbeat stops (COUNTERSIGN_OUTBOX_HEARTBEAT_S).
    outbox_lease_s: float = Field(120.0, gt=0, alias="COUNTERSIGN_OUTBOX_LEASE_S")
    # Where people reach this service (sign-in links name it); unset: http://COUNTERSIGN_HOST:COUNTERSIGN_PORT.
    public_url: str | None = Field(None, alias="COUNTERSIGN_PUBLIC_URL")
    # How often a sender says it is alive; after 3 missed beats the others free its claims (sooner on one host).
    outbox_heartbeat_s: float = Field(5.0, gt=0, le=60, alias="COUNTERSIGN_OUTBOX_HEARTBEAT_S")

    # Hostile-input limits. Long-polls one agent may hold at once in one process; more get a 429.
    long_poll_max_per_agent: int = Field(50, ge=1, alias="COUNTERSIGN_LONG_POLL_MAX_PER_AGENT")
    # Writes of one agent key in progress at once in one process; more wait their turn (services.http.inflight).
    agent_inflight_max: int = Field(4, ge=1, alias="COUNTERSIGN_AGENT_INFLIGHT_MAX")
    # Requests per second per agent key when the agent sets none (burst: twice this).
    rate_limit_per_s: float = Field(50.0, gt=0, alias="COUNTERSIGN_RATE_LIMIT_PER_S")
    # Audit anchors: how often a signed checkpoint of the chain head is written, and where else it goes.
    audit_anchor_every_s: float = Field(300.0, gt=0, alias="COUNTERSIGN_AUDIT_ANCHOR_EVERY_S")
    # On by default: the copy of the checkpoints that someone who can write the database cannot rewrite too.
    audit_anchor_file: str | None = Field("countersign-audit-anchors.jsonl", alias="COUNTERSIGN_AUDIT_ANCHOR_FILE")
    audit_anchor_channel: str | None = Field(None, alias="COUNTERSIGN_AUDIT_ANCHOR_CHANNEL")

    # Trust (third release). Unauthenticated requests (an unknown key, a wrong admin token, a sign-in attempt)
    # per client address per second (burst: twice this).
    anon_rate_limit_per_s: float = Field(10.0, gt=0, alias="COUNTERSIGN_ANON_RATE_LIMIT_PER_S")
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: IPs or CIDRs, comma-separated.
    trusted_proxies: str = Field("", alias="COUNTERSIGN_TRUSTED_PROXIES")
    # A request's headers must arrive within this long of its first byte, its body within this long of its
    # headers; else the connection is closed (a slow client holds no connection for long).
    header_timeout_s: float = Field(10.0, gt=0, alias="COUNTERSIGN_HEADER_TIMEOUT_S")
    body_timeout_s: float = Field(30.0, gt=0, alias="COUNTERSIGN_BODY_TIMEOUT_S")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        example = "(e.g. sqlite:///./countersign.db or postgresql://user:password@host:5432/countersign)"
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(f"DATABASE_URL is not a database URL: {value!r} {example}") from None
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"DATABASE_URL names {backend}, which Countersign does not run on {example}")
        return value

    @field_validator("admin_users", mode="before")
    @classmethod
    def _split_users(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().startswith("["):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ValueError("not a JSON list; write user ids separated by commas, e.g. U0ADMIN,U0OTHER") from exc
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        parse_networks(value)  # a bad entry stops start-up with a one-line reason
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and bool(self.slack_bot_token.get_secret_value())

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None and bool(self.slack_app_token.get_secret_value())

    def slack_status(self) -> str:
        """One line for the startup summary: on or off, and why."""
        if not self.slack_enabled:
            return "off (SLACK_BOT_TOKEN unset: Slack deliveries wait in the outbox)"
        if self.socket_mode:
            return "on, Socket Mode (SLACK_APP_TOKEN set)"
        if self.slack_signing_secret is None:
            return "on for sending; /slack/events refuses requests (SLACK_SIGNING_SECRET unset)"
        return "on, HTTP mode at POST /slack/events"


class SettingsProblem(ValueError):
    """A setting's value is unusable: one line per bad variable, each naming it, for people rather than a
    traceback (the CLI prints them and exits 2)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _alias(field_name: str) -> str:
    info = Settings.model_fields.get(field_name)
    return (info.alias if info is not None and info.alias else field_name).upper()


def describe_problem(exc: ValidationError | SettingsError) -> SettingsProblem:
    if isinstance(exc, SettingsError):  # a value the source could not even parse (e.g. bad JSON for a list)
        found = re.search(r'field "([^"]+)"', str(exc))
        name = _alias(found.group(1)) if found else "a setting"
        return SettingsProblem([f"{name}: cannot be parsed ({exc.__cause__ or exc})"])
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "a setting"
        shown = error.get("input")
        got = "" if shown is None or isinstance(shown, dict) else f" (got {str(shown)[:80]!r})"
        message, name = str(error["msg"]).removeprefix("Value error, "), _alias(name) if name.islower() else name
        lines.append(message if message.startswith(name) else f"{name}: {message}{got}")  # already names it
    return SettingsProblem(lines)


@lru_cache
def get_settings() -> Settings:
    """The settings from the environment and `.env`; SettingsProblem names every bad variable."""
    try:
        return Settings()
    except (ValidationError, SettingsError) as exc:
        raise describe_problem(exc) from None
