"""A live server is ready only when it says so itself: a process that took its port first and answers anything
with 200 is never mistaken for it, and a first start on a port that was taken moves to another."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from testkit.live import ServerExited, countersign_server


class _AnswersAnything(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def squatter() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AnswersAnything)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_taken_by_another_answering_process_is_not_readiness(sqlite_url: str) -> None:
    with squatter() as taken:
        assert httpx.get(f"http://127.0.0.1:{taken}/readyz").status_code == 200  # it answers anything
        with pytest.raises(ServerExited):  # a port asked for is kept: the server can't bind and says so
            countersign_server(sqlite_url, port=taken).start(timeout=30)
        server = countersign_server(sqlite_url)
        server.port = taken  # as if another process had taken the port free_port() picked
        with server:
            assert server.port != taken
            assert httpx.get(f"{server.base_url}/readyz").json()["status"] == "ready"
