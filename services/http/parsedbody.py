"""The API's routes take the JSON body the strict check (services.http.strictjson) already parsed, instead of
FastAPI reading and parsing it a second time: for a 1,000-event usage batch the second json.loads was a
twentieth of the request's CPU. Only a body the check found clean is handed over, as the very bytes the route
would have read, so what FastAPI then does with it (the content type decides whether it is JSON, validation,
the OpenAPI document) is unchanged."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from services.http.strictjson import PARSED


class ParsedBodyRoute(APIRoute):
    """An APIRoute (pass as an APIRouter's route_class) whose handler starts from the kept parse."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            kept = request.scope.get(PARSED)
            if kept is not None and kept[1] == []:  # (body, problems, document): clean JSON, not refused
                # Starlette's Request keeps what it read in these two attributes (Request.body and .json).
                request._body, request._json = kept[0], kept[2]  # type: ignore[attr-defined]
            return await handler(request)

        return handle
