"""Slow clients against a live `countersign serve`: a connection that never finishes its headers, or its body,
is closed at its deadline (made short here: 0.4 s for headers, 0.6 s for a body), while a prompt client on the
same server is served; time spent answering a request (a long-poll) is not counted against it."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from testkit.live import ServerProcess, countersign_server, register_agent, sqlite_database

GIVE_UP_S = 8.0  # a connection still open after this long was never going to be closed


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with sqlite_database(tmp_path_factory.mktemp("slow")) as db, countersign_server(
            db, name="slow", COUNTERSIGN_HEADER_TIMEOUT_S=0.4, COUNTERSIGN_BODY_TIMEOUT_S=0.6) as live:
        yield live


def connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=GIVE_UP_S)
    return sock


def closed_by_server(sock: socket.socket, trickle: bytes = b"", every_s: float = 0.1) -> bool:
    """Keep the connection as the attacker would (sending `trickle` every `every_s`, or nothing) until the server
    closes it (True) or GIVE_UP_S passes (False)."""
    deadline = time.monotonic() + GIVE_UP_S
    sock.settimeout(every_s)
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            pass
        except OSError:  # reset: closed too
            return True
        if trickle:
            try:
                sock.sendall(trickle)
            except OSError:
                return True
    return False


def test_headers_that_never_finish_are_cut_off(server: ServerProcess) -> None:
    """Silent after connecting, and the slowloris trickle (a header line every 0.1 s): both closed."""
    silent = connect(server)
    trickling = connect(server)
    trickling.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    try:
        assert closed_by_server(silent)
        assert closed_by_server(trickling, trickle=b"X-Slow: 1\r\n")
    finally:
        silent.close()
        trickling.close()


def test_a_body_that_never_finishes_is_cut_off(server: ServerProcess) -> None:
    key = register_agent(server.base_url, "slowbody")["api_key"]
    sock = connect(server)
    sock.sendall(f"POST /v1/usage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                 "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"model\":".encode())
    try:
        assert closed_by_server(sock, trickle=b" ")
    finally:
        sock.close()


def test_prompt_clients_and_long_answers_are_untouched(server: ServerProcess) -> None:
    """A request whose answer takes longer than both deadlines (a 1.5 s long-poll) is answered, and a
    kept-alive connection serves a second request after it."""
    key = register_agent(server.base_url, "prompt")["api_key"]
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        draft = client.post("/v1/drafts", json={"action": "reply", "title": "Hello", "body": "hi"}).json()
        waited = client.get(f"/v1/drafts/{draft['id']}", params={"wait": 1.5})
        assert waited.status_code == 200 and waited.json()["status"] == "pending"
        assert client.get("/v1/agents/me").status_code == 200
