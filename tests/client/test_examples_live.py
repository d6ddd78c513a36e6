"""The examples the README points at really run: each against the live server, a person approving in Slack."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from services.agents.secrets import API_KEY_PREFIX
from tests.client.conftest import ROOT, Live, child_env

EXAMPLES = {
    "quickstart.py": (["A-1001", "12.5"], "refunded 12.5 EUR on A-1001"),
    "pydantic_ai_approval.py": ([], "refunded"),
    "langgraph_approval.py": ([], "sent: Hello Ada, your order A-1001 ships on Monday."),
    "openai_agents_approval.py": ([], "refunded 12.5 EUR on A-1001"),
}


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_example_runs_end_to_end(live: Live, example: str) -> None:
    """Run the example as a user would; approve its card (found by the agent's name); check what it prints."""
    args, expected = EXAMPLES[example]
    agent: dict[str, Any] = live.agent()
    # No OPENAI_API_KEY in child_env: the examples run on their offline stand-in models.
    env = child_env(COUNTERSIGN_URL=live.base_url, COUNTERSIGN_API_KEY=agent["api_key"])
    approve = live.reviewer.decide_later(agent["name"], "approve")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / example), *args], env=env, capture_output=True,
                          text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    assert expected in done.stdout, done.stdout
    approve.result(timeout=30)


def test_mcp_config_example_names_the_console_script_and_its_variables() -> None:
    """The MCP client config people copy starts countersign-mcp by absolute path (desktop MCP clients do not see
    the venv's PATH), with the two variables it reads and a key of the form Countersign hands out; the docs say
    how to get that path."""
    config = json.loads((ROOT / "examples" / "mcp_config.json").read_text())["mcpServers"]["countersign"]
    assert config["command"].startswith("/") and config["command"].endswith("/.venv/bin/countersign-mcp")
    assert set(config["env"]) == {"COUNTERSIGN_URL", "COUNTERSIGN_API_KEY"}
    assert config["env"]["COUNTERSIGN_API_KEY"].startswith(API_KEY_PREFIX)
    assert "realpath .venv/bin/countersign-mcp" in (ROOT / "docs" / "client.md").read_text()
