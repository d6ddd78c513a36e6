"""The demo agent's callback receiver: a small loopback HTTP server that verifies each callback's signature and
prints what the agent was told."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from services.drafts.service import status_words
from services.outbox.signing import verify

FINAL_TEXT_MAX = 600


def clip_words(text: str, limit: int) -> str:
    """`text` up to `limit` characters, cut at a space with an ellipsis rather than mid-word."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip() + " …"


def describe(event: str, body: dict[str, Any]) -> str:
    """What the agent was told, for the terminal: what was decided, by whom, with what reason; an edited text
    follows as text, indented under the line."""
    data = body.get("data") or {}
    if event != "draft.decided":
        return f"{event}: {clip_words(json.dumps(data, ensure_ascii=False), 200)}"
    who = ", ".join(data.get("decided_by") or []) or "nobody"
    line = f"draft.decided: {data.get('title')!r} is {status_words(str(data.get('status')))} (by {who})"
    if data.get("reason"):
        line += f"; reason: {data['reason']}"
    if data.get("status") == "edited":
        final = data.get("final_body")
        final = final if isinstance(final, str) else json.dumps(final, ensure_ascii=False, indent=2)
        shown = "\n".join(f"      {row}" for row in clip_words(final, FINAL_TEXT_MAX).splitlines())
        line += f"\n    final text:\n{shown}"
    return line


class CallbackPrinter:
    """Serves POST /callback on 127.0.0.1 (a free port) until stopped; `echo` prints each line."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo, self.secret = echo, ""
        printer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                signed = verify(printer.secret, raw, self.headers.get("Countersign-Signature", ""))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                tag = "" if signed else " (BAD SIGNATURE)"
                printer.echo(f"  ← callback{tag} {describe(self.headers.get('Countersign-Event', '?'), body)}")
                self.send_response(200 if signed else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="demo-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    def start(self) -> CallbackPrinter:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
