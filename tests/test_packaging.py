"""What ships: the console script, and a Docker image that runs as non-root with a health check."""

from __future__ import annotations

import tomllib
from pathlib import Path

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
