"""`countersign-mcp --http` off loopback: it will not start without a bearer token (anyone reaching it would act
with the agent's key), and with one every request lacking it is 401 before MCP sees it. In process: no server."""

from __future__ import annotations

import pytest
from countersign_client.mcp_server import build_server, http_app, is_loopback, main
from starlette.testclient import TestClient

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "probe", "version": "0"}}}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
def agent_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERSIGN_API_KEY", "cs_agent_test")
    monkeypatch.setenv("COUNTERSIGN_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("COUNTERSIGN_MCP_TOKEN", raising=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "mcp.example.com"])
def test_refuses_to_start_off_loopback_without_a_token(agent_key: None, host: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """One clear line naming both ways to give a token, exit 2, nothing served."""
    with pytest.raises(SystemExit) as stopped:
        main(["--http", "--host", host])
    assert stopped.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert host in line and "--token" in line and "COUNTERSIGN_MCP_TOKEN" in line


def test_loopback_names_are_loopback() -> None:
    """The control: the default host (and other loopback spellings) may serve without a token."""
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "example.com"))


def test_requests_without_the_token_are_401(agent_key: None) -> None:
    """No header, another scheme or a wrong token: 401 with WWW-Authenticate; the right token reaches MCP."""
    app = http_app(build_server(), host="0.0.0.0", token="s3cret-token")
    with TestClient(app) as client:  # type: ignore[arg-type]
        for headers in ({}, {"Authorization": "Basic s3cret-token"}, {"Authorization": "Bearer wrong"},
                        {"Authorization": "Bearer s3cret-token-and-more"}):
            refused = client.post("/mcp", json=INITIALIZE, headers={**ACCEPT, **headers})
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer", headers
        answered = client.post("/mcp", json=INITIALIZE, headers={**ACCEPT, "Authorization": "Bearer s3cret-token"})
        assert answered.status_code == 200, answered.text
        assert "serverInfo" in answered.text
