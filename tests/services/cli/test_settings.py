"""Settings as people write them: COUNTERSIGN_ADMIN_USERS comma-separated (as documented) or as a JSON list, and a
bad value of any setting is one line naming the variable and exit 2 from `serve` and every other command, never a
traceback."""

from __future__ import annotations

import pytest

from services.config import Settings, SettingsProblem, get_settings
from tests.services.cli.run import cli


@pytest.mark.parametrize(("value", "users"), [("U0ADMIN", ["U0ADMIN"]), (" U0ADMIN , U0OTHER,", ["U0ADMIN", "U0OTHER"]),
                                              ('["U0ADMIN", "U0OTHER"]', ["U0ADMIN", "U0OTHER"]), ("", [])])
def test_admin_users_comma_separated_or_json(monkeypatch: pytest.MonkeyPatch, value: str, users: list[str]) -> None:
    """The documented form crashed settings with a parse traceback; both forms now give the list."""
    monkeypatch.setenv("COUNTERSIGN_ADMIN_USERS", value)
    assert Settings(_env_file=None).admin_users == users  # type: ignore[call-arg]


def test_commands_run_with_comma_separated_admin_users(sqlite_url: str) -> None:
    """A command that reads the settings runs with the documented value."""
    result = cli("agents", "list", url=sqlite_url, COUNTERSIGN_ADMIN_USERS="U0ADMIN,U0OTHER")
    assert result.exit_code == 0, result.output


BAD = {"COUNTERSIGN_PORT": "eighty", "COUNTERSIGN_ADMIN_USERS": "[U0ADMIN", "COUNTERSIGN_RATE_LIMIT_PER_S": "-1",
       "COUNTERSIGN_TIMEZONE": "Mars/Olympus"}


@pytest.mark.parametrize("command", [["serve"], ["agents", "list"], ["audit", "verify"], ["db", "upgrade"],
                                     ["outbox"], ["digest", "--help"]])
def test_bad_settings_are_one_line_each_naming_the_variable(sqlite_url: str, command: list[str]) -> None:
    """Every bad variable gets its own `error: NAME: why (got value)` line; nothing starts and no traceback."""
    result = cli(*command, url=sqlite_url, **BAD)
    if command[-1] == "--help":  # help reads no settings: it still works with broken ones
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and result.exception is None or isinstance(result.exception, SystemExit)
    named = sorted(line.split(":")[1].strip() for line in lines)
    assert named == sorted(BAD), lines
    assert all(line.startswith("error: COUNTERSIGN_") for line in lines), lines
    assert "'eighty'" in next(line for line in lines if "PORT" in line)


def test_the_app_factory_raises_the_same_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """create_app() without settings (an ASGI server's factory) gets SettingsProblem with the same line."""
    monkeypatch.setenv("COUNTERSIGN_OUTBOX_HEARTBEAT_S", "999")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsProblem) as caught:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert caught.value.lines == ["COUNTERSIGN_OUTBOX_HEARTBEAT_S: Input should be less than or equal to 60 "
                                  "(got '999')"]


@pytest.mark.parametrize(("url", "said"), [("mysql://u@h/db", "DATABASE_URL names mysql"),
                                           ("countersign.db", "DATABASE_URL is not a database URL")])
def test_a_database_url_countersign_cannot_use_is_one_line(url: str, said: str) -> None:
    """serve with a URL of another database, or no URL at all: one line naming DATABASE_URL, no driver traceback."""
    result = cli("serve", url=url)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {said}") and "postgresql://" in line
