"""What ships: the console script, and a Docker image that runs as non-root with a health check."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from services.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_console_script_and_openai_pin() -> None:
    """`countersign` is the entry point; openai stays below 3 (3.x moves to httpx2, which respx can't mock)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["countersign"] == "services.cli:main"
    assert any(dep.replace(" ", "").startswith("openai>=2.40,<3") for dep in project["dependencies"])


def test_dockerfile_runs_serve_as_non_root_with_healthcheck() -> None:
    """The image's user is not root, it health-checks /healthz and starts `countersign serve`."""
    text = (ROOT / "Dockerfile").read_text()
    assert "python:3.11-slim" in text
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert 'CMD ["countersign", "serve"]' in text


def test_ci_runs_the_readme_test_command() -> None:
    """CI must run what a new user runs: the README's test command appears verbatim in .ci/run."""
    readme = (ROOT / "README.md").read_text()
    command = ("python3.11 -m venv .venv && .venv/bin/pip install -q -e '.[test]' "
               "-e './client[openai-agents,langgraph,pydantic-ai,mcp,temporal,dbos,test]' "
               "&& .venv/bin/python -m pytest")
    assert command in readme and command in (ROOT / ".ci/run").read_text()


def test_compose_passes_every_setting() -> None:
    """Whatever a user puts in .env reaches the containers: compose.yaml's environment names every setting
    services/config.py reads (host and port are the image's), COUNTERSIGN_PUBLIC_URL and the admin users too."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    passed = set(compose["x-countersign"]["environment"])
    settings = {field.alias for field in Settings.model_fields.values()} - {"COUNTERSIGN_HOST", "COUNTERSIGN_PORT"}
    assert settings - passed == set(), "compose.yaml drops these settings"
    assert all(name.startswith(("COUNTERSIGN_", "SLACK_", "OPENAI_")) or name == "DATABASE_URL" for name in passed)
    replicas = [s for name, s in compose["services"].items() if name.startswith("countersign")]
    assert replicas and all(s["environment"] == compose["x-countersign"]["environment"] for s in replicas)


def test_empty_settings_read_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """compose passes a variable left out of .env as empty: that means the default, not a parse error."""
    for name in ("COUNTERSIGN_MAX_BODY_BYTES", "COUNTERSIGN_CALLBACK_DENY_PRIVATE", "COUNTERSIGN_ADMIN_USERS",
                 "COUNTERSIGN_PUBLIC_URL"):
        monkeypatch.setenv(name, "")
    read = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (read.max_body_bytes, read.callback_deny_private, read.admin_users, read.public_url) == (
        262144, False, [], None)


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    """A build from a working folder must not send (or bake in) the venv, databases, .env or git history, and
    must keep what the Dockerfile copies."""
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for pattern in (".venv/", ".env", "*.db", ".git/", "**/__pycache__/"):
        assert pattern in ignored, pattern
    copied = [line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines()
              if line.startswith("COPY ") and "--from" not in line]
    assert copied and not any(name.rstrip("/") in {p.rstrip("/") for p in ignored} for name in copied)
