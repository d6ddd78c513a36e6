"""The API reference pages, /docs (Swagger UI) and /redoc (ReDoc), working with no internet.

Their scripts and styles come from the fastapi-offline package (it ships both bundles) and are served here under
/docs-assets/, so nothing loads from a CDN; the pages carry a Content-Security-Policy that allows only this
origin. Swagger UI's start-up script is served as a file too, so no inline script needs allowing; both UIs set
inline styles and ReDoc parses the spec in a blob: worker, which the policy allows and nothing more.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
_STATIC = Path(fastapi_offline.__file__).parent / "static"

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
                               "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

_SWAGGER = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Countersign API reference</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="icon" href="{ASSETS}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="{ASSETS}/swagger-start.js"></script>
</body>
</html>
"""

_SWAGGER_START = """SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""

_REDOC = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Countersign API reference (ReDoc)</title>
<link rel="icon" href="{ASSETS}/favicon.png">
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="{ASSETS}/redoc.standalone.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Mount the assets and the two pages (the app is built with docs_url=None and redoc_url=None)."""
    @app.get(f"{ASSETS}/swagger-start.js", include_in_schema=False)
    def swagger_start() -> Response:
        return Response(_SWAGGER_START, media_type="text/javascript", headers={"X-Content-Type-Options": "nosniff"})

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return HTMLResponse(_SWAGGER, headers=HEADERS)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(_REDOC, headers=HEADERS)

    app.mount(ASSETS, StaticFiles(directory=_STATIC), name="docs-assets")  # after swagger-start.js, or it hides it
