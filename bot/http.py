"""POST /slack/events: Bolt's FastAPI handler, after one check Bolt cannot make without raising.

Bolt parses the body before it verifies the signature, and a body it cannot parse into an object
(`payload={not json`, `payload=[]`), or one it misreads while building a listener's arguments (a view that is
not an object), raises out of the handler as a 500. Here a body not shaped as Slack sends it
(bot.listeners.payloads) is a 401 when its signature is wrong (as Bolt would answer) and a 400 with a log line
when it is signed: someone holding the secret sent nonsense, and nothing was done with it.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from bot.listeners.payloads import raw_problem

log = logging.getLogger("countersign.slack")


class SlackEndpoint:
    def __init__(self, app: AsyncApp, signing_secret: str) -> None:
        self.handler = AsyncSlackRequestHandler(app)
        self.verifier = SignatureVerifier(signing_secret)

    async def handle(self, request: Request) -> Response:
        raw = await request.body()  # Starlette keeps it, so Bolt reads the same bytes again
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text, why = "", "a body that is not UTF-8"
        else:
            why = raw_problem(text, request.headers.get("content-type"))
        if why is None:
            return await self.handler.handle(request)
        if not self.verifier.is_valid_request(raw, dict(request.headers)):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        log.warning("refused a signed but malformed Slack request: %s", why)
        return Response(status_code=400)
