"""Run the `countersign` command in process (a subprocess per call costs about a second)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

import services.cli.agents  # noqa: F401  (each import attaches its commands)
from services.cli.common import cli as countersign
from services.config import get_settings
from tests.harness import scratch_anchor_file


def cli(*args: str, url: str | None, stdin: str | None = None, **env: str | None) -> Any:
    """Settings are re-read for the given database (None: DATABASE_URL unset); Slack and OpenAI are off unless
    given."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(countersign, list(args), input=stdin,
                                  env={"DATABASE_URL": url, "SLACK_BOT_TOKEN": None, "OPENAI_API_KEY": None,
                                       "COUNTERSIGN_AUDIT_ANCHOR_FILE": scratch_anchor_file(url), **env})
    finally:
        get_settings.cache_clear()
