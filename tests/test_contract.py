"""The public surface in shared/contract.md, pinned: renaming or dropping any of it must fail a test."""

from __future__ import annotations

from services.config import Settings
from services.main import create_app

CONTRACT_ROUTES = {
    ("POST", "/v1/agents"), ("GET", "/v1/agents"), ("GET", "/v1/agents/{name}"), ("PATCH", "/v1/agents/{name}"),
    ("POST", "/v1/agents/{name}/pause"), ("POST", "/v1/agents/{name}/resume"),
    ("POST", "/v1/agents/{name}/rotate-key"), ("GET", "/v1/agents/me"),
    ("POST", "/v1/drafts"), ("GET", "/v1/drafts/{id}"), ("POST", "/v1/drafts/{id}/cancel"),
    ("GET", "/v1/incidents/{id}"), ("POST", "/v1/incidents"), ("POST", "/v1/usage"), ("GET", "/v1/evals"),
    ("POST", "/v1/budget/check"), ("POST", "/v1/runs"), ("POST", "/v1/runs/{run_id}/heartbeat"),
    ("POST", "/v1/runs/{run_id}/finish"), ("POST", "/slack/events"),
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
}

CONTRACT_ENV = {"DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
                "COUNTERSIGN_ADMIN_TOKEN", "COUNTERSIGN_TIMEZONE", "COUNTERSIGN_HOST", "COUNTERSIGN_PORT",
                "COUNTERSIGN_CALLBACK_DENY_PRIVATE", "OPENAI_API_KEY", "OPENAI_BASE_URL"}


def _normalise(path: str) -> str:
    """Path parameter names are ours to choose; compare shapes ({id} and {draft_id} are the same route)."""
    return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))


def test_every_contract_route_exists(sqlite_url: str) -> None:
    """Each method and path of the contract's HTTP table is served."""
    app = create_app(Settings(_env_file=None, DATABASE_URL=sqlite_url), run_background=False)
    served = {(method.upper(), _normalise(path)) for path, ops in app.openapi()["paths"].items() for method in ops}
    served |= {(method, _normalise(route.path)) for route in app.routes  # routes kept out of the schema
               if getattr(route, "path", None) for method in getattr(route, "methods", ())}
    missing = {(m, p) for m, p in CONTRACT_ROUTES if (m, _normalise(p)) not in served}
    assert not missing, f"contract routes not served: {sorted(missing)}"


def test_contract_environment_names_are_read(monkeypatch) -> None:
    """Every environment variable of the contract is a Settings alias (and defaults match the contract)."""
    for name in CONTRACT_ENV:
        monkeypatch.delenv(name, raising=False)
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert CONTRACT_ENV <= aliases
    defaults = Settings(_env_file=None)
    assert defaults.database_url == "sqlite:///./countersign.db" and defaults.slack_api_url == "https://slack.com/api/"
    assert (defaults.host, defaults.port, defaults.timezone) == ("127.0.0.1", 8000, "UTC")
    assert defaults.callback_deny_private is False and defaults.admin_token is None
